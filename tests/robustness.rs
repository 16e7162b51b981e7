//! Robustness: bad input and hostile environments give a clear message and
//! the documented exit code, never a panic (exit 101), a partial output or a
//! leftover temporary (`.bfc-*`); huge and deeply nested programs compile;
//! tape faults are caught wherever generated code makes them (and only
//! there); JIT memory is never writable and executable at once; builds are
//! reproducible and safe to run in parallel.
//!
//! Some tests run part of themselves in a child process (this test binary
//! started again, see `common::child`), for things that must happen inside a
//! process that may crash: running JIT code in-process.

mod common;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bfc::code::{Status, GUARD_BYTES};
use bfc::interp::{self, Outcome};
use bfc::ir::{EofMode, Inst, Op, Program};

use common::child::{child_case, child_stdout, pipe, run_child, with_closed};
use common::diff::exit_code;
use common::{
    assert_no_crash, assert_one_line_error, assert_run, bfc_cmd, bfc_in, built_command, collect, each_mode, escape,
    listing, run, run_bfc, run_measured, tempdir, write_file, Mode, TIMEOUT,
};

// ---------------------------------------------------------------------------
// Bad input

#[test]
fn a_directory_as_the_source_is_a_file_error() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("prog.b")).unwrap();
    for args in [
        &["--jit", "prog.b"][..],
        &["--interp", "prog.b"],
        &["--emit", "ir", "prog.b"],
        &["-o", "out", "prog.b"],
        &["-c", "prog.b"],
    ] {
        let label = format!("bfc {}", args.join(" "));
        let got = bfc_in(dir.path(), args, b"");
        assert_one_line_error(&label, &got, 1, "cannot read prog.b");
        assert_eq!(listing(dir.path()), ["prog.b"], "{label} left files behind");
    }
}

#[test]
fn an_unreadable_source_is_a_file_error() {
    // /proc/self/mem opens but fails to read at offset 0 (EIO), even for
    // root, whom permissions would not stop.
    let dir = tempdir();
    for args in [&["--jit", "/proc/self/mem"][..], &["--interp", "/proc/self/mem"], &["-o", "out", "/proc/self/mem"]] {
        let label = format!("bfc {}", args.join(" "));
        let got = bfc_in(dir.path(), args, b"");
        assert_one_line_error(&label, &got, 1, "cannot read /proc/self/mem");
        assert!(listing(dir.path()).is_empty(), "{label} left files behind: {:?}", listing(dir.path()));
    }
}

#[test]
fn empty_and_comment_only_programs_do_nothing() {
    let sources: [&[u8]; 4] = [b"", b"just a comment\n", b"\0\r\n\xff\xfe comment 123 ; # !", b"\n\n\n"];
    for source in sources {
        each_mode(&Mode::ALL, source, &[], b"", |label, got| {
            assert_run(&format!("{label} on {:?}", escape(source)), got, 0, b"", "")
        });
    }
}

#[test]
fn binary_garbage_compiles_and_runs_as_the_interpreter_says() {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let mut rng = common::gen::Rng::new(20261125);
    let mut random = Vec::new();
    while random.len() < 20_000 {
        let b = rng.below(256) as u8;
        if b != b'[' && b != b']' {
            random.push(b);
        }
    }
    for (name, source) in [("all 256 byte values", &all_bytes), ("random bytes", &random)] {
        // Start in the middle of a big tape so the random walk stays on it;
        // then what matters is that every mode agrees with the oracle.
        let source = [vec![b'>'; 50_000], source.clone()].concat();
        // All 256 values include `[` and `]` (an empty loop: it must not
        // find a non-zero cell, so no input there).
        let input: &[u8] = if name == "random bytes" { b"input" } else { b"" };
        let program = bfc::parse::parse("g.b", &source).unwrap();
        let config = interp::Config {
            tape_cells: 1 << 20,
            left_margin: 0,
            eof: EofMode::Unchanged,
            max_steps: Some(10_000_000),
            cell_bits: 8,
        };
        let mut want = Vec::new();
        let Outcome::Finished(status) = interp::run(&program, &config, &mut &input[..], &mut want) else {
            panic!("{name}: the oracle does not finish")
        };
        let code = exit_code(status);
        each_mode(&Mode::ALL, &source, &["--tape-size", "1048576"], input, |label, got| {
            assert_run(&format!("{label} on {name}"), got, code, &want, "")
        });
    }
}

#[test]
fn a_million_nested_brackets() {
    let depth = 1_000_000;
    let skipped = [vec![b'['; depth], vec![b']'; depth]].concat();
    let entered = [b"+".to_vec(), vec![b'['; depth], b"-".to_vec(), vec![b']'; depth], b"+.".to_vec()].concat();
    let modes = [Mode::Jit(0), Mode::Jit(2), Mode::Interp, Mode::Exe(2), Mode::Exe(0)];
    for (name, source, want) in [("skipped", &skipped, &b""[..]), ("entered", &entered, b"\x01")] {
        let start = Instant::now();
        each_mode(&modes, source, &[], b"", |label, got| assert_run(&format!("{label} ({name})"), got, 0, want, ""));
        eprintln!("{depth} nested brackets ({name}): all modes in {:.1}s", start.elapsed().as_secs_f64());
    }
}

