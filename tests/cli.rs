//! The command-line contract of `bfc`, in small fast tests: modes, output
//! files, exit codes (0 ok, 1 compile or file error, 2 usage, 3 tape error,
//! 4 I/O error), messages, EOF conventions, and the run-time behaviour that
//! the JIT, executables and the interpreter must share (flushing, broken
//! pipes, tape bounds).

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::child::chunks;
use common::{
    assert_run, bfc_cmd, bfc_in, built_command, collect, each_mode, expect_each_mode, listing, run, run_bfc, tempdir,
    write_file, Mode, TIMEOUT,
};

const HELLO: &[u8] =
    b"++++++++[>++++[>++>+++>+++>+<<<<-]>+>+>->>+[<]<-]>>.>---.+++++++..+++.>>.<-.<.+++.------.--------.>>+.>++.";
const HELLO_OUT: &[u8] = b"Hello World!\n";

/// Every way to run a program, including all optimisation levels.
const EVERY_MODE: [Mode; 7] =
    [Mode::Jit(0), Mode::Jit(1), Mode::Jit(2), Mode::Interp, Mode::Exe(0), Mode::Exe(1), Mode::Exe(2)];

#[test]
fn hello_world_in_every_mode() {
    each_mode(&EVERY_MODE, HELLO, &[], b"", |label, got| {
        assert_run(label, got, 0, HELLO_OUT, "");
        assert!(got.stderr.is_empty(), "{label}: {}", got.stderr_head());
    });
}

#[test]
fn default_output_names_follow_the_source() {
    let dir = tempdir();
    write_file(dir.path(), "hello.b", HELLO);
    let build = bfc_in(dir.path(), &["hello.b"], b"");
    assert!(build.exited(0), "bfc hello.b: {}", build.summary());
    let exe = dir.path().join("hello");
    assert!(exe.exists(), "bfc hello.b did not create ./hello: {:?}", listing(dir.path()));
    let ran = run(&mut Command::new(&exe), b"", TIMEOUT);
    assert_run("./hello", &ran, 0, HELLO_OUT, "");

    let object = bfc_in(dir.path(), &["-c", "hello.b"], b"");
    assert!(object.exited(0), "bfc -c hello.b: {}", object.summary());
    let bytes = std::fs::read(dir.path().join("hello.o")).expect("bfc -c hello.b did not create hello.o");
    assert!(bytes.starts_with(b"\x7fELF"), "hello.o is not ELF");
}

#[test]
fn program_from_stdin() {
    for mode in ["--jit", "--interp"] {
        let got = run_bfc([mode, "-"], HELLO, TIMEOUT);
        assert_run(&format!("bfc {mode} -"), &got, 0, HELLO_OUT, "");
    }
    let got = run_bfc(["--jit", "-"], b"+\n+]", TIMEOUT);
    assert_run("bfc --jit - (unmatched)", &got, 1, b"", "unmatched ']'");
    assert!(got.stderr_text().contains(":2:2"), "position of the error in stdin's program: {}", got.stderr_text());
}

#[test]
fn emit_ir_prints_the_ir_without_running() {
    // If run, this would echo its input.
    let dir = tempdir();
    let path = write_file(dir.path(), "echo.b", b"+[-],[.,]");
    for opt in ["-O0", "-O2"] {
        let got = run(bfc_cmd(["--emit", "ir", "--eof", "zero", opt]).arg(&path), b"ZQXJ", TIMEOUT);
        assert!(got.exited(0), "--emit ir {opt}: {}", got.summary());
        let text = String::from_utf8_lossy(&got.stdout);
        assert!(text.contains("loop"), "--emit ir {opt} shows no loop:\n{text}");
        assert!(!text.contains("ZQXJ"), "--emit ir {opt} ran the program:\n{text}");
    }
    assert_eq!(listing(dir.path()), ["echo.b"], "--emit ir wrote files");
}

