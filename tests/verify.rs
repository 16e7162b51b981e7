//! `bfc --verify`: the optimised code and the interpreter on the same
//! input. Programs that agree print what `--jit` prints and exit as it
//! does; divergences, forced through `BFC_VERIFY_INJECT`, are reported with
//! the right offset or ending, exit 5, and the interpreter's output on
//! stdout. Corpus programs verify clean.

mod common;

use common::manifest::{self, ExpectedError};
use common::{assert_run, bfc_cmd, corpus_dir, run, run_bfc, tempdir, write_file, Run, TIMEOUT};

const HELLO: &[u8] =
    b"++++++++[>++++[>++>+++>+++>+<<<<-]>+>+>->>+[<]<-]>>.>---.+++++++..+++.>>.<-.<.+++.------.--------.>>+.>++.";
const HELLO_OUT: &[u8] = b"Hello World!\n";

/// Exit code of a divergence.
const DIVERGED: i32 = 5;

/// `bfc ARGS` on `source` (as prog.b) with `input`, `BFC_VERIFY_INJECT`
/// set to `inject` if given.
fn verify(source: &[u8], args: &[&str], input: &[u8], inject: Option<&str>) -> Run {
    let dir = tempdir();
    let path = write_file(dir.path(), "prog.b", source);
    let mut cmd = bfc_cmd(["--verify"].iter().chain(args).copied().chain([path.to_str().unwrap()]));
    cmd.env_remove("BFC_VERIFY_INJECT");
    if let Some(inject) = inject {
        cmd.env("BFC_VERIFY_INJECT", inject);
    }
    run(&mut cmd, input, TIMEOUT)
}

#[test]
fn agreeing_runs_print_and_exit_as_the_jit() {
    assert_run("hello", &verify(HELLO, &[], b"", None), 0, HELLO_OUT, "");
    assert_run("cat", &verify(b",[.[-],]", &[], b"some input", None), 0, b"some input", "");
    let underflow = verify(b"+.<+", &[], b"", None);
    assert_run("underflow", &underflow, 3, b"\x01", "error: tape underflow");
    assert!(!underflow.stderr_text().contains("--verify"), "{}", underflow.stderr_text());
}

#[test]
fn honours_levels_tape_size_and_eof() {
    for (level, passes_run) in [("-O0", false), ("-O1", true), ("-O2", true)] {
        let got = verify(HELLO, &[level, "--time-passes"], b"", None);
        assert_run(level, &got, 0, HELLO_OUT, "");
        let stderr = got.stderr_text();
        assert_eq!(stderr.contains("time: combine"), passes_run, "{level}: the optimised side's passes: {stderr}");
    }
    // Cell 99 is the last of a 100-cell tape.
    let right = [&[b'>'; 99][..], b"+.>+"].concat();
    assert_run("--tape-size 100", &verify(&right, &["--tape-size", "100"], b"", None), 3, b"\x01", "tape overflow");
    assert_run("default tape", &verify(&right, &[], b"", None), 0, b"\x01", "");
    assert_run("--eof minus-one", &verify(b",.", &["--eof", "minus-one"], b"", None), 0, b"\xff", "");
    assert_run("--eof zero", &verify(b"+,.", &["--eof", "zero"], b"", None), 0, b"\x00", "");
    assert_run("--eof unchanged", &verify(b"+,.", &[], b"", None), 0, b"\x01", "");
}

#[test]
fn a_changed_byte_is_reported_at_its_offset() {
    for (inject, offset, bytes) in [("output", 0, "0x49 vs 0x48"), ("output:6", 6, "0x58 vs 0x57")] {
        let got = verify(HELLO, &[], b"", Some(inject));
        let message = format!(
            "error: --verify: the optimised code and the interpreter differ at output byte {offset}: {bytes}\n"
        );
        assert_run(inject, &got, DIVERGED, HELLO_OUT, &message);
    }
}

#[test]
fn an_output_that_ends_early_says_which() {
    let got = verify(HELLO, &[], b"", Some("truncate"));
    let message = "differ at output byte 12: the optimised code's output ends there, the interpreter's goes on (0x0a)";
    assert_run("truncate", &got, DIVERGED, HELLO_OUT, message);
    let got = verify(HELLO, &[], b"", Some("output:13"));
    let message = "differ at output byte 13: the interpreter's output ends there, the optimised code's goes on (0x21)";
    assert_run("output:13", &got, DIVERGED, HELLO_OUT, message);
}

