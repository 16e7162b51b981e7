//! `--jitdump`: perf's jitdump file (`$JITDUMPDIR/jit-PID.dump`), read
//! back with a parser that is not bfc's (the `linux-perf-data` crate) while
//! the program waits for input: the code's pieces in order, each with its
//! lines before it, its bytes those of `bfc -c`, the file mapped for perf
//! to find. Then real perf, when it can record here: `perf inject --jit`
//! and `perf report --sort srcline` show the program's lines.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use linux_perf_data::jitdump::{JitDumpReader, JitDumpRecord};
use object::{Object, ObjectSection};

use common::{bfc, corpus_dir, echo_and_end, have_tool, spawn_waiting_jit, tempdir, write_file};

/// Two loops that stay loops when optimised, on lines 1 and 2; the first
/// waits for input.
const PROGRAM: &[u8] = b"+++[>,.<-]\n  ,[.,]";

/// A piece of code as the dump has it: address, name, bytes, and the lines
/// of its debug-info record (address, line, file).
struct Piece {
    address: u64,
    name: String,
    bytes: Vec<u8>,
    lines: Vec<(u64, u32, String)>,
}

fn read_dump(path: &Path, pid: u32) -> Vec<Piece> {
    let mut reader = JitDumpReader::new(std::fs::File::open(path).expect("the dump")).expect("a jitdump header");
    let header = reader.header();
    // 0x4A695444 ("JiTD") as a little-endian word.
    assert_eq!((&header.magic, header.version, header.elf_machine_arch, header.pid), (b"DTiJ", 1, 62, pid));
    let mut pieces = Vec::new();
    let mut lines = None;
    let text = |raw: linux_perf_data::linux_perf_event_reader::RawData| {
        String::from_utf8(raw.as_slice().to_vec()).expect("UTF-8")
    };
    while let Some(record) = reader.next_record().expect("a record") {
        match record.parse().expect("a known record") {
            JitDumpRecord::CodeDebugInfo(debug) => {
                assert!(lines.is_none(), "two debug records for one piece");
                let entries = debug.entries.iter().map(|e| (e.code_addr, e.line, text(e.file_path)));
                lines = Some((debug.code_addr, entries.collect::<Vec<_>>()));
            }
            JitDumpRecord::CodeLoad(load) => {
                assert_eq!((load.pid, load.vma), (pid, load.code_addr));
                assert_eq!(load.code_index, pieces.len() as u64);
                let (at, lines) = lines.take().expect("each piece's lines come before it");
                assert_eq!(at, load.code_addr);
                let (name, bytes) = (text(load.function_name), load.code_bytes.as_slice().to_vec());
                pieces.push(Piece { address: load.code_addr, name, bytes, lines });
            }
            JitDumpRecord::CodeClose => break,
            _ => panic!("an unexpected record"),
        }
    }
    pieces
}