#[test]
fn emit_passes_shows_each_pass_that_changed_the_ir() {
    let dir = tempdir();
    // A clear loop, a multiply loop, and a row walked in a loop (a
    // shortcut); then input, so that compile-time execution stops there.
    let path = write_file(dir.path(), "p.b", b"[-]+++[->++<]>>,[->>+>+>+>+>+>+>+>+>++<[>[<+++>-]<<]<].");
    let emit = |what: &str| {
        let got = run(bfc_cmd(["--emit", what]).arg(&path), b"", TIMEOUT);
        assert!(got.exited(0), "--emit {what}: {}", got.summary());
        String::from_utf8(got.stdout).unwrap()
    };
    let trace = emit("passes");
    let titles: Vec<&str> = trace.lines().filter(|line| line.starts_with(";; ")).collect();
    assert!(titles[0].starts_with(";; parsed: 55 instructions"), "{titles:?}");
    for pass in ["combine (round 1)", "clear-loops (round 1)", "compile-time execution", "shortcuts"] {
        assert!(titles.iter().any(|t| t.starts_with(&format!(";; after {pass}: "))), "no {pass} in {titles:?}");
    }
    // Passes that changed nothing are not shown; the last IR shown is the
    // one `--emit ir` prints.
    assert!(!titles.iter().any(|t| t.contains("switch-tables")), "{titles:?}");
    let last = trace.rfind(";; after").map(|at| &trace[at..]).unwrap();
    assert_eq!(last.split_once('\n').unwrap().1, emit("ir"));
}

#[test]
fn object_files_are_x86_64_relocatable_elf() {
    let dir = tempdir();
    let path = write_file(dir.path(), "hello.b", HELLO);
    let object = dir.path().join("out.o");
    let renamed = dir.path().join("renamed.o");
    for (obj, extra) in [(&object, None), (&renamed, Some("my_entry"))] {
        let mut cmd = bfc_cmd(["-c", "-o"]);
        cmd.arg(obj);
        if let Some(sym) = extra {
            cmd.args(["--symbol", sym]);
        }
        let got = run(cmd.arg(&path), b"", TIMEOUT);
        assert!(got.exited(0), "bfc -c: {}", got.summary());
        assert!(got.stdout.is_empty(), "bfc -c printed {}", got.stdout_head());
        let bytes = std::fs::read(obj).unwrap();
        assert!(bytes.starts_with(b"\x7fELF"), "{} does not start with the ELF magic", obj.display());
    }
    let Ok(header) = Command::new("readelf").arg("-h").arg(&object).output() else {
        eprintln!("SKIP readelf checks: readelf cannot be run (binutils not installed)");
        return;
    };
    let header = String::from_utf8_lossy(&header.stdout);
    assert!(header.contains("REL"), "readelf -h: not a relocatable file:\n{header}");
    assert!(header.contains("X86-64"), "readelf -h: not x86-64:\n{header}");
    for (obj, sym) in [(&object, "bf_main"), (&renamed, "my_entry")] {
        let symbols = Command::new("readelf").arg("-sW").arg(obj).output().unwrap();
        let symbols = String::from_utf8_lossy(&symbols.stdout);
        assert!(
            symbols.lines().any(|l| l.contains("GLOBAL") && l.split_whitespace().last() == Some(sym)),
            "{} has no global symbol {sym}:\n{symbols}",
            obj.display()
        );
    }
}

#[test]
fn output_into_a_missing_directory_fails_and_leaves_nothing() {
    let dir = tempdir();
    write_file(dir.path(), "hello.b", HELLO);
    for args in [&["-o", "missing/hello", "hello.b"][..], &["-c", "-o", "missing/hello.o", "hello.b"]] {
        let got = bfc_in(dir.path(), args, b"");
        assert_run(&format!("bfc {}", args.join(" ")), &got, 1, b"", "missing");
        assert_eq!(listing(dir.path()), ["hello.b"], "bfc {} left files behind", args.join(" "));
    }
}

