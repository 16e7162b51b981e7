//! The dialect options of issue 17 covered here: `--hash-dump` (`#` dumps
//! the tape to stderr) and `--left-margin N` (cells -N..-1 on the tape),
//! the same in the JIT, the interpreter and executables, at -O0 and -O2.

mod common;

use std::process::{Command, Stdio};

use common::{assert_no_crash, each_mode, expect_each_mode, mode_command, tempdir, write_file, Mode, TIMEOUT};

/// Every way a program runs: the JIT and executables at -O0 and -O2, the
/// interpreter (`--interp` takes `-O` too, given in the flags).
const MODES: [Mode; 5] = [Mode::Jit(0), Mode::Jit(2), Mode::Interp, Mode::Exe(0), Mode::Exe(2)];

/// In every mode, with `flags` (the interpreter at -O0 and -O2): exit 0,
/// exactly `stdout` and exactly `stderr`.
fn expect_exactly(source: &str, flags: &[&str], stdout: &[u8], stderr: &str) {
    for level in ["-O0", "-O2"] {
        let flags: Vec<&str> = flags.iter().copied().chain(["-w"]).collect();
        let modes: &[Mode] = if level == "-O0" { &MODES } else { &[Mode::Interp] };
        let flags = if level == "-O2" { [&flags[..], &["-O2"]].concat() } else { flags.clone() };
        each_mode(modes, source.as_bytes(), &flags, b"", |label, got| {
            assert_no_crash(label, got);
            assert!(got.exited(0), "{label}: {}", got.summary());
            assert_eq!(got.stdout, stdout, "{label}: stdout");
            assert_eq!(got.stderr_text(), stderr, "{label}: stderr");
        });
    }
}

#[test]
fn a_hash_dumps_the_pointer_and_the_cells_around_it() {
    // Cells left of the tape and past its end are shown, not read.
    expect_exactly("++>+++#", &["--hash-dump"], b"", "# ptr 1: [-3] -- -- -- 2 >3< 0 0 0 0 0 0 0 0 0 0 0\n");
    let looped = "# ptr 1: [-3] -- -- -- 3 >1< 0 0 0 -- -- -- -- -- -- -- --\n\
                  # ptr 1: [-3] -- -- -- 2 >2< 0 0 0 -- -- -- -- -- -- -- --\n\
                  # ptr 1: [-3] -- -- -- 1 >3< 0 0 0 -- -- -- -- -- -- -- --\n";
    expect_exactly("+++[>+#<-]", &["--hash-dump", "--tape-size", "5"], b"", looped);
    // The pointer off the tape, cells numbered from where it started.
    let left = "# ptr -2: [-6] -- -- -- -- >1< 0 0 0 0 0 0 0 0 0 0 0\n# ptr -9: [-13] -- -- -- -- >--< -- -- -- -- -- -- 1 0 0 0 0\n";
    expect_exactly("<<+#<<<<<<<#", &["--hash-dump", "--left-margin", "2"], b"", left);
}

#[test]
fn without_hash_dump_a_hash_is_a_comment() {
    expect_exactly("+#.", &[], b"\x01", "");
}

/// Where the optimiser would fold, defer, evaluate or shortcut across a
/// `#`, the dump still shows the unoptimised program's tape: every mode
/// agrees with the interpreter at -O0, byte for byte.
#[test]
fn a_hash_is_a_barrier_to_every_pass() {
    let programs = [
        // Folded runs and a move deferred past it.
        "+++#---#>>>#<<<+#",
        // A multiply loop and a clear on either side.
        "++++[>++++<-]#>[-]#<#",
        // A loop with a dump inside: not closed-form, not a scan.
        "+++++[>+>++<<-#]>>#[<]#",
        // Known values, a scan and an if.
        "+>+>+>+<<<[>]#<[-]#+[-#]",
        // Inside a chain of ifs on one counter (a switch table otherwise).
        "+++[>+<-]>[-[-[-#>+<]>+<]>+<]#",
    ];
    for source in programs {
        let reference = reference(source, &["--hash-dump", "--tape-size", "64"]);
        assert!(reference.1.lines().count() >= 2, "{source}: {:?}", reference.1);
        expect_exactly(source, &["--hash-dump", "--tape-size", "64"], &reference.0, &reference.1);
    }
}