#[test]
fn unmatched_brackets_in_a_million_deep_program_are_located() {
    let half = 500_000;
    let deep = [vec![b'['; half], vec![b']'; half]].concat();
    // (source, the first bracket reported, its line and column, how many
    // are reported)
    let cases: [(Vec<u8>, char, usize, usize, usize); 6] = [
        // An extra `[` first: the one left open.
        ([b"[".to_vec(), deep.clone(), deep.clone()].concat(), '[', 1, 1, 1),
        // In the middle, on a line of its own.
        ([deep.clone(), b"\n+[\n".to_vec(), deep.clone()].concat(), '[', 2, 2, 1),
        ([deep.clone(), deep.clone(), b"[".to_vec()].concat(), '[', 1, 4 * half + 1, 1),
        ([deep.clone(), b"]".to_vec(), deep.clone()].concat(), ']', 1, 2 * half + 1, 1),
        // A million deep, one `]` short: the outermost is the one left open.
        ([vec![b'['; 2 * half], vec![b']'; 2 * half - 1]].concat(), '[', 1, 1, 1),
        // A million never closed: the first of them are reported, the
        // rest counted.
        (vec![b'['; 2 * half], '[', 1, 1, 2 * half),
    ];
    let dir = tempdir();
    for (source, bracket, line, col, count) in cases {
        write_file(dir.path(), "prog.b", &source);
        let head = format!("prog.b:{line}:{col}: error: unmatched '{bracket}'");
        let shown = count.min(bfc::parse::MAX_REPORTED);
        for args in [&["--jit", "prog.b"][..], &["--interp", "prog.b"], &["-o", "prog", "prog.b"]] {
            let label = format!("bfc {} ({head})", args.join(" "));
            let got = bfc_in(dir.path(), args, b"");
            assert_no_crash(&label, &got);
            assert!(got.exited(1), "{label}: {}", got.summary());
            let stderr = got.stderr_text();
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.first(), Some(&head.as_str()), "{label}:\n{stderr}");
            // Each snippet: gutter, the line (cut to a readable width), the
            // marker; then the count of those not shown.
            let note = (count > shown).then(|| format!("note: {} more unmatched brackets not shown", count - shown));
            assert_eq!(lines.len(), 4 * shown + note.is_some() as usize, "{label}:\n{stderr}");
            assert!(lines[2].len() < 200 && lines[3].contains('^'), "{label}:\n{stderr}");
            if let Some(note) = &note {
                assert_eq!(lines.last(), Some(&note.as_str()), "{label}");
            }
            let caret = lines[3].find('^').unwrap();
            assert_eq!(lines[2].as_bytes().get(caret), Some(&(bracket as u8)), "{label}: '^' misplaced:\n{stderr}");
            assert_eq!(listing(dir.path()), ["prog.b"], "{label} left files behind");
        }
    }
}

#[test]
fn a_program_of_100_mb() {
    let mb: usize = common::env_num("BFC_BIG_PROGRAM_MB", 100);
    let dir = tempdir();
    // `+>-<` leaves cell 0 at n (mod 256) and cell 1 at -n; n is a multiple
    // of 256 here, so `+.` prints 1.
    let reps = mb * (1 << 20) / 4;
    let want = [(reps + 1) as u8, 1u8.wrapping_sub(reps as u8)];
    let mut source = b"+>-<".repeat(reps);
    source.extend_from_slice(b"+.>+.");
    let path = write_file(dir.path(), "big.b", &source);
    drop(source);
    for opt in ["-O2", "-O0"] {
        let cmd = bfc_cmd(["--jit", opt, path.to_str().unwrap()]);
        let (got, rss) = run_measured(&cmd, b"", Duration::from_secs(120));
        assert_run(&format!("--jit {opt} on {mb} MB"), &got, 0, &want, "");
        eprintln!(
            "{mb} MB program, --jit {opt}: {:.1}s, peak RSS {}",
            got.secs,
            rss.map_or("unknown (no /usr/bin/time)".to_string(), |kb| format!("{} MiB", kb / 1024))
        );
    }
}

#[test]
fn output_into_an_unwritable_place_fails_and_leaves_nothing() {
    let dir = tempdir();
    let src = write_file(dir.path(), "prog.b", b"+.");
    let src = src.to_str().unwrap();
    // /proc takes no new files, even from root.
    for args in [&["-o", "/proc/bfc-test-out", src][..], &["-c", "-o", "/proc/bfc-test-out", src]] {
        let label = format!("bfc {}", args.join(" "));
        let got = run_bfc(args, b"", TIMEOUT);
        assert_one_line_error(&label, &got, 1, "cannot write /proc/bfc-test-out");
        assert!(!Path::new("/proc/bfc-test-out").exists());
        assert_eq!(listing(dir.path()), ["prog.b"], "{label} left files behind");
    }
    // An existing directory as the output.
    std::fs::create_dir(dir.path().join("out")).unwrap();
    for args in [&["-o", "out", "prog.b"][..], &["-c", "-o", "out", "prog.b"]] {
        let label = format!("bfc {}", args.join(" "));
        let got = bfc_in(dir.path(), args, b"");
        assert_one_line_error(&label, &got, 1, "cannot write out");
        assert_eq!(listing(dir.path()), ["out", "prog.b"], "{label} left files behind");
        assert!(listing(&dir.path().join("out")).is_empty(), "{label} wrote into the directory");
    }
}

