//! bfc objects used from C: two programs built with different `--symbol`s,
//! linked with the runtime into one C program that calls both.

use std::path::Path;
use std::process::Command;

const BFC: &str = env!("CARGO_BIN_EXE_bfc");

fn bfc_object(dir: &Path, name: &str, source: &str, symbol: &str) {
    let src = dir.join(format!("{name}.b"));
    std::fs::write(&src, source).unwrap();
    let status = Command::new(BFC)
        .args(["-c", "--symbol", symbol, "-o"])
        .arg(dir.join(format!("{name}.o")))
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success(), "bfc -c {name}");
}

#[test]
fn c_program_calls_two_bf_programs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Prints "Hi\n", then touches cell 1 (an overflow on a 1-cell tape).
    bfc_object(d, "hello", "++++++++[>+++++++++<-]>.+++++++++++++++++++++++++++++++++.[-]++++++++++.", "bf_hello");
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
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "Hi\n[hello -> 0]\nAB[shout -> 0]\n[tiny -> 2: tape overflow: a cell past the end of the tape was touched]\n"
    );
    assert!(run.status.success(), "exit {:?}, stderr {}", run.status, String::from_utf8_lossy(&run.stderr));
}
