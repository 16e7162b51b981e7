//! bfc objects used from C: two programs built with different `--symbol`s,
//! linked with the runtime into one C program that calls both.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bfc_cmd, run, tempdir, write_file, TIMEOUT};

fn bfc_object(dir: &Path, name: &str, source: &str, symbol: &str) {
    let src = write_file(dir, &format!("{name}.b"), source.as_bytes());
    let mut cmd = bfc_cmd(["-c", "--tape-size", "4096", "--symbol", symbol, "-o"]);
    cmd.arg(dir.join(format!("{name}.o"))).arg(&src);
    let got = run(&mut cmd, b"", TIMEOUT);
    assert!(got.exited(0), "bfc -c {name}: {}", got.summary());
}

#[test]
fn c_program_calls_two_bf_programs() {
    let dir = tempdir();
    let d = dir.path();
    // Prints "Hi\n".
    bfc_object(d, "hello", "++++++++[>+++++++++<-]>.+++++++++++++++++++++++++++++++++.[-]++++++++++.", "bf_hello");
    // Prints "A", then walks off the end of its 4096-cell tape.
    bfc_object(d, "walk", "++++++++[>++++++++<-]>+.[>+]", "bf_walk");
    // Reads nothing, prints "AB".
    bfc_object(d, "shout", "++++++++[>++++++++<-]>+.+.", "bf_shout");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = d.join("two");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(cc)
        .args(["-std=c11", "-O2", "-Wall", "-Werror", "-I"])
        .arg(root.join("runtime-c"))
        .arg(root.join("tests/c/two_programs.c"))
        .arg(root.join("runtime-c/bfrt.c"))
        .arg(d.join("hello.o"))
        .arg(d.join("shout.o"))
        .arg(d.join("walk.o"))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "Hi\n[hello -> 0]\nAB[shout -> 0]\nA[walk -> 2: tape overflow: cell 4096 touched (pointer moved right off the tape)]\n"
    );
    assert!(run.status.success(), "exit {:?}, stderr {}", run.status, String::from_utf8_lossy(&run.stderr));
}