#[test]
fn output_naming_the_source_another_way_is_refused() {
    let dir = tempdir();
    let sub = dir.path().join("x");
    std::fs::create_dir(&sub).unwrap();
    let source = b"+.";
    write_file(&sub, "prog.b", source);
    std::os::unix::fs::symlink("prog.b", sub.join("link.b")).unwrap();
    std::fs::hard_link(sub.join("prog.b"), sub.join("hard.b")).unwrap();
    let before = listing(&sub);
    for (out, src) in [
        ("./x/../x/prog.b", "x/prog.b"),
        ("x/link.b", "x/prog.b"),
        ("x/prog.b", "x/link.b"),
        ("x/hard.b", "x/prog.b"),
        ("x//prog.b", "./x/prog.b"),
    ] {
        for compile_only in [false, true] {
            let mut args = vec!["-o", out, src];
            if compile_only {
                args.insert(0, "-c");
            }
            let label = format!("bfc {}", args.join(" "));
            let got = bfc_in(dir.path(), &args, b"");
            assert_one_line_error(&label, &got, 2, "refusing to overwrite the source");
            assert_eq!(std::fs::read(sub.join("prog.b")).unwrap(), source, "{label} changed the source");
            assert!(std::fs::symlink_metadata(sub.join("link.b")).unwrap().file_type().is_symlink());
            assert_eq!(listing(&sub), before, "{label} left files behind");
            assert_eq!(listing(dir.path()), ["x"], "{label} left files behind");
        }
    }
}