#[test]
fn output_onto_the_source_is_refused() {
    let dir = tempdir();
    let path = write_file(dir.path(), "prog.b", HELLO);
    for args in [&["-o", "prog.b", "prog.b"][..], &["-o", "./prog.b", "prog.b"], &["-c", "-o", "prog.b", "prog.b"]] {
        let got = bfc_in(dir.path(), args, b"");
        assert!(got.exited(2), "bfc {}: {} (expected exit 2)", args.join(" "), got.summary());
        assert!(!got.stderr.is_empty(), "bfc {}: no message", args.join(" "));
        assert_eq!(std::fs::read(&path).unwrap(), HELLO, "bfc {} changed the source", args.join(" "));
        assert_eq!(listing(dir.path()), ["prog.b"], "bfc {} left files behind", args.join(" "));
    }
}

#[test]
fn missing_input_file_is_a_file_error() {
    let dir = tempdir();
    for args in [&["--jit", "no/such/prog.b"][..], &["--interp", "no/such/prog.b"], &["-o", "out", "no/such/prog.b"]] {
        let got = bfc_in(dir.path(), args, b"");
        assert_run(&format!("bfc {}", args.join(" ")), &got, 1, b"", "no/such/prog.b");
        assert!(listing(dir.path()).is_empty(), "bfc {} created files", args.join(" "));
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempdir();
    let path = write_file(dir.path(), "hello.b", HELLO);
    let path = path.to_str().unwrap();
    for args in [
        &["--jit", "--eof", "maybe", path][..],
        &["--jit", "--tape-size", "0", path],
        &["--jit", "--tape-size", "lots", path],
        &["--jit", "--frobnicate", path],
        &["--jit"],
        &["--jit", "--emit", "nonsense", path],
        // -u is for runs: an executable is told by BFRT_UNBUFFERED=1.
        &["-u", "-o", "/dev/null", path],
        &["-u", "-c", path],
    ] {
        let got = run_bfc(args, b"", TIMEOUT);
        assert!(got.exited(2), "bfc {}: {} (expected exit 2)", args.join(" "), got.summary());
        assert!(got.stdout.is_empty(), "bfc {}: {}", args.join(" "), got.stdout_head());
        assert!(!got.stderr.is_empty(), "bfc {}: no message", args.join(" "));
    }
}

/// The bracket at `line:col` is reported, with its line quoted and a `^`
/// under it, and nothing is run or written.
fn assert_unmatched(source: &[u8], bracket: char, line: usize, col: usize) {
    let dir = tempdir();
    write_file(dir.path(), "prog.b", source);
    let head = format!("prog.b:{line}:{col}: error: unmatched '{bracket}'");
    for args in [
        &["--jit", "-O2", "prog.b"][..],
        &["--jit", "-O0", "prog.b"],
        &["--interp", "prog.b"],
        &["-o", "prog", "prog.b"],
        &["-c", "prog.b"],
    ] {
        let label = format!("bfc {} on {:?}", args.join(" "), String::from_utf8_lossy(&source[..source.len().min(40)]));
        let got = bfc_in(dir.path(), args, b"");
        assert_run(&label, &got, 1, b"", &head);
        let stderr = got.stderr_text();
        let lines: Vec<&str> = stderr.lines().collect();
        let marker =
            lines.iter().position(|l| l.contains('^')).unwrap_or_else(|| panic!("{label}: no '^' marker:\n{stderr}"));
        let caret = lines[marker].find('^').unwrap();
        assert!(
            marker > 0 && lines[marker - 1].as_bytes().get(caret) == Some(&(bracket as u8)),
            "{label}: the '^' is not under the {bracket}:\n{stderr}"
        );
        assert_eq!(listing(dir.path()), ["prog.b"], "{label} left files behind");
    }
}

/// Every unmatched bracket is reported, in source order; for tools as one
/// JSON object a line; in colour only when asked (stderr is a pipe here).
#[test]
fn diagnostics_for_people_and_for_tools() {
    let dir = tempdir();
    write_file(dir.path(), "prog.b", b"+]\n[-]]\n[");
    let got = bfc_in(dir.path(), &["--jit", "prog.b"], b"");
    assert_run("several errors", &got, 1, b"", "");
    let heads: Vec<String> = got.stderr_text().lines().filter(|l| l.contains("error:")).map(String::from).collect();
    assert_eq!(
        heads,
        ["prog.b:1:2: error: unmatched ']'", "prog.b:2:4: error: unmatched ']'", "prog.b:3:1: error: unmatched '['"]
    );
    assert!(!got.stderr_text().contains('\x1b'), "colour on a pipe");
    let coloured = bfc_in(dir.path(), &["--jit", "--color", "always", "prog.b"], b"");
    assert!(coloured.stderr_text().contains("\x1b[1;31merror:\x1b[0m"), "{}", coloured.stderr_text());
    let plain = bfc_in(dir.path(), &["--jit", "--color", "never", "prog.b"], b"");
    assert_eq!(plain.stderr, got.stderr);

    let json = bfc_in(dir.path(), &["--jit", "--error-format", "json", "prog.b"], b"");
    assert_run("json", &json, 1, b"", "");
    let objects: Vec<serde_json::Value> =
        json.stderr_text().lines().map(|l| serde_json::from_str(l).expect("a JSON object a line")).collect();
    let got: Vec<_> = objects
        .iter()
        .map(|v| {
            (v["level"].as_str(), v["code"].as_str(), v["line"].as_u64(), v["column"].as_u64(), v["offset"].as_u64())
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some("error"), Some("unmatched-close-bracket"), Some(1), Some(2), Some(1)),
            (Some("error"), Some("unmatched-close-bracket"), Some(2), Some(4), Some(6)),
            (Some("error"), Some("unmatched-open-bracket"), Some(3), Some(1), Some(8)),
        ]
    );
    assert!(objects.iter().all(|v| v["file"] == "prog.b" && v["message"].as_str().unwrap().starts_with("unmatched")));
    // Run-time errors too.
    write_file(dir.path(), "under.b", b"+.<+");
    for mode in ["--jit", "--interp"] {
        // -w: the warning that it always underflows is tests/lint.rs's.
        let run = bfc_in(dir.path(), &[mode, "-w", "--error-format", "json", "under.b"], b"");
        assert_run(mode, &run, 3, b"\x01", "");
        let v: serde_json::Value = serde_json::from_str(run.stderr_text().trim_end()).expect("one JSON object");
        assert_eq!((v["level"].as_str(), v["code"].as_str()), (Some("error"), Some("tape-underflow")), "{mode}");
    }
}

