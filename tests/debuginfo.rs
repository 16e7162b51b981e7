//! `-g`: the debug info of objects and executables, read by the real
//! tools: readelf lists the `.b` file and its lines, addr2line names the
//! line of an address in the code, gdb stops at `break prog.b:LINE` and
//! steps to another line.
//!
//! A missing tool skips its test with a note, except under CI (`CI`) or
//! with `BFC_REQUIRE_TOOLS=1`, where it fails: `.ci/run` installs them.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bfc, have_tool as have, tempdir, write_file};

/// Counts 5 down, adding 2 to the next cell each time, and prints that
/// cell (10, a newline); reads nothing. At -O0 every command is code of
/// its own, so every line has rows.
const PROGRAM: &[u8] = b"+++++\n[\n  >++\n  <-\n]\n>.\n";

/// Runs `tool` with `args` in `dir`; its stdout (stderr after it).
fn output(dir: &Path, tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).current_dir(dir).args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `bfc ARGS` in `dir`, which must succeed.
fn build(dir: &Path, args: &[&str]) {
    let out = Command::new(bfc()).current_dir(dir).args(args).output().expect("bfc runs");
    assert!(out.status.success(), "bfc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Where the code of the first command on `line` of `source` starts, as
/// an offset from the entry (what the line table says, at -O0).
fn offset_of_line(source: &[u8], line: usize) -> usize {
    let options = bfc::Options { level: bfc::opt::Level::O0, ..bfc::Options::default() };
    let program = bfc::front_end("prog.b", source, &options).unwrap();
    let code = bfc::x64::compile(&program, bfc::x64::Target::new(options.eof, options.tape_cells));
    let table = bfc::linetable::LineTable::new(&code.positions, source);
    table.rows.iter().find(|row| row.pos.line == line).expect("the line has code").address
}

#[test]
fn readelf_lists_the_source_file_and_its_lines() {
    if !have("readelf") {
        return;
    }
    let dir = tempdir();
    write_file(dir.path(), "prog.b", PROGRAM);
    build(dir.path(), &["-g", "-O0", "-c", "prog.b", "-o", "prog.o"]);
    let raw = output(dir.path(), "readelf", &["--debug-dump=line", "prog.o"]);
    assert!(raw.contains("prog.b"), "the file table names prog.b:\n{raw}");
    let decoded = output(dir.path(), "readelf", &["--debug-dump=decodedline", "prog.o"]);
    // "prog.b   LINE   ADDRESS   [VIEW]   x"
    let lines: Vec<usize> = decoded
        .lines()
        .filter(|l| l.starts_with("prog.b "))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    for line in 1..=6 {
        assert!(lines.contains(&line), "line {line} has no row:\n{decoded}");
    }
    let info = output(dir.path(), "readelf", &["--debug-dump=info", "prog.o"]);
    for needle in ["DW_TAG_compile_unit", "DW_AT_name        : prog.b", "bfc ", "DW_TAG_subprogram", "bf_main"] {
        assert!(info.contains(needle), "no {needle:?} in .debug_info:\n{info}");
    }
    // Without -g: none of it.
    build(dir.path(), &["-O0", "-c", "prog.b", "-o", "plain.o"]);
    let plain = output(dir.path(), "readelf", &["-S", "plain.o"]);
    assert!(!plain.contains(".debug_"), "debug sections without -g:\n{plain}");
}

#[test]
fn addr2line_names_the_line_of_an_address_in_the_code() {
    if !have("addr2line") || !have("nm") {
        return;
    }
    let dir = tempdir();
    write_file(dir.path(), "prog.b", PROGRAM);
    build(dir.path(), &["-g", "-O0", "-o", "prog", "prog.b"]);
    let symbols = output(dir.path(), "nm", &["prog"]);
    let entry = symbols
        .lines()
        .find_map(|l| l.strip_suffix(" T bf_main").map(|hex| u64::from_str_radix(hex, 16).expect("hex")))
        .unwrap_or_else(|| panic!("no bf_main in nm's list:\n{symbols}"));
    for line in [3, 4, 6] {
        // An address inside the line's code, not only its start.
        let address = format!("{:x}", entry + offset_of_line(PROGRAM, line) as u64 + 1);
        let said = output(dir.path(), "addr2line", &["-e", "prog", &address]);
        assert!(said.trim_end().ends_with(&format!("prog.b:{line}")), "addr2line {address}: {said}");
    }
}

/// gdb in batch mode on `exe` in `dir`, running the program on an empty
/// stdin, with `commands`; everything it said.
fn gdb(dir: &Path, exe: &str, commands: &[&str]) -> String {
    let mut args = vec!["-nx", "-batch", "-ex", "set debuginfod enabled off", "-ex", "set confirm off"];
    for command in commands {
        args.extend(["-ex", command]);
    }
    args.push(exe);
    let out = Command::new("gdb").current_dir(dir).args(&args).output().expect("gdb runs");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn gdb_breaks_at_a_source_line_and_steps_to_the_next() {
    if !have("gdb") {
        return;
    }
    let dir = tempdir();
    write_file(dir.path(), "prog.b", PROGRAM);
    build(dir.path(), &["-g", "-O0", "-o", "prog", "prog.b"]);
    let said =
        gdb(dir.path(), "./prog", &["break prog.b:3", "run </dev/null", "info line *$pc", "next", "info line *$pc"]);
    assert!(said.contains("Breakpoint 1 at"), "gdb set no breakpoint on prog.b:3:\n{said}");
    assert!(said.contains("Breakpoint 1, bf_main () at prog.b:3"), "gdb did not stop at prog.b:3:\n{said}");
    let lines: Vec<&str> = said.lines().filter(|l| l.starts_with("Line ")).collect();
    assert!(lines.len() == 2, "two `info line`s:\n{said}");
    assert!(lines[0].starts_with("Line 3 of \"prog.b\""), "stopped at {}:\n{said}", lines[0]);
    assert!(lines[1].starts_with("Line 4 of \"prog.b\""), "`next` went to {}:\n{said}", lines[1]);
}

#[test]
fn gdb_breaks_at_a_source_line_of_optimised_code() {
    if !have("gdb") {
        return;
    }
    let dir = tempdir();
    // Reads first, so compile-time execution leaves the rest alone; the
    // loop on line 3 becomes a multiply.
    write_file(dir.path(), "prog.b", b",\n+++++\n[>++<-]\n>.\n");
    build(dir.path(), &["-g", "-O2", "-o", "prog", "prog.b"]);
    let said = gdb(dir.path(), "./prog", &["break prog.b:3", "run </dev/null", "bt", "next", "info line *$pc"]);
    assert!(said.contains("Breakpoint 1, bf_main () at prog.b:3"), "gdb did not stop at prog.b:3:\n{said}");
    assert!(said.contains("#0  bf_main () at prog.b:3"), "the backtrace names the line:\n{said}");
    assert!(said.contains("Line 4 of \"prog.b\""), "`next` did not reach line 4:\n{said}");
}

#[test]
fn debug_info_is_for_objects_and_executables_only() {
    let dir = tempdir();
    write_file(dir.path(), "prog.b", PROGRAM);
    for mode in ["--jit", "--interp"] {
        let out = Command::new(bfc()).current_dir(dir.path()).args([mode, "-g", "prog.b"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "bfc {mode} -g: {stderr}");
        assert!(stderr.contains("-g") && stderr.contains(mode), "bfc {mode} -g: {stderr}");
        assert!(out.stdout.is_empty(), "bfc {mode} -g ran the program");
    }
}

#[test]
fn gdb_breaks_on_the_entry_at_the_first_command_after_the_setup() {
    if !have("gdb") {
        return;
    }
    let dir = tempdir();
    write_file(dir.path(), "prog.b", PROGRAM);
    build(dir.path(), &["-g", "-O0", "-o", "prog", "prog.b"]);
    let said = gdb(dir.path(), "./prog", &["break bf_main", "run </dev/null", "info line *$pc"]);
    assert!(said.contains("Breakpoint 1, bf_main () at prog.b:1"), "gdb did not stop at prog.b:1:\n{said}");
    let setup = offset_of_line(PROGRAM, 1);
    assert!(setup > 0, "the entry sets up registers before the first command");
    let want = "Line 1 of \"prog.b\" starts at address";
    let line = said.lines().find(|l| l.starts_with(want)).unwrap_or_else(|| panic!("no `info line`:\n{said}"));
    assert!(line.contains(&format!("<bf_main+{setup}>")), "stopped before the first command: {line}");
}
