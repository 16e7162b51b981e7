//! The contract between the code generator and its two backends.
//!
//! `x64/` fills a [`CompiledCode`]; `jit.rs` runs it in memory and
//! `object.rs` writes it into an ELF object. This module knows neither dynasm
//! nor the object crate: what crosses it is plain bytes, position independent,
//! so the JIT and the object file hold the same code.
//!
//! It also mirrors the runtime interface of `runtime-c/bfrt.h` (the table of
//! function pointers generated code calls through). A test checks that the
//! two agree.

use crate::linetable::{LineTable, Row};

/// Machine code for one program: position-independent bytes plus where to
/// enter them. The entry has the signature of [`EntryFn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledCode {
    pub bytes: Vec<u8>,
    /// Offset of the entry point within `bytes`.
    pub entry: usize,
    /// Bytes of instructions, from the start: the fault pads' table
    /// (bfrt.h) and the program's data follow.
    pub code_len: usize,
    /// Where the code of each source command starts, in code order: what a
    /// tape error at a code address is reported at (see [`CodePosition`]).
    pub positions: Vec<CodePosition>,
    /// Bits of the cells the code works on (8, 16 or 32): the tape a host
    /// gives it holds `cells * cell_bits / 8` bytes.
    pub cell_bits: u32,
}

/// The code from byte `code` on (up to the next entry) is that of the
/// source command at byte offset `at`, until the next `CodePosition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePosition {
    pub code: u32,
    pub at: u32,
}

/// The last of `positions` (sorted by code) at or before `code`.
pub fn position_in(positions: &[CodePosition], code: usize) -> Option<u32> {
    let i = positions.partition_point(|p| p.code as usize <= code);
    i.checked_sub(1).map(|i| positions[i].at).filter(|&at| at != NO_POSITION)
}

/// `CodePosition::at` of code that stands for no command (the exits and
/// helpers after the program).
pub const NO_POSITION: u32 = u32::MAX;

/// Where a tape error happened: the cell touched (numbered from cell 0, the
/// one the program starts on) and the source offset of the command that
/// touched it, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapeFault {
    pub cell: i64,
    pub at: Option<u32>,
}

/// What a run of generated code ended with (`enum bf_status` in bfrt.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    TapeUnderflow = 1,
    TapeOverflow = 2,
    WriteError = 3,
    ReadError = 4,
    BrokenPipe = 5,
    /// The program was compiled for another tape or cell size than it was
    /// asked to run on: only `bfrt_run_checked` (bfrt.c) ends a run so,
    /// before it starts; generated code never returns it.
    ContractMismatch = 6,
}

impl Status {
    pub fn from_raw(raw: i32) -> Option<Status> {
        Some(match raw {
            0 => Status::Ok,
            1 => Status::TapeUnderflow,
            2 => Status::TapeOverflow,
            3 => Status::WriteError,
            4 => Status::ReadError,
            5 => Status::BrokenPipe,
            6 => Status::ContractMismatch,
            _ => return None,
        })
    }
}

/// `bf_runtime.read` results other than a byte.
pub const READ_EOF: i32 = -1;
pub const READ_FAILED: i32 = -2;

/// Bytes of inaccessible memory on each side of a guarded tape
/// (`BF_GUARD_BYTES`). An access within this distance of the tape faults.
pub const GUARD_BYTES: usize = 1 << 28;

/// Tape sizes that are a multiple of this are protected by guard pages;
/// others are checked explicitly by the generated code (`BF_TAPE_ALIGN`).
pub const TAPE_ALIGN: usize = 4096;

/// Bits of a cell (`BF_CELL_BITS`): the width code is compiled for unless
/// `--cell-bits` says otherwise, and the one plain `bfrt_run` runs
/// (`bfrt_run_checked` runs the width a contract records: 8, 16 or 32).
pub const CELL_BITS: u32 = 8;

/// The version of the interface of bfrt.h generated code is compiled for
/// (`BF_CONTRACT_VERSION`): this table's layout, the statuses, the
/// contract's own. Raised when one of them changes incompatibly.
pub const CONTRACT_VERSION: u32 = 3;

