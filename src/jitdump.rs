//! `--jitdump`: perf's jitdump file of the JIT's code, for `perf inject
//! --jit`, which turns each piece of code into a small ELF file with its
//! bytes and a line table, so that `perf report` names the program's loops
//! and `perf annotate` shows the instructions under their `.b` lines (a
//! perf map, `perfmap`, gives names only).
//!
//! The format is perf's (tools/perf/Documentation/jitdump-specification.txt
//! in Linux): a header, then records; each piece of code is a
//! `JIT_CODE_DEBUG_INFO` record (address to line) followed by a
//! `JIT_CODE_LOAD` record (address, name, bytes). perf finds the file
//! through the process's mapping of it, so `Jitdump` keeps it mapped
//! (readable and executable, never writable: perf only looks for the
//! executable mapping) until the run ends. Timestamps are
//! `CLOCK_MONOTONIC`'s, which `perf record -k 1` uses too.
//!
//! Owns the format and the file; the pieces are `perfmap`'s, the lines
//! `linetable`'s.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::ptr;

use crate::linetable::LineTable;
use crate::perfmap::Symbol;

const MAGIC: u32 = 0x4A69_5444;
const VERSION: u32 = 1;
const HEADER_SIZE: u32 = 40;
const EM_X86_64: u32 = 62;
const JIT_CODE_LOAD: u32 = 0;
const JIT_CODE_DEBUG_INFO: u32 = 2;
const JIT_CODE_CLOSE: u32 = 3;

/// Where the file goes: `$JITDUMPDIR` (the variable perf's own Java agent
/// reads), else the temporary directory.
pub fn path() -> PathBuf {
    let dir = std::env::var_os("JITDUMPDIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    dir.join(format!("jit-{}.dump", std::process::id()))
}

/// What a jitdump says of one run's code.
pub struct Code<'a> {
    /// Its pieces, non-overlapping, in order (`perfmap::symbols`).
    pub symbols: &'a [Symbol],
    pub lines: &'a LineTable,
    /// The code's bytes (without its data), and where they are in memory.
    pub bytes: &'a [u8],
    pub base: u64,
    /// The source's name, for the line table.
    pub file: &'a str,
}

/// The file's bytes, each record stamped by `now` (nanoseconds).
pub fn render(code: &Code, pid: u32, tid: u32, mut now: impl FnMut() -> u64) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [MAGIC, VERSION, HEADER_SIZE, EM_X86_64, 0, pid] {
        out.extend(word.to_le_bytes());
    }
    out.extend(now().to_le_bytes());
    out.extend(0u64.to_le_bytes()); // flags
    for (index, symbol) in code.symbols.iter().enumerate() {
        let debug = debug_info(code, symbol);
        record(&mut out, JIT_CODE_DEBUG_INFO, now(), &debug);
        record(&mut out, JIT_CODE_LOAD, now(), &code_load(code, symbol, index as u64, pid, tid));
    }
    record(&mut out, JIT_CODE_CLOSE, now(), &[]);
    out
}

fn record(out: &mut Vec<u8>, id: u32, timestamp: u64, body: &[u8]) {
    out.extend(id.to_le_bytes());
    out.extend((16 + body.len() as u32).to_le_bytes());
    out.extend(timestamp.to_le_bytes());
    out.extend(body);
}

fn code_load(code: &Code, symbol: &Symbol, index: u64, pid: u32, tid: u32) -> Vec<u8> {
    let address = code.base + symbol.start as u64;
    let mut body = Vec::new();
    body.extend(pid.to_le_bytes());
    body.extend(tid.to_le_bytes());
    for word in [address, address, symbol.size as u64, index] {
        body.extend(word.to_le_bytes());
    }
    body.extend(symbol.name.as_bytes());
    body.push(0);
    body.extend(&code.bytes[symbol.start..symbol.start + symbol.size]);
    body
}

