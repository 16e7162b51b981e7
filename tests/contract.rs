//! Objects know their contract: `bfc -c` records the tape size, left
//! margin and cell width the code was compiled for (`<symbol>_contract`, `struct
//! bf_contract`), and `bfrt_run_checked` refuses to run the code on another
//! tape, with a message and `BF_EXIT_USAGE`. The code in `.text` stays the
//! JIT's (tests/same_bytes.rs).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bfc::code::CONTRACT_VERSION;
use object::{Object, ObjectSection, ObjectSymbol};

use common::{bfc_cmd, run, tempdir, write_file, TIMEOUT};

/// Prints "Hi\n".
const HELLO: &str = "++++++++[>+++++++++<-]>.+++++++++++++++++++++++++++++++++.[-]++++++++++.";

/// `bfc -c --tape-size CELLS --left-margin MARGIN --symbol prog_main` of
/// HELLO run from the margin's left end (after as many `<`); the object's
/// path.
fn hello_object(dir: &Path, cells: usize, margin: usize) -> PathBuf {
    let src = write_file(dir, "hello.b", ("<".repeat(margin) + HELLO).as_bytes());
    let obj = dir.join("hello.o");
    let got = run(
        bfc_cmd(["-c", "--symbol", "prog_main", "--tape-size"])
            .arg(cells.to_string())
            .arg("--left-margin")
            .arg(margin.to_string())
            .arg("-o")
            .arg(&obj)
            .arg(&src),
        b"",
        TIMEOUT,
    );
    assert!(got.exited(0), "bfc -c: {}", got.summary());
    obj
}

#[test]
fn the_object_records_tape_size_margin_and_cell_width() {
    let dir = tempdir();
    let bytes = std::fs::read(hello_object(dir.path(), 4096, 5)).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let sym = file.symbols().find(|s| s.name() == Ok("prog_main_contract")).expect("a contract symbol");
    assert!(sym.is_global() && sym.is_definition() && sym.size() > 32);
    let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
    let at = (sym.address() - section.address()) as usize;
    let data = &section.data().unwrap()[at..at + 32];
    assert_eq!(u64::from_le_bytes(data[..8].try_into().unwrap()), 4096);
    assert_eq!(u32::from_le_bytes(data[8..12].try_into().unwrap()), 8);
    assert_eq!(u32::from_le_bytes(data[12..16].try_into().unwrap()), CONTRACT_VERSION);
    assert_eq!(u64::from_le_bytes(data[16..24].try_into().unwrap()), 5);
    // Its source map follows it.
    assert_eq!(u32::from_le_bytes(data[24..28].try_into().unwrap()), 32);
}

#[test]
fn bfrt_run_checked_refuses_another_tape() {
    check_c_caller(0);
}

/// Code built with a left margin moves left of where it starts: the
/// checked run gives it the margin its contract records.
#[test]
fn bfrt_run_checked_runs_with_the_recorded_margin() {
    check_c_caller(7);
}

/// tests/c/contract.c linked with HELLO's object, built with `margin`.
fn check_c_caller(margin: usize) {
    let dir = tempdir();
    let d = dir.path();
    let obj = hello_object(d, 4096, margin);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = d.join("contract");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(cc)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("runtime-c"))
        .arg(root.join("tests/c/contract.c"))
        .arg(root.join("runtime-c/bfrt.c"))
        .arg(&obj)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {}", String::from_utf8_lossy(&out.stderr));

    let refused = run(Command::new(&exe).arg("65536"), b"", TIMEOUT);
    assert!(refused.exited(2), "65536 cells: {}", refused.summary());
    assert_eq!(refused.stdout, b"", "nothing ran");
    assert_eq!(
        refused.stderr_text(),
        "error: contract mismatch: the program was compiled for a tape of 4096 cells, not 65536\n"
    );
    for args in [&["4096"][..], &[]] {
        let ran = run(Command::new(&exe).args(args), b"", TIMEOUT);
        assert!(ran.exited(0), "{args:?}: {}", ran.summary());
        assert_eq!(ran.stdout, b"Hi\n", "{args:?}");
    }
}

/// An executable's main checks too, and passes: it is linked with the tape
/// size the object was built for.
#[test]
fn executables_run_checked() {
    let dir = tempdir();
    let src = write_file(dir.path(), "hello.b", HELLO.as_bytes());
    let exe = dir.path().join("hello");
    let got = run(bfc_cmd(["--tape-size", "1000", "-o"]).arg(&exe).arg(&src), b"", TIMEOUT);
    assert!(got.exited(0), "build: {}", got.summary());
    let ran = run(&mut Command::new(&exe), b"", TIMEOUT);
    assert!(ran.exited(0) && ran.stdout == b"Hi\n", "{}", ran.summary());
}