#[test]
fn a_different_ending_is_reported() {
    let got = verify(HELLO, &[], b"", Some("status"));
    assert_run("status", &got, DIVERGED, HELLO_OUT, "differ in how the run ended: tape overflow vs success");
    let got = verify(b"+.<+", &[], b"", Some("status"));
    assert_run(
        "status of a tape error",
        &got,
        DIVERGED,
        b"\x01",
        "differ in how the run ended: success vs tape underflow",
    );
    let json = verify(b"+.<+", &["--error-format", "json", "-w"], b"", Some("status"));
    assert!(json.stderr_text().contains("\"code\":\"verify-ending\""), "{}", json.stderr_text());
    // Both stop with the same tape error, said to be at other commands.
    let got = verify(b"+.<+", &["-w"], b"", Some("position"));
    let message = "differ in where the tape error happened: source byte 4 vs source byte 3";
    assert_run("position of a tape error", &got, DIVERGED, b"\x01", message);
    assert_run("agreeing", &verify(b"+.<+", &["-w"], b"", None), 3, b"\x01", ":1:4: error: tape underflow: cell -1");
}

#[test]
fn the_input_is_read_once_and_given_to_both() {
    // A large input and output (4 MB each way): nothing is lost to a pipe.
    let input: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8 | 1).collect();
    assert_run("big cat", &verify(b",[.,]", &["--eof", "zero"], &input, None), 0, &input, "");
    let got = verify(b",[.,]", &["--eof", "zero"], &input, Some("output:3999999"));
    assert_run("big cat, last byte changed", &got, DIVERGED, &input, "differ at output byte 3999999: ");
}

#[test]
fn with_bang_the_given_input_comes_before_stdin() {
    let got = verify(b",[.[-],]!given ", &["--bang"], b"and stdin", None);
    assert_run("--bang", &got, 0, b"given and stdin", "");
    let got = run_bfc(["--verify", "--bang", "-"], b",[.[-],]!all of it", TIMEOUT);
    assert_run("--bang -", &got, 0, b"all of it", "");
}

#[test]
fn closed_stdin_ends_as_a_run_that_reads_it() {
    let dir = tempdir();
    let path = write_file(dir.path(), "cat.b", b",[.[-],]");
    for mode in ["--verify", "--jit"] {
        let mut cmd = common::child::with_closed("<", &bfc_cmd([mode, path.to_str().unwrap()]));
        let got = run(&mut cmd, b"", TIMEOUT);
        assert_run(mode, &got, 4, b"", "error: read error: Bad file descriptor");
    }
}

#[test]
fn usage_errors() {
    let got = verify(HELLO, &[], b"", Some("bogus"));
    assert_run("bad injection", &got, 2, b"", "BFC_VERIFY_INJECT='bogus'");
    let got = run_bfc(["--verify", "a.b", "b.b"], b"", TIMEOUT);
    assert_run("two files", &got, 2, b"", "--verify runs one program");
    let got = run_bfc(["--verify", "--jit", "a.b"], b"", TIMEOUT);
    assert_run("with --jit", &got, 2, b"", "cannot be used with");
    let got = run_bfc(["--verify", "--perf-map", "a.b"], b"", TIMEOUT);
    assert_run("with --perf-map", &got, 2, b"", "--perf-map needs --jit");
}

/// Small corpus programs, with their inputs and flags, verify clean and
/// print what they must (or stop with the tape error they must).
#[test]
fn corpus_programs_verify_clean() {
    let dir = corpus_dir();
    let entries = manifest::load(&dir).unwrap_or_else(|e| panic!("the corpus is needed (BFC_CORPUS): {e}"));
    let names = ["beer", "hello_rdebath", "lostkng", "optimtease", "rot13", "edge_binary_in", "edge_underflow"];
    for name in names {
        let entry = entries.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("{name} not in the corpus"));
        let mut args = vec!["--verify".to_string()];
        if let Some(eof) = entry.eof_flag().unwrap() {
            args.extend(["--eof".to_string(), eof.to_string()]);
        }
        if let Some(cells) = entry.tape_cells() {
            args.extend(["--tape-size".to_string(), cells.to_string()]);
        }
        args.push(entry.program(&dir).display().to_string());
        let got = run_bfc(&args, &entry.input(&dir), TIMEOUT);
        if entry.kind == "error" {
            let Ok(ExpectedError::Tape { word, stdout }) = entry.expected_error() else {
                panic!("{name}: not a tape error")
            };
            assert_run(name, &got, 3, &stdout, word);
        } else {
            assert!(got.exited(0), "{name}: {}", got.summary());
            if let Some(diff) = entry.expected_output(&dir).unwrap().differs(&got.stdout) {
                panic!("{name}: {diff}");
            }
        }
        assert!(!got.stderr_text().contains("--verify"), "{name}: {}", got.stderr_text());
    }
}