#[test]
fn outputs_that_are_not_regular_files_are_written_through() {
    let dir = tempdir();
    write_file(dir.path(), "prog.b", b"+++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++.");
    // A symlink to a regular file: the target gets the output (atomically),
    // the symlink stays.
    write_file(dir.path(), "target", b"old");
    std::os::unix::fs::symlink("target", dir.path().join("link")).unwrap();
    let got = bfc_in(dir.path(), &["-o", "link", "prog.b"], b"");
    assert_run("bfc -o link (a symlink)", &got, 0, b"", "");
    assert!(std::fs::symlink_metadata(dir.path().join("link")).unwrap().file_type().is_symlink());
    let ran = run(&mut Command::new(dir.path().join("target")), b"", TIMEOUT);
    assert_run("the executable behind the symlink", &ran, 0, b"A", "");
    assert_eq!(listing(dir.path()), ["link", "prog.b", "target"]);
    // A device (`-o /dev/null`): written into, not replaced by a regular
    // file. (Made here with mknod, so a failure cannot harm /dev/null.)
    let null = dir.path().join("null");
    let c_path = std::ffi::CString::new(null.to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid path.
    let made = unsafe { libc::mknod(c_path.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0;
    if !made {
        eprintln!("skipped -o onto a device: mknod: {}", std::io::Error::last_os_error());
        return;
    }
    use std::os::unix::fs::FileTypeExt;
    for args in [&["-c", "-o", "null", "prog.b"][..], &["-o", "null", "prog.b"]] {
        let label = format!("bfc {}", args.join(" "));
        let got = bfc_in(dir.path(), args, b"");
        assert_run(&label, &got, 0, b"", "");
        let meta = std::fs::symlink_metadata(&null).unwrap();
        assert!(meta.file_type().is_char_device(), "{label} replaced the device with {:?}", meta.file_type());
        assert_eq!(listing(dir.path()), ["link", "null", "prog.b", "target"], "{label} left files behind");
    }
}

#[test]
fn without_a_working_c_compiler() {
    let dir = tempdir();
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let src = write_file(dir.path(), "prog.b", b"+.");
    let mut cmd = bfc_cmd([OsStr::new("-o"), out.join("prog").as_os_str(), src.as_os_str()]);
    cmd.env("PATH", &empty).env_remove("CC");
    let got = run(&mut cmd, b"", TIMEOUT);
    assert_one_line_error("no cc on PATH", &got, 1, "cannot run the C compiler 'cc'");
    assert!(got.stderr_text().contains("--jit"), "no hint at --jit: {}", got.stderr_text());
    assert!(listing(&out).is_empty(), "left files behind: {:?}", listing(&out));
    // A compiler that fails: the message says how it ended.
    let mut cmd = bfc_cmd([OsStr::new("-o"), out.join("prog").as_os_str(), src.as_os_str()]);
    cmd.env("CC", "/bin/false");
    let got = run(&mut cmd, b"", TIMEOUT);
    assert_one_line_error("CC=/bin/false", &got, 1, "linking with '/bin/false' failed (exit status: 1)");
    assert!(listing(&out).is_empty(), "left files behind: {:?}", listing(&out));
    // $CC may carry arguments, as with make.
    let mut cmd = bfc_cmd([OsStr::new("-o"), out.join("prog").as_os_str(), src.as_os_str()]);
    cmd.env("CC", "cc -Wall");
    let got = run(&mut cmd, b"", TIMEOUT);
    assert_run("CC='cc -Wall'", &got, 0, b"", "");
    assert_eq!(listing(&out), ["prog"]);
}

#[test]
fn bad_option_values_are_usage_errors() {
    let dir = tempdir();
    let src = write_file(dir.path(), "prog.b", b"+.");
    let src = src.to_str().unwrap();
    let two_41 = (1u64 << 41).to_string();
    let two_64 = "18446744073709551616";
    for (args, needle) in [
        (&["--jit", "--eof", "maybe", src][..], "maybe"),
        (&["--jit", "--eof", "", src], "--eof"),
        (&["--jit", "--tape-size", "0", src], "between 1 and 1099511627776"),
        (&["--jit", "--tape-size=-5", src], "-5"),
        (&["--jit", "--tape-size", "-5", src], "-5"),
        (&["--jit", "--tape-size", "1e30", src], "1e30"),
        (&["--jit", "--tape-size", "abc", src], "abc"),
        (&["--jit", "--tape-size", &two_41, src], "between 1 and 1099511627776"),
        (&["--jit", "--tape-size", two_64, src], two_64),
        (&["-o", "out", "--tape-size", "0", src], "--tape-size"),
    ] {
        let label = format!("bfc {}", args.join(" "));
        let got = run_bfc(args, b"", TIMEOUT);
        assert_no_crash(&label, &got);
        assert!(got.exited(2), "{label}: {} (expected exit 2)", got.summary());
        assert!(got.stdout.is_empty(), "{label}: printed {:?}", escape(&got.stdout));
        let first = got.stderr_text().lines().next().unwrap_or("").to_string();
        assert!(first.starts_with("error: ") && first.contains(needle), "{label}: first line {first:?}");
    }
    assert_eq!(listing(dir.path()), ["prog.b"]);
}

/// Walks from cell 1 to cell 1 + 250 * `stride` carrying a counter: touches
/// cell 0, 250 cells `stride` apart, and the last one; prints 1 at both ends.
fn far_walk(stride: usize) -> Vec<u8> {
    let mut p = b"+.>".to_vec();
    p.extend_from_slice(&[b'+'; 250]);
    p.extend_from_slice(b"[[-");
    p.extend(vec![b'>'; stride]);
    p.push(b'+');
    p.extend(vec![b'<'; stride]);
    p.push(b']');
    p.extend(vec![b'>'; stride]);
    p.extend_from_slice(b"-]+.");
    p
}

#[test]
fn the_largest_tape_is_mapped_lazily() {
    // Cell 0 and cell 1,000,000,001 of a 2^40-cell tape.
    let dir = tempdir();
    let path = write_file(dir.path(), "far.b", &far_walk(4_000_000));
    let path = path.to_str().unwrap();
    let max = (1u64 << 40).to_string();
    // --eval-steps 0: all of it at run time, on the lazily mapped tape. The
    // default also runs the walk at compile time, whose tape (the
    // interpreter's) is dense up to the last cell touched: reported, not
    // asserted on.
    for flags in [&["--eval-steps", "0"][..], &[]] {
        let mut args = vec!["--jit", "--tape-size", &max];
        args.extend_from_slice(flags);
        args.push(path);
        let (got, rss) = run_measured(&bfc_cmd(&args), b"", TIMEOUT);
        let label = format!("bfc {}", args.join(" "));
        assert_run(&label, &got, 0, b"\x01\x01", "");
        eprintln!(
            "2^40 tape, cells 0 and 10^9, {label}: {:.1}s, peak RSS {}",
            got.secs,
            rss.map_or("unknown".to_string(), |kb| format!("{} MiB", kb / 1024))
        );
        if flags.is_empty() {
            continue;
        }
        // The tape stayed lazy: far less than the 1 GB walked over.
        if let Some(kb) = rss {
            assert!(kb < 512 * 1024, "{label}: peak RSS {kb} KiB: the tape is not mapped lazily");
        }
    }
}

#[test]
fn a_closed_stdin_is_a_read_error() {
    // Rust opens /dev/null on a closed stdin before main: bfc must still see
    // it closed, as executables do (EBADF), not as an empty input.
    let dir = tempdir();
    let src = write_file(dir.path(), "prog.b", b"+.,.");
    for mode in Mode::ALL {
        let mut cmd = with_closed("<", &built_command(mode, &src, &dir.path().join("prog")));
        let got = run(&mut cmd, b"", Duration::from_secs(20));
        assert_run(&mode.label(), &got, 4, b"\x01", "read error: Bad file descriptor");
    }
    // The program itself from a closed stdin.
    let mut cmd = with_closed("<", &bfc_cmd(["--jit", "-"]));
    let got = run(&mut cmd, b"", TIMEOUT);
    assert_one_line_error("bfc --jit - <&-", &got, 1, "cannot read <stdin>: Bad file descriptor");
}

#[test]
fn a_closed_stdout_is_a_write_error() {
    // Without the check, bfc would write into the /dev/null Rust opened in
    // its place: `+[.]` would run forever.
    let dir = tempdir();
    for source in [&b"+."[..], b"+[.]"] {
        let src = write_file(dir.path(), "prog.b", source);
        for mode in Mode::ALL {
            let label = format!("{} on {} with stdout closed", mode.label(), escape(source));
            let mut cmd = with_closed(">", &built_command(mode, &src, &dir.path().join("prog")));
            cmd.stdin(Stdio::null()).stderr(Stdio::piped());
            let child = cmd.spawn().unwrap();
            let got = collect(child, b"", Duration::from_secs(20));
            assert_run(&label, &got, 4, b"", "write error: Bad file descriptor");
        }
    }
    let src = write_file(dir.path(), "prog.b", b"+.");
    let mut cmd = with_closed(">", bfc_cmd(["--emit", "ir"]).arg(&src));
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    let got = collect(cmd.spawn().unwrap(), b"", TIMEOUT);
    assert_one_line_error("bfc --emit ir >&-", &got, 1, "cannot write <stdout>: Bad file descriptor");
}

#[test]
fn non_blocking_stdio_is_waited_on() {
    // A stdout or stdin left O_NONBLOCK (by a shell or a parent sharing the
    // file): EAGAIN means wait, not "write error".
    let dir = tempdir();
    let lots: Vec<u8> = [&[b'+'; 65][..], &[b'.'; 300_000]].concat();
    let printer = write_file(dir.path(), "printer.b", &lots);
    // cat that ends at end of input with the default `--eof unchanged`.
    let cat = write_file(dir.path(), "cat.b", b",[.[-],]");
    for mode in [Mode::Jit(2), Mode::Interp, Mode::Exe(2)] {
        // stdout: we read only after the pipe has filled up.
        let (r, w) = pipe(Some(1));
        let mut cmd = built_command(mode, &printer, &dir.path().join("printer"));
        cmd.stdin(Stdio::null()).stdout(w).stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        drop(cmd);
        let reader = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            let mut all = Vec::new();
            std::fs::File::from(r).read_to_end(&mut all).unwrap();
            all
        });
        let got = collect(child, b"", Duration::from_secs(30));
        let printed = reader.join().unwrap();
        assert_run(&format!("{} to a non-blocking stdout", mode.label()), &got, 0, b"", "");
        assert!(
            printed.len() == 300_000 && printed.iter().all(|&b| b == b'A'),
            "{}: got {} bytes",
            mode.label(),
            printed.len()
        );

        // stdin: the input comes late.
        let (r, w) = pipe(Some(0));
        let mut cmd = built_command(mode, &cat, &dir.path().join("cat"));
        cmd.stdin(r).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        drop(cmd);
        let writer = thread::spawn(move || {
            let mut w = std::fs::File::from(w);
            for chunk in [&b"late "[..], b"input"] {
                thread::sleep(Duration::from_millis(200));
                w.write_all(chunk).unwrap();
            }
        });
        let got = collect(child, b"", Duration::from_secs(30));
        writer.join().unwrap();
        assert_run(&format!("{} from a non-blocking stdin", mode.label()), &got, 0, b"late input", "");
    }
}

// ---------------------------------------------------------------------------
// Run-time faults

#[test]
fn tape_errors_in_multiply_and_scan_loops() {
    let right = |n: usize| vec![b'>'; n];
    let left = |n: usize| vec![b'<'; n];
    // Cells 1..4095 set, the pointer back at cell 0 (zero), then cell 0 set
    // and printed: every cell of a 4096-cell tape is non-zero.
    let full = |cells: usize| [b">".to_vec(), b"+>".repeat(cells - 1), b"<[<]+.".to_vec()].concat();
    // (program, flags, stdout, exit code, message)
    type Case = (Vec<u8>, &'static [&'static str], &'static [u8], i32, &'static str);
    let cases: Vec<Case> = vec![
        // Multiply loops whose target is off the tape.
        (b"+[<+>-]".to_vec(), &[], b"", 3, "tape underflow"),
        (b"+.[<+>-]".to_vec(), &[], b"\x01", 3, "tape underflow"),
        (b"+.[<<<++>>>-]".to_vec(), &[], b"\x01", 3, "tape underflow"),
        (
            [b"+.[".to_vec(), right(4096), b"+".to_vec(), left(4096), b"-]".to_vec()].concat(),
            &["--tape-size", "4096"],
            b"\x01",
            3,
            "tape overflow",
        ),
        (b"+.[>>>>>>>>>>+++<<<<<<<<<<-]".to_vec(), &["--tape-size", "8"], b"\x01", 3, "tape overflow"),
        // ... with a zero counter the target is not touched.
        (b"[<+>-]+.".to_vec(), &[], b"\x01", 0, ""),
        (b"[<<<<<+++>>>>>-]+.".to_vec(), &[], b"\x01", 0, ""),
        (
            [b"[".to_vec(), right(4096), b"+".to_vec(), left(4096), b"-]+.".to_vec()].concat(),
            &["--tape-size", "4096"],
            b"\x01",
            0,
            "",
        ),
        (b"[>>>>>>>>>>+<<<<<<<<<<-]+.".to_vec(), &["--tape-size", "8"], b"\x01", 0, ""),
        // Scans off the left end...
        (b"+[<]".to_vec(), &[], b"", 3, "tape underflow"),
        (b"+.+[<<<]".to_vec(), &[], b"\x01", 3, "tape underflow"),
        (b"[<]+.".to_vec(), &[], b"\x01", 0, ""),
        ([b"+>".repeat(4096), b"<.[<]".to_vec()].concat(), &["--tape-size", "4096"], b"\x01", 3, "tape underflow"),
        // ...and the right end, over a full tape (page multiple or not).
        ([full(4096), b"[>]".to_vec()].concat(), &["--tape-size", "4096"], b"\x01", 3, "tape overflow"),
        ([full(4096), b"[>>]".to_vec()].concat(), &["--tape-size", "4096"], b"\x01", 3, "tape overflow"),
        ([full(4096), b"[>>>>>>>>>]".to_vec()].concat(), &["--tape-size", "4096"], b"\x01", 3, "tape overflow"),
        ([full(4000), b"[>]".to_vec()].concat(), &["--tape-size", "4000"], b"\x01", 3, "tape overflow"),
        ([full(65536), b"[>]".to_vec()].concat(), &[], b"\x01", 3, "tape overflow"),
    ];
    let modes = [Mode::Jit(2), Mode::Exe(2), Mode::Interp, Mode::Jit(0)];
    for (source, flags, stdout, code, word) in &cases {
        // As written (-O2 runs much of it at compile time) and all at run time.
        for extra in [&[][..], &["--eval-steps", "0"]] {
            let flags: Vec<&str> = flags.iter().chain(extra).copied().collect();
            let shown = String::from_utf8_lossy(&source[source.len().saturating_sub(30)..]).into_owned();
            each_mode(&modes, source, &flags, b"", |label, got| {
                assert_run(&format!("{label} on ...{shown}"), got, *code, stdout, word)
            });
        }
    }
}