/// The dump, read while `bfc --jit --jitdump p.b` waits for input, and
/// the executable mappings of that process (start, end, file).
fn dump_of_a_waiting_run(dir: &Path) -> (Vec<Piece>, String) {
    let child = spawn_waiting_jit(dir, "--jitdump");
    let pid = child.id();
    let path = dir.join(format!("jit-{pid}.dump"));
    let started = Instant::now();
    // Written and mapped before the code runs, which then waits.
    let maps = loop {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        if maps.contains(&format!("jit-{pid}.dump")) {
            break maps;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{} never mapped", path.display());
        std::thread::sleep(Duration::from_millis(10));
    };
    let pieces = read_dump(&path, pid);
    echo_and_end(child);
    (pieces, maps)
}

#[test]
fn the_dump_has_each_piece_with_its_lines_and_bytes() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", PROGRAM);
    let (pieces, maps) = dump_of_a_waiting_run(dir.path());
    // Mapped executable, not writable: perf looks for that mapping.
    let line = maps.lines().find(|l| l.ends_with(".dump")).expect("the dump's mapping");
    let perms = line.split_whitespace().nth(1).expect("permissions");
    assert!(perms.starts_with("r-x"), "{line}");

    let names: Vec<&str> = pieces.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"bf:p.b:1:4 loop") && names.contains(&"bf:p.b:2:4 loop"), "{names:?}");
    // One run of code, in order, in the JIT's executable memory.
    assert!(pieces.windows(2).all(|w| w[0].address + w[0].bytes.len() as u64 == w[1].address), "{names:?}");
    let (lo, hi) = (pieces[0].address, pieces.last().map(|p| p.address + p.bytes.len() as u64).unwrap());
    let executable = maps.lines().filter(|l| l.split_whitespace().nth(1).is_some_and(|p| p.contains('x')));
    let in_code = executable.filter_map(|l| l.split_whitespace().next()?.split_once('-')).any(|(start, end)| {
        u64::from_str_radix(start, 16).unwrap() <= lo && hi <= u64::from_str_radix(end, 16).unwrap()
    });
    assert!(in_code, "{lo:x}..{hi:x} not in an executable mapping:\n{maps}");

    // The bytes are the code of `bfc -c` (the JIT and objects share them).
    let out = Command::new(bfc())
        .current_dir(dir.path())
        .args(["-c", "--eval-steps", "0", "--eof", "zero", "p.b"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let object = std::fs::read(dir.path().join("p.o")).unwrap();
    let object = object::File::parse(&*object).unwrap();
    let text = object.section_by_name(".text").unwrap().data().unwrap().to_vec();
    let dumped: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.clone()).collect();
    assert!(!dumped.is_empty() && text.starts_with(&dumped), "the dumped code is not bfc -c's");

    // Lines: each loop's piece starts on its own line, of p.b.
    for (name, line) in [("bf:p.b:1:4 loop", 1), ("bf:p.b:2:4 loop", 2)] {
        let piece = pieces.iter().find(|p| p.name == name).unwrap();
        assert_eq!(piece.lines.first().map(|l| (l.0, l.1, l.2.as_str())), Some((piece.address, line, "p.b")), "{name}");
        let end = piece.address + piece.bytes.len() as u64;
        assert!(piece.lines.windows(2).all(|w| w[0].0 < w[1].0), "{name}: lines out of order");
        assert!(piece.lines.iter().all(|l| (piece.address..end).contains(&l.0)), "{name}: a line outside it");
    }
}

#[test]
fn no_dump_unless_asked() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", b",[.,]");
    let mut run = Command::new(bfc());
    let out = run.current_dir(dir.path()).env("JITDUMPDIR", dir.path()).args(["--jit", "p.b"]);
    let out = out.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success());
    assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".dump")));
    // Only with --jit.
    let out = Command::new(bfc()).current_dir(dir.path()).args(["--interp", "--jitdump", "p.b"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// perf record, perf inject --jit, perf report: samples of mandelbrot's
/// code are attributed to lines of mandelbrot.b. Skipped where perf is
/// missing (required by CI) or may not record here (perf_event_paranoid,
/// or a sandbox without perf_event_open).
#[test]
fn perf_shows_the_programs_lines() {
    if !have_tool("perf") {
        return;
    }
    let dir = tempdir();
    let source = corpus_dir().join("progs/mandelbrot.b");
    let data = dir.path().join("perf.data");
    let record = Command::new("perf")
        .env("JITDUMPDIR", dir.path())
        .args(["record", "-k", "1", "-N", "-q", "-o"])
        .arg(&data)
        .arg("--")
        .arg(bfc())
        .args(["--jit", "--jitdump"])
        .arg(&source)
        .stdout(Stdio::null())
        .output()
        .expect("perf runs");
    if !record.status.success() {
        eprintln!("note: perf cannot record here, skipping: {}", String::from_utf8_lossy(&record.stderr));
        return;
    }
    let jit_data = dir.path().join("perf.jit.data");
    let perf = |args: &[&str]| {
        let out = Command::new("perf").current_dir(dir.path()).args(args).output().expect("perf runs");
        assert!(out.status.success(), "perf {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    perf(&["inject", "--jit", "-i", data.to_str().unwrap(), "-o", jit_data.to_str().unwrap()]);
    let report = perf(&["report", "-i", jit_data.to_str().unwrap(), "--stdio", "--sort", "srcline"]);
    let lines = report.lines().filter(|l| l.contains("mandelbrot.b:")).count();
    assert!(lines >= 5, "perf names fewer than 5 lines of mandelbrot.b:\n{report}");
}
