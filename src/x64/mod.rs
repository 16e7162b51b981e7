//! IR -> x86-64 machine code (System V), with dynasm. Nothing else.
//!
//! Two rooms, as in cranelift's x64 backend: `select` turns the optimised
//! IR into a `Plan`, plain data saying what form each loop, run and scan
//! takes (tested without an assembler); `emit` turns the plan into bytes
//! and decides nothing. This file has the entry points and the `Target`.
//!
//! The code is position independent and holds no absolute address: it
//! reaches the host only through the `bf_runtime` table it is given (see
//! `code.rs` and `runtime-c/bfrt.h`), so the same bytes run in the JIT and
//! in an object file.
//!
//! Register roles, for the whole function:
//!   rbx  data pointer (address of the current cell)
//!   r12  the runtime table
//!   r13  output cursor: where the next `.` byte goes
//!   r14  end of the output buffer
//!   r15  the tape's first cell (for explicit bounds checks): cell 0, or
//!        cell -N with a left margin of N cells
//!   rbp  frame pointer: exits and the fault handler restore rsp from it
//! and, where they are live (never across a call into the runtime):
//!   rsi, rdi, r8-r11  the cells of a loop that runs in registers, and
//!                     (but r11) of a run of arithmetic (`emit/registers.rs`)
//!   r11  where a scan or a walk started, for the scan back (`emit/scan.rs`)
//!   rsi  a switch's tables; r8, r9 a carry loop's bounds (`emit/switch.rs`)
//!   eax, ecx, edx     scratch; eax often holds a cell (`select::EaxCells`)
//!
//! Tape errors: the host surrounds the tape with `GUARD_BYTES` of
//! inaccessible memory, so an access that lands there faults and the host's
//! handler resumes at `fault_resume` with the status in eax. Accesses that
//! could land beyond the guard area, and every access when the tape size is
//! not page aligned (`checked`), are compared with the tape bounds instead.
//! Where the code touches cells in another order than the program, the
//! plan says why the error is the same (`ir::analysis`).

use crate::code::{CompiledCode, TAPE_ALIGN};
use crate::ir::analysis::Hull;
use crate::ir::{EofMode, Program};

mod emit;
mod select;

/// What the generated code must know about the run it will serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub eof: EofMode,
    /// Check every tape access explicitly instead of relying on guard pages.
    pub checked: bool,
    /// Bits of a cell: 8, or 16 or 32, for which selection makes every
    /// instruction plain and the emitter makes word and dword operations
    /// (`emit/wide.rs`).
    pub cell_bits: u32,
    /// Cells of the tape the code is built for (margin included): code
    /// that touches cells closer together than that in another order than
    /// the program makes the same tape error (`Hull::fails_alike_on`).
    pub tape_cells: usize,
}

impl Target {
    pub fn new(eof: EofMode, tape_cells: usize) -> Target {
        Target { eof, checked: !tape_cells.is_multiple_of(TAPE_ALIGN), cell_bits: 8, tape_cells }
    }

    /// Whether touching `cells` in another order than the program did, with
    /// nothing observable between, makes the same tape error on this
    /// target's tape.
    pub(crate) fn fails_alike(&self, cells: Hull) -> bool {
        cells.fails_alike_on(self.tape_cells)
    }

    /// This target with cells of `cell_bits` bits.
    pub fn with_cell_bits(self, cell_bits: u32) -> Target {
        Target { cell_bits, ..self }
    }

    /// Whether cells are wider than a byte.
    pub(crate) fn wide(&self) -> bool {
        self.cell_bits > 8
    }
}

/// Compiles `program` for `target`.
pub fn compile(program: &Program, target: Target) -> CompiledCode {
    compile_marked(program, target).0
}

/// Compiles `program` for `target`, and tells where in the code each
/// instruction of the program starts (the first copy, where the code
/// generator makes two), then where the code after the last one starts:
/// for listings and perf's map (`perfmap`).
pub fn compile_marked(program: &Program, target: Target) -> (CompiledCode, Vec<usize>) {
    compile_timed(program, target, &mut |_, _| {})
}

/// `compile_marked`, telling `stage` how long selection and emission took
/// (`--time-passes`).
pub fn compile_timed(
    program: &Program,
    target: Target,
    stage: &mut dyn FnMut(&str, std::time::Duration),
) -> (CompiledCode, Vec<usize>) {
    let start = std::time::Instant::now();
    let plan = select::select(program, target);
    stage("select", start.elapsed());
    let start = std::time::Instant::now();
    let made = emit::emit(&plan, program, target);
    stage("emit", start.elapsed());
    made
}