// The tests below run part of themselves in a child process.

fn inst(op: Op) -> Inst {
    Inst::new(op, 0)
}

/// Programs with one access (or move) further than the guard area reaches:
/// no source under 256 MB spells such an offset, so they are built as IR
/// and given to the code generator directly.
fn far_program(case: &str) -> Program {
    let g = GUARD_BYTES as i32;
    let far = g + 5;
    let ops: Vec<Op> = match case {
        "add-right" => vec![Op::Add { off: 0, val: 1 }, Op::Out { off: 0 }, Op::Add { off: far, val: 1 }],
        "add-left" => vec![Op::Add { off: 0, val: 1 }, Op::Out { off: 0 }, Op::Add { off: -far, val: 1 }],
        "set-right" => vec![Op::Set { off: far, val: 7 }],
        "out-left" => vec![Op::Out { off: -far }],
        "in-right" => vec![Op::In { off: far }],
        "loop-left" => vec![Op::Loop { off: -far }, Op::EndLoop],
        "move-right" => vec![Op::Add { off: 0, val: 1 }, Op::Move(far), Op::Add { off: 0, val: 1 }],
        "move-left" => vec![Op::Add { off: 0, val: 1 }, Op::Move(-far), Op::Out { off: 0 }],
        // Two moves within the guard each, beyond it together.
        "moves-right" => {
            vec![Op::Add { off: 0, val: 1 }, Op::Move(g / 2 + 3), Op::Move(g / 2 + 3), Op::Add { off: 0, val: 1 }]
        }
        "move-then-offset-left" => {
            vec![Op::Add { off: 0, val: 1 }, Op::Move(-(g / 2)), Op::Add { off: -(g / 2) - 5, val: 1 }]
        }
        "mul-right" => vec![
            Op::Set { off: 0, val: 2 },
            Op::If { off: 0 },
            Op::AddMul { off: far, src: 0, factor: 3, if_nonzero: false },
            Op::Set { off: 0, val: 0 },
            Op::EndIf,
        ],
        "mul-left" => vec![
            Op::Set { off: 0, val: 2 },
            Op::Out { off: 0 },
            Op::If { off: 0 },
            Op::AddMul { off: -far, src: 0, factor: 1, if_nonzero: false },
            Op::Set { off: 0, val: 0 },
            Op::EndIf,
        ],
        "scan-right" => vec![Op::Set { off: 0, val: 1 }, Op::Scan { stride: far, value: 0 }],
        "scan-left" => vec![Op::Set { off: 0, val: 1 }, Op::Scan { stride: -far, value: 0 }],
        // Off the tape and back without touching anything: fine.
        "there-and-back" => vec![Op::Move(far), Op::Move(-far), Op::Add { off: 0, val: 1 }, Op::Out { off: 0 }],
        _ => panic!("no far program {case}"),
    };
    Program { insts: ops.into_iter().map(inst).collect(), data: Vec::new() }
}

