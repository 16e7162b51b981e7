//! Scans (`[>]`, `[<<<]`, ...): one cell at a time, unrolled, or 16 at a
//! time for stride 1; and scans back that skip what the scan out passed
//! (`scan_return`).

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::{CellInst, Gen};
use crate::code::rt_offset as rt;
use crate::ir::{Op, Program};

/// Cells a strided scan tests per loop iteration.
pub(super) const SCAN_UNROLL: usize = 4;

/// A scan back to where a scan started (`[>>>]` ... `[<<<]`): the first
/// scan passed only non-zero cells from where it started to the zero it
/// stopped at, so the second need not pass them again.
#[derive(Clone, Copy)]
pub(super) struct ScanReturn {
    /// Index of the scan back.
    pub(super) at: usize,
    /// Whether it may start behind where the first scan started, where it
    /// knows nothing (the pointer is compared with that start at run time).
    pub(super) compare: bool,
}

/// For the scan at `i`, the later scan back along the same cells that can
/// skip what this one passed: `[>>>]` (stops at Z, having passed only
/// non-zero cells from where it started, P), straight-line code that moves
/// the pointer to L and writes no cell the way back passes between L and
/// P, except to set it non-zero, then `[<<<]`. From L at or after P, that
/// scan passes the same non-zero cells and goes on from the one before P;
/// so it jumps there. Cells from Z on are not known: those between Z and L
/// the code must set non-zero. No I/O in between: it may call the runtime,
/// which may change the register that holds P.
pub(super) fn scan_return(program: &Program, i: usize) -> Option<ScanReturn> {
    let Op::Scan { stride } = program.insts[i].op else { return None };
    let (dir, step) = (stride.signum() as i64, stride.unsigned_abs() as i64);
    // Offsets from Z, counted along the first scan's direction: the last
    // write to each, and whether it set a non-zero value.
    let mut written: Vec<(i64, bool)> = Vec::new();
    let mut moved = 0i64;
    for (j, inst) in program.insts.iter().enumerate().skip(i + 1) {
        match inst.op {
            Op::Move(d) => moved += d as i64 * dir,
            Op::Set { off, val } => written.push((moved + off as i64 * dir, val != 0)),
            Op::Add { val: 0, .. } => {}
            Op::Add { off, .. } | Op::AddMul { off, .. } => written.push((moved + off as i64 * dir, false)),
            // L is `moved` from Z; the way back passes L, L - step, ...:
            // the cells the first scan passed if `moved` is a whole number
            // of steps.
            Op::Scan { stride: back } if back == -stride && moved.rem_euclid(step) == 0 => {
                let passed = |u: i64| u <= moved && u.rem_euclid(step) == 0;
                let last_write = |u: i64| written.iter().rev().find(|w| w.0 == u).map(|w| w.1);
                let spoiled = written.iter().any(|&(u, _)| passed(u) && last_write(u) == Some(false));
                // From Z to L, every cell passed must be set non-zero.
                let unknown = (0..=moved).filter(|&u| passed(u)).any(|u| last_write(u) != Some(true));
                return (!spoiled && !unknown).then_some(ScanReturn { at: j, compare: moved < 0 });
            }
            _ => return None,
        }
    }
    None
}

impl Gen {
    /// Before the scan back of a `ScanReturn` (stride `stride`): where the
    /// first scan started, or past it, jump to the cell before that start.
    pub(super) fn resume_scan(&mut self, stride: i32, compare: bool) {
        let behind = self.ops.new_dynamic_label();
        if compare {
            // `stride` runs back towards the first scan's start: the
            // pointer is behind it if it is already past it that way.
            asm!(self.ops; cmp a_ptr, a_scan_start);
            if stride < 0 {
                asm!(self.ops; jb =>behind);
            } else {
                asm!(self.ops; ja =>behind);
            }
        }
        // The first scan's stride is `-stride`: the cell before its start.
        asm!(self.ops; lea a_ptr, [a_scan_start + stride]; =>behind);
        // That cell is `stride` from the start, which the first scan touched.
        self.unchecked_shift = self.unchecked_shift.max(stride.unsigned_abs() as u64);
    }