/// The contract of an object's entry `NAME` is the data symbol
/// `NAME_contract` (`BF_CONTRACT(name)`).
pub const CONTRACT_SUFFIX: &str = "_contract";

/// `struct bf_contract`: what code was compiled for, recorded beside it in
/// its object so that a C caller cannot run it on another tape by mistake
/// (the optimiser used the tape size and the margin, and a size that is a
/// multiple of `TAPE_ALIGN` makes the code rely on guard pages instead of
/// checks).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// Cells of the tape, the margin's included.
    pub tape_cells: u64,
    pub cell_bits: u32,
    pub version: u32,
    /// Of those, the cells left of where the program starts, cell 0
    /// (`--left-margin`).
    pub left_margin: u64,
    /// Byte offset from the contract to its [`SourceMap`] (0: none).
    pub source_map: u32,
    pub reserved: u32,
}

/// Bytes of a [`Contract`]; its source map, if any, follows it.
pub const CONTRACT_BYTES: usize = 32;

impl Contract {
    /// The contract of code compiled for a tape of `tape_cells` cells, the
    /// first `left_margin` of them left of cell 0.
    pub fn new(tape_cells: usize, left_margin: usize) -> Contract {
        Contract {
            tape_cells: tape_cells as u64,
            cell_bits: CELL_BITS,
            version: CONTRACT_VERSION,
            left_margin: left_margin as u64,
            source_map: 0,
            reserved: 0,
        }
    }

    /// The contract of code compiled for cells of `cell_bits` bits.
    pub fn with_cell_bits(self, cell_bits: u32) -> Contract {
        Contract { cell_bits, ..self }
    }

    /// Its bytes as C lays the struct out on x86-64.
    pub fn to_bytes(&self) -> [u8; CONTRACT_BYTES] {
        let mut bytes = [0; CONTRACT_BYTES];
        bytes[..8].copy_from_slice(&self.tape_cells.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.cell_bits.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.version.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.left_margin.to_le_bytes());
        bytes[24..28].copy_from_slice(&self.source_map.to_le_bytes());
        bytes[28..].copy_from_slice(&self.reserved.to_le_bytes());
        bytes
    }

    /// The contract's bytes followed by `map`'s, as an object holds them.
    pub fn with_source_map(mut self, map: &SourceMap) -> Vec<u8> {
        self.source_map = CONTRACT_BYTES as u32;
        let mut bytes = self.to_bytes().to_vec();
        bytes.extend(map.to_bytes());
        bytes
    }
}

/// `struct bf_source_map`: the [`CodePosition`]s of compiled code as file,
/// line and column, which an executable reports its tape errors at (it has
/// no source to look them up in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMap {
    pub file: String,
    /// (code offset, line, column), sorted by code offset; line 0: no
    /// command (the exits).
    pub rows: Vec<[u32; 3]>,
}

impl SourceMap {
    /// The rows of `table` (of code compiled from a source named `file`),
    /// then the exits' row.
    pub fn new(table: &LineTable, file: &str) -> SourceMap {
        let row = |r: &Row| [r.address as u32, r.pos.line as u32, r.pos.col as u32];
        let rows = table.rows.iter().map(row).chain([[table.end as u32, 0, 0]]).collect();
        SourceMap { file: file.to_string(), rows }
    }

    /// Its bytes as bfrt.h lays them out: rows, offset of the file name,
    /// the rows, the NUL-terminated name.
    pub fn to_bytes(&self) -> Vec<u8> {
        let name_at = 8 + 12 * self.rows.len();
        let mut bytes = Vec::with_capacity(name_at + self.file.len() + 1);
        bytes.extend((self.rows.len() as u32).to_le_bytes());
        bytes.extend((name_at as u32).to_le_bytes());
        for row in &self.rows {
            bytes.extend(row.iter().flat_map(|v| v.to_le_bytes()));
        }
        bytes.extend(self.file.bytes().filter(|&b| b != 0));
        bytes.push(0);
        bytes
    }
}