const FAR_CASES: [&str; 15] = [
    "add-right",
    "add-left",
    "set-right",
    "out-left",
    "in-right",
    "loop-left",
    "move-right",
    "move-left",
    "moves-right",
    "move-then-offset-left",
    "mul-right",
    "mul-left",
    "scan-right",
    "scan-left",
    "there-and-back",
];

fn far_options(tape_cells: usize) -> bfc::Options {
    bfc::Options { tape_cells, eval_steps: 0, ..bfc::Options::default() }
}

/// In a child: runs a far program in the JIT, exits with bfc's exit code.
fn far_child(case: &str) -> ! {
    let (name, cells) = case.split_once('@').unwrap();
    let cells: usize = cells.parse().unwrap();
    child_stdout();
    let code = bfc::back_end(&far_program(name), &far_options(cells));
    let loaded = bfc::jit::LoadedCode::load(&code).unwrap();
    let exit = loaded.run(cells).unwrap();
    eprintln!("status: {:?}", exit.status);
    std::process::exit(exit_code(exit.status));
}

#[test]
fn far_beyond_the_guard_in_one_step() {
    if let Some(case) = child_case() {
        far_child(&case);
    }
    let dir = tempdir();
    for cells in [65536usize, 1 << 40] {
        for case in FAR_CASES {
            let program = far_program(case);
            let config = interp::Config {
                tape_cells: cells,
                left_margin: 0,
                eof: EofMode::Unchanged,
                max_steps: None,
                cell_bits: 8,
            };
            let mut want = Vec::new();
            let Outcome::Finished(status) = interp::run(&program, &config, &mut &b""[..], &mut want) else {
                unreachable!()
            };
            let word = match status {
                Status::TapeUnderflow => "tape underflow",
                Status::TapeOverflow => "tape overflow",
                _ => "",
            };
            if cells == 65536 && case != "there-and-back" {
                assert!(!word.is_empty(), "{case}: the oracle does not fail: {status:?}");
            }
            // The JIT, in a child process: a miss could crash it.
            let label = format!("{case} on {cells} cells");
            let got = run_child("far_beyond_the_guard_in_one_step", &format!("{case}@{cells}"), Stdio::null(), TIMEOUT);
            assert!(got.code.is_some(), "jit {label}: {}", got.summary());
            assert_eq!(got.code, Some(exit_code(status)), "jit {label}: {} (expected {status:?})", got.summary());
            assert_eq!(got.stdout, want, "jit {label}: stdout");
            if cells != 65536 {
                continue;
            }
            // An executable from the same code.
            let code = bfc::back_end(&program, &far_options(cells));
            let map = bfc::code::SourceMap::new(&bfc::linetable::LineTable::new(&code.positions, b""), case);
            let obj = bfc::object::write_object(
                &code,
                bfc::object::DEFAULT_SYMBOL,
                &bfc::code::Contract::new(cells, 0),
                &map,
            );
            let exe = dir.path().join(case);
            let options = bfc::link::ExeOptions { symbol: bfc::object::DEFAULT_SYMBOL.into(), tape_cells: cells };
            bfc::link::link_executable(&obj, &options, &exe).unwrap();
            let got = run(&mut Command::new(&exe), b"", TIMEOUT);
            assert_run(&format!("exe {label}"), &got, exit_code(status), &want, word);
        }
    }
}