#[test]
fn unmatched_brackets_are_located() {
    assert_unmatched(b"]+++\n+++", ']', 1, 1);
    assert_unmatched(b"+++\n++]++\n+++.", ']', 2, 3);
    assert_unmatched(b"+++.\n+++[", '[', 2, 4);
    assert_unmatched(b"+[\n[-]+.\n", '[', 1, 2);
    // A long line is cut around the marker.
    let mut long = vec![b'+'; 1000];
    long[700] = b']';
    assert_unmatched(&long, ']', 1, 701);
    // Comments count as columns; CR does not end a line.
    assert_unmatched(b"a comment\r\nxyz [ +", '[', 2, 5);
}

#[test]
fn tape_errors_exit_3_after_flushing_output() {
    let many_a: Vec<u8> = [&[b'+'; 65][..], &[b'.'; 100_000], b"<+"].concat();
    // (program, flags, stdout before the error, message)
    type Case<'a> = (&'a [u8], &'a [&'a str], &'a [u8], &'a str);
    let cases: [Case; 8] = [
        (b"+++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++.<+", &[], b"E", "tape underflow"),
        (&many_a, &[], &[b'A'; 100_000], "tape underflow"),
        (b"++++++++[>++++++++<-]>+.<<+.", &[], b"A", "tape underflow"),
        // Scans and walks off the left end.
        (b"+>+[<]", &[], b"", "tape underflow"),
        (b"+[<+]", &[], b"", "tape underflow"),
        // Off the right end of a page-multiple tape and of a 100-cell one.
        (b"+[>+]", &["--tape-size", "4096"], b"", "tape overflow"),
        (b"+[>+]", &["--tape-size", "100"], b"", "tape overflow"),
        (b"+.>+[>+]", &["--tape-size", "100"], b"\x01", "tape overflow"),
    ];
    for (source, flags, stdout, word) in cases {
        expect_each_mode(&Mode::ALL, source, flags, b"", 3, stdout, word);
    }
}