/// `bf_write_fn`: writes `len` bytes, returns a [`Status`] as i32.
pub type WriteFn = unsafe extern "C" fn(rt: *mut Runtime, buf: *const u8, len: usize) -> i32;
/// `bf_read_fn`: refills the input buffer (`in_cur..in_end`) and returns
/// its first byte (consumed), [`READ_EOF`] or [`READ_FAILED`].
pub type ReadFn = unsafe extern "C" fn(rt: *mut Runtime) -> i32;
/// `bf_dump_fn`: writes the dump of `#` (`host::dump_line`) for the pointer
/// `ptr` to stderr; returns a [`Status`] as i32 (output was flushed before).
pub type DumpFn = unsafe extern "C" fn(rt: *mut Runtime, ptr: *const u8) -> i32;
/// `bf_entry_fn`: the signature of every compiled program.
pub type EntryFn = unsafe extern "sysv64" fn(tape: *mut u8, rt: *mut Runtime) -> i32;

/// `struct bf_runtime`: the table generated code reaches the host through.
#[repr(C)]
#[derive(Debug)]
pub struct Runtime {
    pub out_buf: *mut u8,
    pub out_end: *mut u8,
    pub write: WriteFn,
    pub read: ReadFn,
    pub tape_start: *mut u8,
    pub tape_end: *mut u8,
    pub code_start: *const u8,
    pub code_end: *const u8,
    pub fault_resume: *const u8,
    pub host: *mut core::ffi::c_void,
    pub in_cur: *const u8,
    pub in_end: *const u8,
    pub fault_pc: *const u8,
    pub fault_addr: *const u8,
    pub dump: DumpFn,
    pub cell0: *mut u8,
}

/// Byte offsets of the [`Runtime`] fields, as generated code addresses them.
pub mod rt_offset {
    pub const OUT_BUF: i32 = 0;
    pub const OUT_END: i32 = 8;
    pub const WRITE: i32 = 16;
    pub const READ: i32 = 24;
    pub const TAPE_START: i32 = 32;
    pub const TAPE_END: i32 = 40;
    pub const CODE_START: i32 = 48;
    pub const CODE_END: i32 = 56;
    pub const FAULT_RESUME: i32 = 64;
    pub const IN_CUR: i32 = 80;
    pub const IN_END: i32 = 88;
    pub const FAULT_PC: i32 = 96;
    pub const FAULT_ADDR: i32 = 104;
    pub const DUMP: i32 = 112;
    pub const CELL0: i32 = 120;
}