/// The same through the command line: 2^28 + 5 `>` in a row (268 MB of
/// source, through a pipe; several GB of memory for the IR).
#[test]
#[ignore = "268 MB of source, several GB of memory: run by hand"]
fn far_beyond_the_guard_from_source() {
    let far = GUARD_BYTES + 5;
    let right = [vec![b'>'; far], b"+".to_vec()].concat();
    let left = [b"+.".to_vec(), vec![b'<'; far], b"+".to_vec()].concat();
    for (source, stdout, word) in [(&right, &b""[..], "tape overflow"), (&left, b"\x01", "tape underflow")] {
        for flags in [&["--jit", "-O2"][..], &["--jit", "-O0"]] {
            let args: Vec<&str> = flags.iter().copied().chain(["-"]).collect();
            let (got, rss) = run_measured(&bfc_cmd(&args), source, Duration::from_secs(600));
            eprintln!("{word} from source, {}: {:.1}s, peak RSS {rss:?} KiB", args.join(" "), got.secs);
            assert_run(&args.join(" "), &got, 3, stdout, word);
        }
    }
}

/// The address the foreign fault is expected at (the child's).
static FAULT_AT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);

/// The handler in place before the JIT run: the JIT's handler must pass the
/// foreign fault on to it. Exits 42 if the fault is the expected one, 43 if
/// another (say, the thread crashing after being sent into generated code).
extern "C" fn previous_handler(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let expected = FAULT_AT.load(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(if addr == expected { 42 } else { 43 }) }
}

/// In a child: while JIT code waits for input, another thread reads a byte
/// of the tape's lower guard area (or address 0).
fn foreign_fault_child(target: &str) -> ! {
    child_stdout();
    // SAFETY: installs a handler that only reads siginfo and exits.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = previous_handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut()), 0);
    }
    let cells = 3 * 65536;
    let options = bfc::Options { tape_cells: cells, ..bfc::Options::default() };
    let program = bfc::front_end("t.b", b".,", &options).unwrap();
    let code = bfc::back_end(&program, &options);
    let loaded = bfc::jit::LoadedCode::load(&code).unwrap();
    let target = target.to_string();
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        let addr = match target.as_str() {
            "guard" => match tape_start(cells) {
                Some(start) => start - 1,
                None => {
                    eprintln!("the tape is not in /proc/self/maps");
                    std::process::exit(51);
                }
            },
            _ => 0,
        };
        FAULT_AT.store(addr, std::sync::atomic::Ordering::SeqCst);
        // SAFETY: none: this is the crash under test.
        let byte = unsafe { std::ptr::read_volatile(addr as *const u8) };
        eprintln!("read {byte} at {addr:#x} without a fault");
        std::process::exit(52);
    });
    let exit = loaded.run(cells);
    eprintln!("the run ended: {exit:?}");
    std::process::exit(50);
}