#[test]
fn a_net_zero_change_off_the_tape_is_still_a_tape_error() {
    // `-+` adds nothing, but it touches the cell: folding it away must not
    // hide the error (nor let the program print more before it).
    let cases: [(&[u8], &[u8], &str); 4] = [
        (b"+<-+", b"", "tape underflow"),
        (b"+.<+->.", b"\x01", "tape underflow"),
        (b"+[<<-+>>-]", b"", "tape underflow"),
        (&[&[b'>'; 4096][..], b"-+"].concat(), b"", "tape overflow"),
    ];
    for (source, stdout, word) in &cases {
        expect_each_mode(&Mode::ALL, source, &["--tape-size", "4096"], b"", 3, stdout, word);
    }
}

#[test]
fn tape_bounds_are_exact() {
    let right = |n: usize, tail: &[u8]| [vec![b'>'; n], tail.to_vec()].concat();
    for cells in [100usize, 4096, 65536] {
        let size = cells.to_string();
        let flags: &[&str] = if cells == 65536 { &[] } else { &["--tape-size", &size] };
        // The last cell is usable...
        expect_each_mode(&Mode::ALL, &right(cells - 1, b"+."), flags, b"", 0, b"\x01", "");
        // ...the next one is not: by a move, or by a scan over the last cells.
        expect_each_mode(&Mode::ALL, &right(cells, b"+"), flags, b"", 3, b"", "tape overflow");
        expect_each_mode(&Mode::ALL, &right(cells - 3, b"+>+>+<<[>]"), flags, b"", 3, b"", "tape overflow");
        // Moving off the tape without touching a cell is fine.
        expect_each_mode(&Mode::ALL, &right(cells + 5, &[&[b'<'; 10][..], b"+."].concat()), flags, b"", 0, b"\x01", "");
    }
}

#[test]
fn far_out_of_bounds_in_one_step_is_a_tape_error() {
    let far_right = [vec![b'>'; 2_000_000], b"+".to_vec()].concat();
    let far_left = [b"+.".to_vec(), vec![b'<'; 2_000_000], b"+".to_vec()].concat();
    let modes = [Mode::Jit(0), Mode::Jit(2), Mode::Exe(2)];
    expect_each_mode(&modes, &far_right, &["--tape-size", "65536"], b"", 3, b"", "tape overflow");
    expect_each_mode(&modes, &far_left, &["--tape-size", "65536"], b"", 3, b"\x01", "tape underflow");
}

#[test]
fn eof_conventions() {
    for (flags, want) in [
        (&[][..], &b"aa"[..]),
        (&["--eof", "unchanged"], b"aa"),
        (&["--eof", "zero"], b"a\0"),
        (&["--eof", "minus-one"], b"a\xff"),
    ] {
        expect_each_mode(&Mode::ALL, b"+,.,.", flags, b"a", 0, want, "");
    }
}

/// Spawns `source` in `mode` with stdin and stderr piped and `stdout` as given.
fn spawn(mode: Mode, dir: &Path, source: &[u8], stdout: Stdio) -> std::process::Child {
    let path = write_file(dir, "prog.b", source);
    let mut cmd = built_command(mode, &path, &dir.join("prog"));
    cmd.stdin(Stdio::piped()).stdout(stdout).stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

#[test]
fn a_closed_stdout_ends_the_program_quietly() {
    // `bfc --jit prog.b | head -c1` on a program that prints forever (and
    // writes its cell, so that no endless-loop warning is printed).
    for mode in [Mode::Jit(2), Mode::Jit(0), Mode::Exe(2), Mode::Interp] {
        let dir = tempdir();
        let mut child = spawn(mode, dir.path(), b"+[.+-]", Stdio::piped());
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8];
        stdout.read_exact(&mut byte).unwrap_or_else(|e| panic!("{}: no output: {e}", mode.label()));
        assert_eq!(byte, [1]);
        drop(stdout);
        let got = collect(child, b"", Duration::from_secs(10));
        assert!(got.exited(0), "{}: after its reader went away: {} (expected exit 0)", mode.label(), got.summary());
        assert!(got.stderr.is_empty(), "{}: {}", mode.label(), got.stderr_head());
    }
}