    pub(super) fn emit_scan(&mut self, stride: i32) {
        let done = self.ops.new_dynamic_label();
        match stride {
            1 => self.emit_vector_scan_right(done),
            -1 => self.emit_vector_scan_left(done),
            _ => {}
        }
        // One cell at a time: strides other than 1, and near the tape's ends.
        // Unrolled: one taken branch per SCAN_UNROLL cells (mandelbrot, whose
        // scans of stride 9 are a quarter of its work: 0.67 s -> 0.59 s
        // unrolled twice), and one pointer step: the cells between are
        // compared at their offsets, each found one moving the pointer to
        // itself on the way out.
        self.touch(0);
        asm!(self.ops
            ; cmp BYTE [a_ptr], 0
            ; je =>done
        );
        let again = self.ops.new_dynamic_label();
        let found: Vec<DynamicLabel> = (1..SCAN_UNROLL).map(|_| self.ops.new_dynamic_label()).collect();
        asm!(self.ops; =>again);
        for (k, &at) in found.iter().enumerate() {
            let off = stride * (k as i32 + 1);
            // The cell before was touched: this one is |stride| from it.
            self.touch_within(off, stride.unsigned_abs() as u64);
            self.cell(CellInst::CmpZero, off);
            asm!(self.ops; je =>at);
        }
        let step = stride * SCAN_UNROLL as i32;
        self.move_ptr(step);
        self.unchecked_shift = stride.unsigned_abs() as u64;
        self.touch(0);
        asm!(self.ops; cmp BYTE [a_ptr], 0; jne =>again; jmp =>done);
        for (k, &at) in found.iter().enumerate() {
            asm!(self.ops; =>at);
            self.move_ptr(stride * (k as i32 + 1));
            if k + 2 < SCAN_UNROLL {
                asm!(self.ops; jmp =>done);
            }
        }
        asm!(self.ops; =>done);
        self.unchecked_shift = 0;
    }

    /// `[>]` 16 cells at a time (SSE2, which every x86-64 has), while the
    /// 16 cells are all on the tape; then the one-at-a-time loop that
    /// follows takes over (and fails where the scan leaves the tape).
    fn emit_vector_scan_right(&mut self, done: DynamicLabel) {
        asm!(self.ops
            ; pxor xmm1, xmm1
            ; block:
            ; cmp a_ptr, a_tape
            ; jb >cells
            ; lea rdx, [a_ptr + 16]
            ; cmp rdx, [a_rt + rt::TAPE_END]
            ; ja >cells
            ; movdqu xmm0, [a_ptr]
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
            ; test eax, eax
            ; jnz >found
            ; add a_ptr, 16
            ; jmp <block
            ; found:
            ; bsf eax, eax // the first zero cell
            ; add a_ptr, rax
            ; jmp =>done
            ; cells:
        );
    }

    /// `[<]` 16 cells at a time; see `emit_vector_scan_right`.
    fn emit_vector_scan_left(&mut self, done: DynamicLabel) {
        asm!(self.ops
            ; pxor xmm1, xmm1
            ; block:
            ; lea rdx, [a_ptr - 15]
            ; cmp rdx, a_tape
            ; jb >cells
            ; cmp a_ptr, [a_rt + rt::TAPE_END]
            ; jae >cells
            ; movdqu xmm0, [rdx]
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
            ; test eax, eax
            ; jnz >found
            ; sub a_ptr, 16
            ; jmp <block
            ; found:
            ; bsr eax, eax // the last zero cell before the pointer
            ; lea a_ptr, [rdx + rax]
            ; jmp =>done
            ; cells:
        );
    }
}