/// The start of a `cells`-byte read-write mapping right after an
/// inaccessible one of `GUARD_BYTES`: the JIT's tape.
fn tape_start(cells: usize) -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut prev: Option<(usize, usize, String)> = None;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let perms = fields.next()?.to_string();
        let (lo, hi) = range.split_once('-')?;
        let (lo, hi) = (usize::from_str_radix(lo, 16).ok()?, usize::from_str_radix(hi, 16).ok()?);
        if let Some((plo, phi, pperms)) = &prev {
            if perms.starts_with("rw")
                && hi - lo == cells
                && *phi == lo
                && pperms.starts_with("---")
                && phi - plo == GUARD_BYTES
            {
                return Some(lo);
            }
        }
        prev = Some((lo, hi, perms));
    }
    None
}

#[test]
fn faults_outside_generated_code_are_not_tape_errors() {
    if let Some(case) = child_case() {
        foreign_fault_child(&case);
    }
    for target in ["guard", "null"] {
        // stdin: a pipe kept open, so the program waits in `,`.
        let (r, w) = pipe(None);
        let got = run_child("faults_outside_generated_code_are_not_tape_errors", target, r.into(), TIMEOUT);
        drop(w);
        assert_eq!(
            got.code,
            Some(42),
            "a fault at {target} in another thread during a JIT run: {} (expected it passed on to the previous \
             handler: exit 42; 43: that handler saw another fault)",
            got.summary()
        );
        assert_eq!(got.stdout, b"\0", "{target}: the output before");
    }
}

#[test]
fn jit_memory_is_never_writable_and_executable() {
    // `.` flushes before `,` waits: once the byte arrives, the code is mapped.
    let dir = tempdir();
    let src = write_file(dir.path(), "prog.b", b"+.,.");
    let mut child = bfc_cmd(["--jit", src.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(first, [1]);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"x").unwrap();
    drop(stdin);
    let got = collect(child, b"", TIMEOUT);
    assert_run("bfc --jit +.,. (after the maps were read)", &got, 0, b"x", "");
    let mut anonymous_code = 0;
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let perms = fields[1].as_bytes();
        assert!(!(perms[1] == b'w' && perms[2] == b'x'), "writable and executable: {line}");
        // No path, inode 0: an anonymous mapping.
        if fields[1] == "r-xp" && fields[4] == "0" && fields.len() == 5 {
            anonymous_code += 1;
        }
    }
    assert!(anonymous_code >= 1, "no anonymous r-x mapping (the JIT code) in:\n{maps}");
}

// ---------------------------------------------------------------------------
// Builds

#[test]
fn builds_are_reproducible() {
    let dir = tempdir();
    let programs: [&[u8]; 3] =
        [include_bytes!("../examples/hello.b"), b",[.,]", b"++++++++[>++++[>++>+++>+++>+<<<<-]>+>+>->>+[<]<-]>>."];
    for (i, source) in programs.iter().enumerate() {
        let src = write_file(dir.path(), &format!("p{i}.b"), source);
        let src = src.to_str().unwrap();
        for flags in [&["-O2"][..], &["-O0"], &["-O2", "--tape-size", "1000"]] {
            let mut objects = Vec::new();
            for n in 0..2 {
                let out = dir.path().join(format!("p{i}-{n}.o"));
                let mut args = vec!["-c", "-o", out.to_str().unwrap(), src];
                args.extend_from_slice(flags);
                let got = run_bfc(&args, b"", TIMEOUT);
                assert_run(&format!("bfc {}", args.join(" ")), &got, 0, b"", "");
                objects.push(std::fs::read(&out).unwrap());
            }
            assert!(objects[0] == objects[1], "p{i}.b {flags:?}: two builds differ");
        }
    }
    // Executables too, as far as the C compiler is deterministic (gcc and
    // clang are: nothing of the temporary directory's name gets in).
    let src = dir.path().join("p0.b");
    let exes: Vec<Vec<u8>> = (0..2)
        .map(|n| {
            let out = dir.path().join(format!("exe{n}"));
            let got = run_bfc([OsStr::new("-o"), out.as_os_str(), src.as_os_str()], b"", TIMEOUT);
            assert_run("bfc -o exe p0.b", &got, 0, b"", "");
            std::fs::read(&out).unwrap()
        })
        .collect();
    assert!(exes[0] == exes[1], "two builds of an executable differ");
}

#[test]
fn parallel_builds_into_one_directory() {
    let dir = tempdir();
    let n = 8;
    for i in 0..n {
        let source = [vec![b'+'; 65 + i], b".".to_vec()].concat();
        write_file(dir.path(), &format!("p{i}.b"), &source);
    }
    let children: Vec<_> = (0..n)
        .map(|i| {
            let mut cmd = bfc_cmd(["-o", &format!("p{i}"), &format!("p{i}.b")]);
            cmd.current_dir(dir.path()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let got = collect(child, b"", TIMEOUT);
        assert_run(&format!("bfc -o p{i} (one of {n} at once)"), &got, 0, b"", "");
    }
    for i in 0..n {
        let got = run(&mut Command::new(dir.path().join(format!("p{i}"))), b"", TIMEOUT);
        assert_run(&format!("p{i}"), &got, 0, &[b'A' + i as u8], "");
    }
    let mut want: Vec<String> = (0..n).flat_map(|i| [format!("p{i}"), format!("p{i}.b")]).collect();
    want.sort();
    assert_eq!(listing(dir.path()), want, "leftovers after parallel builds");
}