/// The C header that declares this interface, embedded so that tests (and
/// the linker) use the very text that ships.
pub const BFRT_H: &str = include_str!("../runtime-c/bfrt.h");

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    /// Finds the `/* NN: ... */` offset comment of a field in bfrt.h.
    fn header_offset(field: &str) -> i32 {
        let line = BFRT_H
            .lines()
            .find(|l| l.contains(&format!("*{field};")) || l.contains(&format!(" {field};")))
            .unwrap_or_else(|| panic!("field {field} not in bfrt.h"));
        let comment = line.split("/*").nth(1).expect("offset comment");
        comment.split(':').next().unwrap().trim().parse().unwrap()
    }

    #[test]
    fn runtime_layout_matches_bfrt_h() {
        let fields = [
            ("out_buf", offset_of!(Runtime, out_buf), rt_offset::OUT_BUF),
            ("out_end", offset_of!(Runtime, out_end), rt_offset::OUT_END),
            ("write", offset_of!(Runtime, write), rt_offset::WRITE),
            ("read", offset_of!(Runtime, read), rt_offset::READ),
            ("tape_start", offset_of!(Runtime, tape_start), rt_offset::TAPE_START),
            ("tape_end", offset_of!(Runtime, tape_end), rt_offset::TAPE_END),
            ("code_start", offset_of!(Runtime, code_start), rt_offset::CODE_START),
            ("code_end", offset_of!(Runtime, code_end), rt_offset::CODE_END),
            ("fault_resume", offset_of!(Runtime, fault_resume), rt_offset::FAULT_RESUME),
            ("in_cur", offset_of!(Runtime, in_cur), rt_offset::IN_CUR),
            ("in_end", offset_of!(Runtime, in_end), rt_offset::IN_END),
            ("fault_pc", offset_of!(Runtime, fault_pc), rt_offset::FAULT_PC),
            ("fault_addr", offset_of!(Runtime, fault_addr), rt_offset::FAULT_ADDR),
            ("dump", offset_of!(Runtime, dump), rt_offset::DUMP),
            ("cell0", offset_of!(Runtime, cell0), rt_offset::CELL0),
        ];
        for (name, rust, used) in fields {
            assert_eq!(rust as i32, used, "{name}: Rust layout vs rt_offset");
            assert_eq!(header_offset(name), used, "{name}: bfrt.h vs rt_offset");
        }
        assert_eq!(std::mem::size_of::<Runtime>(), 128);
    }

    #[test]
    fn contract_layout_matches_bfrt_h() {
        let fields = [
            ("tape_cells", offset_of!(Contract, tape_cells)),
            ("cell_bits", offset_of!(Contract, cell_bits)),
            ("version", offset_of!(Contract, version)),
            ("left_margin", offset_of!(Contract, left_margin)),
            ("source_map", offset_of!(Contract, source_map)),
        ];
        for (name, rust) in fields {
            assert_eq!(header_offset(name), rust as i32, "{name}: bfrt.h vs Rust layout");
        }
        assert_eq!(std::mem::size_of::<Contract>(), CONTRACT_BYTES);
        assert!(BFRT_H.contains(&format!("#define BF_CELL_BITS {CELL_BITS}\n")));
        assert!(BFRT_H.contains(&format!("#define BF_CONTRACT_VERSION {CONTRACT_VERSION}\n")));
        assert!(BFRT_H.contains(&format!("#define BF_CONTRACT_(name) name##{CONTRACT_SUFFIX}\n")));
        let c = Contract::new(4096, 3);
        let bytes = c.to_bytes();
        assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()), 4096);
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 8);
        assert_eq!(u32::from_le_bytes(bytes[12..16].try_into().unwrap()), CONTRACT_VERSION);
        assert_eq!(u64::from_le_bytes(bytes[16..24].try_into().unwrap()), 3);
    }

    #[test]
    fn source_map_rows_are_lines_and_columns() {
        let positions = [(0, 0), (5, 3), (9, 4), (12, NO_POSITION)];
        let positions = positions.iter().map(|&(code, at)| CodePosition { code, at }).collect();
        let code = CompiledCode { bytes: vec![0; 16], entry: 0, code_len: 16, positions, cell_bits: 8 };
        let map = SourceMap::new(&LineTable::new(&code.positions, b"+++\n+<"), "a.b");
        assert_eq!(map.rows, vec![[0, 1, 1], [5, 1, 4], [9, 2, 1], [12, 0, 0]]);
        let bytes = map.to_bytes();
        assert_eq!(&bytes[..8], &[4, 0, 0, 0, 56, 0, 0, 0]);
        assert_eq!(&bytes[56..], b"a.b\0");
        assert_eq!(position_in(&code.positions, 4), Some(0));
        assert_eq!(position_in(&code.positions, 9), Some(4));
        assert_eq!(position_in(&code.positions, 13), None);
    }

    #[test]
    fn constants_match_bfrt_h() {
        assert!(BFRT_H.contains("#define BF_GUARD_BYTES ((size_t)1 << 28)"));
        assert_eq!(GUARD_BYTES, 1 << 28);
        assert!(BFRT_H.contains("#define BF_TAPE_ALIGN 4096"));
        assert!(BFRT_H.contains("#define BF_READ_EOF (-1)"));
        assert!(BFRT_H.contains("#define BF_READ_FAILED (-2)"));
        for (name, status) in [
            ("BF_OK", Status::Ok),
            ("BF_TAPE_UNDERFLOW", Status::TapeUnderflow),
            ("BF_TAPE_OVERFLOW", Status::TapeOverflow),
            ("BF_WRITE_ERROR", Status::WriteError),
            ("BF_READ_ERROR", Status::ReadError),
            ("BF_BROKEN_PIPE", Status::BrokenPipe),
            ("BF_CONTRACT_MISMATCH", Status::ContractMismatch),
        ] {
            assert!(BFRT_H.contains(&format!("{name} = {},", status as i32)), "{name} differs in bfrt.h");
        }
    }
}