/// The line of each address of `symbol` where one starts: the row in
/// force at its start, then every row inside it.
fn debug_info(code: &Code, symbol: &Symbol) -> Vec<u8> {
    // The exits and helpers after the last command's code have no line.
    let (start, end) = (symbol.start, (symbol.start + symbol.size).min(code.lines.end));
    let rows = &code.lines.rows;
    let first = rows.partition_point(|row| row.address <= start).saturating_sub(1);
    let entries: Vec<(usize, usize)> = match start < end {
        true => rows[first..]
            .iter()
            .take_while(|row| row.address < end)
            .map(|row| (row.address.max(start), row.pos.line))
            .collect(),
        false => Vec::new(),
    };
    let mut body = Vec::new();
    body.extend((code.base + start as u64).to_le_bytes());
    body.extend((entries.len() as u64).to_le_bytes());
    for (address, line) in entries {
        body.extend((code.base + address as u64).to_le_bytes());
        body.extend((line as u32).to_le_bytes());
        body.extend(0u32.to_le_bytes()); // discriminator
        body.extend(code.file.as_bytes());
        body.push(0);
    }
    body
}

/// The written file, mapped for perf to see, until dropped.
pub struct Jitdump {
    map: *mut libc::c_void,
    len: usize,
    _file: File,
}

/// Writes the jitdump of `code` to `path()` and maps it.
pub fn write(code: &Code) -> io::Result<Jitdump> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as u32;
    let bytes = render(code, std::process::id(), tid, monotonic_ns);
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path())?;
    file.write_all(&bytes)?;
    let len = crate::jit::page_size();
    // SAFETY: a new private mapping of our own file, never written
    // through, only there for perf to see (the specification asks for an
    // executable mapping).
    let map = unsafe {
        libc::mmap(ptr::null_mut(), len, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_PRIVATE, file.as_raw_fd(), 0)
    };
    if map == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(Jitdump { map, len, _file: file })
}

impl Drop for Jitdump {
    fn drop(&mut self) {
        // SAFETY: our own mapping, which nothing reads.
        unsafe { libc::munmap(self.map, self.len) };
    }
}

fn monotonic_ns() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Pos;
    use crate::linetable::Row;

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn each_piece_has_its_lines_then_its_code() {
        let row = |address, line| Row { address, offset: 0, pos: Pos { line, col: 1 } };
        let lines = LineTable { rows: vec![row(0, 1), row(4, 2), row(10, 3)], end: 12 };
        let symbols = [
            Symbol { start: 0, size: 6, name: "bf:p.b".into() },
            Symbol { start: 6, size: 8, name: "bf:p.b:3:1 loop".into() },
        ];
        let bytes: Vec<u8> = (0..14).collect();
        let code = Code { symbols: &symbols, lines: &lines, bytes: &bytes, base: 0x1000, file: "p.b" };
        let mut clock = 100;
        let out = render(&code, 7, 8, || {
            clock += 1;
            clock
        });
        assert_eq!((u32_at(&out, 0), u32_at(&out, 12), u32_at(&out, 20)), (MAGIC, EM_X86_64, 7));
        let mut at = HEADER_SIZE as usize;
        let mut records = Vec::new();
        while at < out.len() {
            let (id, size) = (u32_at(&out, at), u32_at(&out, at + 4) as usize);
            records.push((id, out[at + 16..at + size].to_vec()));
            at += size;
        }
        let ids: Vec<u32> = records.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [JIT_CODE_DEBUG_INFO, JIT_CODE_LOAD, JIT_CODE_DEBUG_INFO, JIT_CODE_LOAD, JIT_CODE_CLOSE]);
        // The second piece: the row in force at its start (line 2 from 6),
        // then line 3 from 10; the exits from 12 on have no line.
        let debug = &records[2].1;
        assert_eq!((u64_at(debug, 0), u64_at(debug, 8)), (0x1006, 2));
        let entry = 16;
        assert_eq!((u64_at(debug, entry), u32_at(debug, entry + 8)), (0x1006, 2));
        let entry = entry + 16 + "p.b\0".len();
        assert_eq!((u64_at(debug, entry), u32_at(debug, entry + 8)), (0x100a, 3));
        let load = &records[3].1;
        assert_eq!((u64_at(load, 8), u64_at(load, 24), u64_at(load, 32)), (0x1006, 8, 1));
        let name_end = 40 + "bf:p.b:3:1 loop\0".len();
        assert_eq!(&load[40..name_end], b"bf:p.b:3:1 loop\0");
        assert_eq!(&load[name_end..], &bytes[6..14]);
    }
}