#[test]
fn a_full_disk_is_an_io_error() {
    // The last two fill the buffer in a loop, by `.` and by a print of a
    // byte known at compile time: the code's flush on a full buffer fails.
    let sources = [(&b"+."[..], "one byte"), (b"+[.]", "endless output"), (b"+[>[-]++.<]", "endless constant output")];
    for (source, what) in sources {
        for mode in [Mode::Jit(2), Mode::Jit(0), Mode::Exe(2), Mode::Interp] {
            let dir = tempdir();
            let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
            let child = spawn(mode, dir.path(), source, full.into());
            let got = collect(child, b"", Duration::from_secs(20));
            assert!(got.exited(4), "{} ({what}) to /dev/full: {} (expected exit 4)", mode.label(), got.summary());
            assert!(!got.stderr.is_empty(), "{} ({what}) to /dev/full: no message on stderr", mode.label());
        }
    }
}

#[test]
fn output_is_flushed_before_reading() {
    // Prints "?" then waits for input: the prompt must arrive first.
    let source = [&[b'+'; 63][..], b".,."].concat();
    for mode in [Mode::Jit(2), Mode::Jit(0), Mode::Exe(2), Mode::Interp] {
        let dir = tempdir();
        let mut child = spawn(mode, dir.path(), &source, Stdio::piped());
        let out = chunks(child.stdout.take().unwrap());
        let prompt = out.recv_timeout(Duration::from_secs(10));
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"x");
        drop(stdin);
        let rest: Vec<u8> = out.iter().flatten().collect();
        let got = collect(child, b"", Duration::from_secs(10));
        assert_eq!(
            prompt.as_deref().ok(),
            Some(&b"?"[..]),
            "{}: the prompt did not arrive before any input was given (then: {})",
            mode.label(),
            got.summary()
        );
        assert_run(&mode.label(), &got, 0, b"", "");
        assert_eq!(rest, b"x", "{}: after the prompt", mode.label());
    }
}

#[test]
fn deep_nesting() {
    let depth = 100_000;
    let skipped = [vec![b'['; depth], vec![b']'; depth]].concat();
    // Entered at every level, left at the innermost.
    let entered = [b"+".to_vec(), vec![b'['; depth], b"-".to_vec(), vec![b']'; depth], b"+.".to_vec()].concat();
    for (source, want) in [(&skipped, &b""[..]), (&entered, b"\x01")] {
        let start = Instant::now();
        expect_each_mode(&Mode::ALL, source, &[], b"", 0, want, "");
        eprintln!("deep nesting {depth}: all modes in {:.1}s", start.elapsed().as_secs_f64());
    }
}

/// bfc itself is a static position-independent executable: no dynamic
/// loader to start (fast start-up), and its code at a random address
/// (ASLR), as befits a program that maps and runs generated code.
#[test]
fn bfc_is_a_static_pie() {
    use object::elf::{ET_DYN, PT_INTERP};
    use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
    let bytes = std::fs::read(common::bfc()).unwrap();
    let elf = ElfFile64::<object::Endianness>::parse(&*bytes).unwrap();
    let endian = elf.endian();
    assert_eq!(elf.elf_header().e_type(endian), ET_DYN, "position independent");
    let segments = elf.elf_header().program_headers(endian, &*bytes).unwrap();
    assert!(segments.iter().all(|s| s.p_type(endian) != PT_INTERP), "no dynamic loader");
}
