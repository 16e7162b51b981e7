//! `--bang` (tritium's `!`): the first `!` ends the program and the bytes
//! after it are the program's first input, stdin's following, in every mode
//! (JIT, interpreter, executables at each -O); without `--bang`, `!` is a
//! comment. From stdin, the rest of the stream is the input, read as the
//! program goes.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::child::chunks;
use common::{assert_run, bfc_cmd, collect, expect_each_mode, run_bfc, tempdir, write_file, Mode, TIMEOUT};

const EVERY_MODE: [Mode; 7] =
    [Mode::Jit(0), Mode::Jit(1), Mode::Jit(2), Mode::Interp, Mode::Exe(0), Mode::Exe(1), Mode::Exe(2)];

/// Copies its input to its output until end of input (which leaves the
/// cleared cell 0 under every `--eof`).
const CAT: &[u8] = b",[.[-],]";

fn with_input(program: &[u8], input: &[u8]) -> Vec<u8> {
    [program, b"!", input].concat()
}

#[test]
fn the_bytes_after_the_bang_come_first_then_stdin() {
    expect_each_mode(&EVERY_MODE, &with_input(CAT, b"hello"), &["--bang"], b" world", 0, b"hello world", "");
}

#[test]
fn without_bang_the_bang_is_a_comment() {
    // tritium's `+#.!X`: with --bang the program is `+#.` and prints 1;
    // without, `!X` is a comment and the program goes on to print 2.
    expect_each_mode(&EVERY_MODE, b"+.!+.", &["--bang"], b"", 0, b"\x01", "");
    expect_each_mode(&EVERY_MODE, b"+.!+.", &[], b"", 0, b"\x01\x02", "");
    expect_each_mode(&EVERY_MODE, &with_input(CAT, b"hello"), &[], b"stdin", 0, b"stdin", "");
}

#[test]
fn only_the_first_bang_ends_the_program() {
    expect_each_mode(&EVERY_MODE, &with_input(CAT, b"a!b"), &["--bang"], b"", 0, b"a!b", "");
    // Nothing after the `!`: stdin alone (and no input symbols in the object).
    expect_each_mode(&EVERY_MODE, &with_input(CAT, b""), &["--bang"], b"in", 0, b"in", "");
}

#[test]
fn input_longer_than_the_io_buffer_is_read_in_place_then_stdin() {
    // 200 000 bytes: more than the 64 KiB buffers of the JIT and bfrt.c.
    let given: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let expected = [&given[..], b"tail"].concat();
    expect_each_mode(&EVERY_MODE, &with_input(CAT, &given), &["--bang"], b"tail", 0, &expected, "");
}

#[test]
fn from_stdin_the_rest_of_the_stream_is_the_input() {
    let big: Vec<u8> = (0..150_000u32).map(|i| b'A' + (i % 26) as u8).collect();
    let stream = with_input(CAT, &big);
    for mode in ["--jit", "--interp"] {
        let got = run_bfc([mode, "--bang", "-"], &stream, TIMEOUT);
        assert_run(&format!("bfc {mode} --bang -"), &got, 0, &big, "");
        let got = run_bfc([mode, "-"], &stream, TIMEOUT);
        assert_run(&format!("bfc {mode} - (no --bang)"), &got, 0, b"", "");
    }
}

#[test]
fn from_stdin_the_program_runs_before_the_rest_of_its_input_arrives() {
    for mode in ["--jit", "--interp"] {
        let mut child = bfc_cmd([mode, "--bang", "-u", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bfc starts");
        let out = chunks(child.stdout.take().unwrap());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&with_input(CAT, b"a")).unwrap();
        stdin.flush().unwrap();
        let first = out.recv_timeout(Duration::from_secs(20));
        let _ = stdin.write_all(b"b");
        drop(stdin);
        let rest: Vec<u8> = out.iter().flatten().collect();
        let got = collect(child, b"", TIMEOUT);
        assert_eq!(
            first.as_deref().ok(),
            Some(&b"a"[..]),
            "{mode}: 'a' not echoed while stdin stayed open: {}",
            got.summary()
        );
        assert_eq!(rest, b"b", "{mode}: {}", got.summary());
    }
}

#[test]
fn positions_are_those_of_the_program_part() {
    // The `]` after the `!` is input, not a bracket: the `[` is unmatched.
    let dir = tempdir();
    let path = write_file(dir.path(), "p.b", b"+\n+[-!]");
    let path = path.to_str().unwrap();
    for mode in ["--jit", "--interp"] {
        let got = run_bfc([mode, "--bang", path], b"", TIMEOUT);
        assert_run(mode, &got, 1, b"", "p.b:2:2: error: unmatched '['");
        let got = run_bfc([mode, path], b"", TIMEOUT);
        assert_run(&format!("{mode} without --bang"), &got, 0, b"", "");
    }
    let got = run_bfc(["--jit", "--bang", "-"], b"+\n+[-!]", TIMEOUT);
    assert_run("--jit --bang - ", &got, 1, b"", "<stdin>:2:2: error: unmatched '['");
}

#[test]
fn an_object_carries_the_input_for_c_callers() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", &with_input(CAT, b"given "));
    let mut cmd = bfc_cmd(["--bang", "-c", "--symbol", "prog", "p.b", "-o", "p.o"]);
    let got = collect(cmd.current_dir(dir.path()).stdin(Stdio::null()).spawn().unwrap(), b"", TIMEOUT);
    assert!(got.exited(0), "{}", got.summary());
    let c = b"#include \"bfrt.h\"\n\
        BF_DECLARE_PROGRAM(prog);\n\
        BF_DECLARE_INPUT(prog);\n\
        int main(void) {\n\
            bfrt_set_input(BF_INPUT(prog), (size_t)BF_INPUT_SIZE(prog));\n\
            return bfrt_report(BFRT_RUN(prog));\n\
        }\n";
    write_file(dir.path(), "main.c", c);
    let runtime = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime-c");
    let cc = std::process::Command::new("cc")
        .current_dir(dir.path())
        .arg("-I")
        .arg(&runtime)
        .args(["-o", "my", "main.c", "p.o"])
        .arg(runtime.join("bfrt.c"))
        .output()
        .expect("cc runs");
    assert!(cc.status.success(), "cc: {}", String::from_utf8_lossy(&cc.stderr));
    let got = common::run(&mut std::process::Command::new(dir.path().join("my")), b"and stdin", TIMEOUT);
    assert_run("C caller", &got, 0, b"given and stdin", "");
}

#[test]
fn a_build_from_stdin_carries_the_rest_of_the_stream() {
    let dir = tempdir();
    let got = common::bfc_in(dir.path(), &["--bang", "-o", "echo", "-"], &with_input(CAT, b"built in "));
    assert!(got.exited(0), "{}", got.summary());
    let ran = common::run(&mut std::process::Command::new(dir.path().join("echo")), b"and stdin", TIMEOUT);
    assert_run("./echo", &ran, 0, b"built in and stdin", "");
}