/// What `bfc --interp -O0` prints of `source` on stdout and stderr.
fn reference(source: &str, flags: &[&str]) -> (Vec<u8>, String) {
    let out = std::cell::RefCell::new(None);
    let flags: Vec<&str> = flags.iter().copied().chain(["-O0", "-w"]).collect();
    each_mode(&[Mode::Interp], source.as_bytes(), &flags, b"", |label, got| {
        assert!(got.exited(0), "{label}: {}", got.summary());
        *out.borrow_mut() = Some((got.stdout.clone(), got.stderr_text()));
    });
    out.into_inner().expect("ran")
}

/// Output before a `#` is written before the dump, also to a file (where
/// output is otherwise written in 64 KiB blocks): stdout and stderr into one
/// file come in program order.
#[test]
fn output_before_a_dump_comes_before_it() {
    let dir = tempdir();
    let source = write_file(dir.path(), "prog.b", b"+++++++[>++++++++++<-]>-.#+.#");
    let expected = "E# ptr 1: [-3] -- -- -- 0 >69< 0 0 0 0 0 0 0 0 0 0 0\n\
                    F# ptr 1: [-3] -- -- -- 0 >70< 0 0 0 0 0 0 0 0 0 0 0\n";
    let flags = ["--hash-dump".to_string()];
    for mode in MODES {
        let exe = dir.path().join("prog");
        let (mut cmd, _) = mode_command(mode, &source, &flags, &exe, TIMEOUT).expect("builds");
        let file = dir.path().join("both");
        let both = std::fs::File::create(&file).unwrap();
        let status = cmd.stdin(Stdio::null()).stdout(both.try_clone().unwrap()).stderr(both).status().unwrap();
        assert!(status.success(), "{}: {status}", mode.label());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), expected, "{}", mode.label());
    }
}

/// cristofd's kind of test: the program goes left of where it started,
/// works there and comes back.
const GOES_LEFT: &str = "++++++++[<<<++++++++>>>-]<<<+.>>>++++++++++.";

#[test]
fn a_left_margin_puts_cells_left_of_the_start_on_the_tape() {
    expect_each_mode(&MODES, GOES_LEFT.as_bytes(), &["--left-margin", "3"], b"", 0, b"A\n", "");
    // On a tape whose size is not a multiple of the page: checks in the
    // code instead of guard pages.
    expect_each_mode(&MODES, GOES_LEFT.as_bytes(), &["--left-margin", "3", "--tape-size", "100"], b"", 0, b"A\n", "");
    expect_each_mode(
        &MODES,
        GOES_LEFT.as_bytes(),
        &["--left-margin", "4096", "--tape-size", "8192"],
        b"",
        0,
        b"A\n",
        "",
    );
    // Without one, cell -3 is off the tape.
    expect_each_mode(&MODES, GOES_LEFT.as_bytes(), &["-w"], b"", 3, b"", "tape underflow");
}

/// Cell -N is the last one; touching -N-1 is a tape underflow, after the
/// output before it, whether the code checks bounds (margins that make
/// the tape's size no multiple of the page) or relies on guard pages.
#[test]
fn the_cell_left_of_the_margin_underflows() {
    for (margin, tape) in [(1, 65536), (3, 100), (4096, 65536), (96, 4000)] {
        let flags = ["-w", "--left-margin", &margin.to_string(), "--tape-size", &tape.to_string()];
        let exact = format!("{}+.", "<".repeat(margin));
        expect_each_mode(&MODES, exact.as_bytes(), &flags, b"", 0, b"\x01", "");
        let past = format!("{}+.", "<".repeat(margin + 1));
        expect_each_mode(&MODES, past.as_bytes(), &flags, b"", 3, b"", "tape underflow");
        // A walk that fills the margin, after printing, found at run time.
        let walk = "++++++++[>++++++<-]>.<+[<+]";
        expect_each_mode(&MODES, walk.as_bytes(), &flags, b"", 3, b"0", "tape underflow");
    }
}

#[test]
fn the_margin_leaves_cell_0_on_the_tape() {
    let dir = tempdir();
    let source = write_file(dir.path(), "p.b", b"<+");
    for (margin, code) in [("100", 2), ("99", 0)] {
        let flags = ["--jit", "--tape-size", "100", "--left-margin", margin];
        let got = common::run(Command::new(common::bfc()).args(flags).arg(&source), b"", TIMEOUT);
        assert!(got.exited(code), "{margin}: {}", got.summary());
        if code == 2 {
            assert!(got.stderr_text().contains("--tape-size counts the margin"), "{}", got.stderr_text());
        }
    }
}
