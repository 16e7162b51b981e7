//! Scans (`[>]`, `[<<<]`, ..., and marker walks' scans for a value): one
//! cell at a time, unrolled, or for strides 1 to 4 the first cells one at
//! a time and then 16 bytes at a time; and the start of a scan kept for the
//! scan back that returns to it (`select::ScanForm`).

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::{CellInst, Emitter, FieldInst, Jump};
use crate::code::rt_offset as rt;
use crate::x64::select::{AddWalk, EaxCells, ScanForm};

/// Cells a strided scan tests per loop iteration.
const SCAN_UNROLL: usize = 4;

/// Scans of strides up to this search 16 bytes at a time (at least 4
/// cells of the scan in each).
const VECTOR_MAX_STRIDE: u32 = 4;

/// Which bytes of 16 at the pointer (going right) hold the cells of a scan
/// of `stride` (> 0), and how far the pointer steps past them.
fn vector_cells(stride: i32) -> (u32, i32) {
    let cells = 16 / stride;
    ((0..cells).fold(0, |mask, k| mask | 1 << (k * stride)), cells * stride)
}

/// Cells a scan of `stride` (1 to 4 either way) tests one at a time before
/// it searches 16 bytes at a time (`emit_scan_prefix`): 4, or 8 for a
/// stride whose 16-byte block holds no more cells than one round of the
/// unrolled one-at-a-time loop (stride 4: 4 cells, 4 tests and one taken
/// branch). There the search gains little on a short walk, while its first
/// load, over cells the program may have just written byte by byte, cannot
/// be forwarded from those stores and waits for them: collatz's `[>>>>]`
/// and `[<<<<]` over the digits it has just written, a few more than 4.
/// Blocks of strides 1 to 3 hold 16, 8 and 5 cells and repay the search
/// sooner: 8 cells for strides 2 and 3 too made counter's `[>>]` walks
/// 1.135x as long and impeccable's `[>>>]` 1.01x. Figures in
/// docs/codegen.md#scans.
fn scan_prefix(stride: i32) -> i32 {
    let block_cells = 16 / stride.abs();
    if block_cells as usize <= SCAN_UNROLL {
        2 * SCAN_UNROLL as i32
    } else {
        SCAN_UNROLL as i32
    }
}

impl Emitter {
    /// What a scan of `stride` does before it scans, as its form says: keep
    /// where it starts, or (a scan back) jump to the cell before where the
    /// scan out started, or past it.
    pub(super) fn scan_start(&mut self, stride: i32, form: ScanForm) {
        match form {
            ScanForm::Plain => {}
            ScanForm::KeepsStart => asm!(self.ops; mov a_scan_start, a_ptr),
            ScanForm::Returns { compare } => {
                // It resumes past cells the program tests again: the cells
                // it tests are the scan's later steps'.
                self.attribute(self.next_ats[self.current_inst()]);
                self.resume_scan(stride, compare)
            }
        }
    }

    /// Before a walk that a scan back returns along (`Step::WalkKeepsStart`):
    /// keep the cell it tests first, `test` from the pointer.
    pub(super) fn keep_scan_start(&mut self, test: i32) {
        match test {
            0 => asm!(self.ops; mov a_scan_start, a_ptr),
            _ => self.lea64(Rq::R11, Rq::RBX, test),
        }
    }

    /// Before a scan back (stride `stride`): where the first scan started,
    /// or past it, jump to the cell before that start. Behind that start
    /// (`compare`), it goes to `unresumed_scan`, the scan's own first test.
    fn resume_scan(&mut self, stride: i32, compare: bool) {
        if compare {
            let behind = self.ops.new_dynamic_label();
            // `stride` runs back towards the first scan's start: the
            // pointer is behind it if it is already past it that way.
            asm!(self.ops; cmp a_ptr, a_scan_start);
            if stride < 0 {
                self.jump(Jump::IfBelow, behind);
            } else {
                self.jump(Jump::IfAbove, behind);
            }
            self.unresumed_scan = Some(behind);
        }
        // The first scan's stride is `-stride`: the cell before its start.
        self.ptr_from(Rq::R11, stride);
        // That cell is `stride` from the start, which the first scan touched.
        self.unchecked_shift = self.unchecked_shift.max(stride.unsigned_abs() as u64);
    }

    /// A scan back that did not resume (`unresumed_scan`, placed off the
    /// scan's path, after its loop): its first cell is its own first
    /// step's, at the `[`; if that is not the value, the scan goes on from
    /// the next cell, `scan`, where every cell it tests is a later step's.
    fn unresumed_first_test(
        &mut self,
        behind: DynamicLabel,
        stride: i32,
        value: u8,
        shift: u64,
        ends: [DynamicLabel; 2],
    ) {
        let [scan, done] = ends;
        asm!(self.ops; =>behind);
        self.attribute(self.ats[self.current_inst()]);
        self.touch_within(0, shift);
        asm!(self.ops
            ; cmp BYTE [a_ptr], value as i8
        );
        self.jump(Jump::IfZero, done);
        self.move_ptr(stride);
        self.jump(Jump::Always, scan);
        self.attribute(self.next_ats[self.current_inst()]);
    }

    /// A scan of `stride` for a cell holding `value`.
    pub(super) fn emit_scan(&mut self, stride: i32, value: u8) {
        let (scan, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let (unresumed, shift) = (self.unresumed_scan.take(), self.unchecked_shift);
        asm!(self.ops; =>scan);
        if (1..=VECTOR_MAX_STRIDE).contains(&stride.unsigned_abs()) {
            self.emit_scan_prefix(stride, value, done);
            if stride > 0 {
                self.emit_vector_scan_right(stride, value, done);
            } else {
                self.emit_vector_scan_left(-stride, value, done);
            }
        }
        // One cell at a time: strides other than 1, and near the tape's ends.
        // Unrolled: one taken branch per SCAN_UNROLL cells (mandelbrot, whose
        // scans of stride 9 are a quarter of its work: 0.67 s -> 0.59 s
        // unrolled twice), and one pointer step: the cells between are
        // compared at their offsets, each found one moving the pointer to
        // itself on the way out.
        self.touch(0);
        asm!(self.ops
            ; cmp BYTE [a_ptr], value as i8
        );
        self.jump(Jump::IfZero, done);
        let again = self.ops.new_dynamic_label();
        let found: Vec<DynamicLabel> = (1..SCAN_UNROLL).map(|_| self.ops.new_dynamic_label()).collect();
        // Each later cell is the program's next step's (`Inst::next_at`).
        self.attribute(self.next_ats[self.current_inst()]);
        asm!(self.ops; =>again);
        for (k, &at) in found.iter().enumerate() {
            let off = stride * (k as i32 + 1);
            // The cell before was touched: this one is |stride| from it.
            self.touch_within(off, stride.unsigned_abs() as u64);
            self.cell(CellInst::CmpImm(value), off);
            self.jump(Jump::IfZero, at);
        }
        let step = stride * SCAN_UNROLL as i32;
        self.move_ptr(step);
        self.unchecked_shift = stride.unsigned_abs() as u64;
        self.touch(0);
        asm!(self.ops; cmp BYTE [a_ptr], value as i8);
        self.jump(Jump::IfNonZero, again);
        self.jump(Jump::Always, done);
        if let Some(behind) = unresumed {
            self.unresumed_first_test(behind, stride, value, shift, [scan, done]);
        }
        for (k, &at) in found.iter().enumerate() {
            asm!(self.ops; =>at);
            self.move_ptr(stride * (k as i32 + 1));
            if k + 2 < SCAN_UNROLL {
                self.jump(Jump::Always, done);
            }
        }
        asm!(self.ops; =>done);
        self.unchecked_shift = 0;
    }

    /// The first cells of a scan of stride 1 to 4 (`scan_prefix`), one at a
    /// time, before the search 16 bytes at a time. Many scans of real
    /// programs are a few cells long (the carpet's `[<]` over a row's
    /// markers, a walk's `[<]` back to its frame): there the 16-byte load
    /// costs more than it saves, and where the cells were just written one
    /// byte at a time (as the walk before such a scan does), it cannot be
    /// forwarded from those stores and waits for them to reach the cache.
    /// The cells are tested in the scan's order, each a stride from the
    /// last: a tape error is the same, at the same cell and step.
    ///
    /// With the search for strides 2 to 4, this serves every `[>]`, `[<<]`,
    /// `[>>>>]` and their value scans: 36 of the 92 programs of the corpus
    /// and the wider set have one in their code (`bfc --emit ir
    /// --eval-steps 0`). Figures in docs/codegen.md#scans.
    fn emit_scan_prefix(&mut self, stride: i32, value: u8, done: DynamicLabel) {
        let prefix = scan_prefix(stride);
        let found: Vec<DynamicLabel> = (1..prefix).map(|_| self.ops.new_dynamic_label()).collect();
        let on = self.ops.new_dynamic_label();
        self.touch(0);
        self.cell(CellInst::CmpImm(value), 0);
        self.jump(Jump::IfZero, done);
        // Every later cell is the program's next step's (`Inst::next_at`).
        self.attribute(self.next_ats[self.current_inst()]);
        for (k, &at) in (1..).zip(&found) {
            self.touch_within(stride * k, stride.unsigned_abs().into());
            self.cell(CellInst::CmpImm(value), stride * k);
            self.jump(Jump::IfZero, at);
        }
        self.move_ptr(stride * prefix);
        // The cell before was touched.
        self.unchecked_shift = stride.unsigned_abs().into();
        self.jump(Jump::Always, on);
        for (k, &at) in (1..).zip(&found) {
            asm!(self.ops; =>at);
            self.move_ptr(stride * k);
            self.jump(Jump::Always, done);
        }
        asm!(self.ops; =>on);
    }

    /// xmm1: `value` in each of its 16 bytes.
    fn broadcast_xmm1(&mut self, value: u8) {
        if value == 0 {
            asm!(self.ops; pxor xmm1, xmm1);
        } else {
            let bytes = i32::from_le_bytes([value; 4]);
            asm!(self.ops; mov eax, bytes; movd xmm1, eax; pshufd xmm1, xmm1, 0);
        }
    }

    /// `[>]` 16 cells at a time (SSE2, which every x86-64 has), `[>>]` 8,
    /// up to `[>>>>]` 4, while the 16 bytes are all on the tape; then the
    /// one-at-a-time loop that follows takes over (and fails where the scan
    /// leaves the tape). The bytes between a strided scan's cells are read
    /// (they are on the tape) and masked out. After one block without the
    /// value, four blocks are compared at a time (`emit_wide_blocks`), and
    /// one at a time again from a block where they found it, or near the
    /// tape's end. The pointer only grows: the tape's start is compared
    /// once, and its end with a limit (rdx) set before the loop.
    fn emit_vector_scan_right(&mut self, stride: i32, value: u8, done: DynamicLabel) {
        let (mask, step) = vector_cells(stride);
        let wide_step = 4 * step;
        let [cells, block, check, wide, found] = std::array::from_fn(|_| self.ops.new_dynamic_label());
        self.broadcast_xmm1(value);
        asm!(self.ops; cmp a_ptr, a_tape);
        self.jump(Jump::IfBelow, cells);
        // The last pointer from which 16 bytes are on the tape.
        self.runtime_field(FieldInst::Load, Rq::RDX, rt::TAPE_END);
        asm!(self.ops; sub rdx, 16);
        self.jump(Jump::Always, check);
        asm!(self.ops; =>block);
        self.move_ptr(step);
        asm!(self.ops; =>check; cmp a_ptr, rdx);
        self.jump(Jump::IfAbove, cells);
        asm!(self.ops
            ; movdqu xmm0, [a_ptr]
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
        );
        self.mask_eax(mask);
        self.jump(Jump::IfNonZero, found);
        // The block at the pointer holds none: the next four.
        asm!(self.ops; =>wide);
        self.cell_address(Rq::RCX, wide_step);
        asm!(self.ops; cmp rcx, rdx);
        self.jump(Jump::IfAbove, block);
        self.emit_wide_blocks(step, mask, found);
        asm!(self.ops; mov a_ptr, rcx);
        self.jump(Jump::Always, wide);
        asm!(self.ops
            ; =>found
            ; bsf eax, eax // the first cell holding the value
            ; add a_ptr, rax
        );
        self.jump(Jump::Always, done);
        asm!(self.ops; =>cells);
    }

    /// `[<]` 16 cells at a time, up to `[<<<<]` 4; see
    /// `emit_vector_scan_right` (`stride` > 0 here: the cells are left of
    /// the pointer, which only shrinks: the limit is on the tape's start).
    fn emit_vector_scan_left(&mut self, stride: i32, value: u8, done: DynamicLabel) {
        let (mask, step) = vector_cells(stride);
        // The 16 bytes end at the pointer: the cell k strides left is byte
        // 15 - k * stride.
        let mask = mask.reverse_bits() >> 16;
        let wide_step = 4 * step;
        let [cells, block, check, wide, found] = std::array::from_fn(|_| self.ops.new_dynamic_label());
        self.broadcast_xmm1(value);
        self.runtime_field(FieldInst::Cmp, Rq::RBX, rt::TAPE_END);
        self.jump(Jump::IfAboveOrEqual, cells);
        // The first pointer from which 16 bytes back are on the tape.
        asm!(self.ops; lea rdx, [a_tape + 15]);
        self.jump(Jump::Always, check);
        asm!(self.ops; =>block);
        self.move_ptr(-step);
        asm!(self.ops; =>check; cmp a_ptr, rdx);
        self.jump(Jump::IfBelow, cells);
        asm!(self.ops
            ; movdqu xmm0, [a_ptr - 15]
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
        );
        self.mask_eax(mask);
        self.jump(Jump::IfNonZero, found);
        asm!(self.ops; =>wide);
        self.cell_address(Rq::RCX, -wide_step);
        asm!(self.ops; cmp rcx, rdx);
        self.jump(Jump::IfBelow, block);
        self.emit_wide_blocks(-step, mask, found);
        asm!(self.ops; mov a_ptr, rcx);
        self.jump(Jump::Always, wide);
        asm!(self.ops
            ; =>found
            ; bsr eax, eax // the last cell holding the value, up to the pointer
            ; lea a_ptr, [a_ptr + rax - 15]
        );
        self.jump(Jump::Always, done);
        asm!(self.ops; =>cells);
    }

    /// Compares the four blocks of 16 bytes `step`, 2, 3 and 4 `step`s from
    /// the pointer (right of it, or for a negative step ending left of it)
    /// with xmm1, the cells of each at the bits of `mask`. Where one holds
    /// the value, the first that does: the pointer moved to it, its bits
    /// in eax, on to `found`; else on after. A long scan runs one branch
    /// and one mask every 64 bytes, not every 16 (kolakoski's `[>>>>]` over
    /// its sequence).
    fn emit_wide_blocks(&mut self, step: i32, mask: u32, found: DynamicLabel) {
        // A block ending at the pointer starts 15 bytes left of it.
        let base = if step < 0 { -15 } else { 0 };
        let (b1, b2, b3, b4) = (base + step, base + 2 * step, base + 3 * step, base + 4 * step);
        self.movdqu(Movdqu::Load(0), b1);
        asm!(self.ops; pcmpeqb xmm0, xmm1);
        self.movdqu(Movdqu::Load(2), b2);
        asm!(self.ops; pcmpeqb xmm2, xmm1);
        self.movdqu(Movdqu::Load(3), b3);
        asm!(self.ops; pcmpeqb xmm3, xmm1);
        self.movdqu(Movdqu::Load(4), b4);
        asm!(self.ops
            ; pcmpeqb xmm4, xmm1
            ; movdqa xmm5, xmm0
            ; por xmm5, xmm2
            ; por xmm5, xmm3
            ; por xmm5, xmm4
            ; pmovmskb eax, xmm5
        );
        self.mask_eax(mask);
        let none = self.ops.new_dynamic_label();
        let at: [DynamicLabel; 4] = std::array::from_fn(|_| self.ops.new_dynamic_label());
        self.jump(Jump::IfZero, none);
        asm!(self.ops; pmovmskb eax, xmm0);
        self.mask_eax(mask);
        self.jump(Jump::IfNonZero, at[0]);
        asm!(self.ops; pmovmskb eax, xmm2);
        self.mask_eax(mask);
        self.jump(Jump::IfNonZero, at[1]);
        asm!(self.ops; pmovmskb eax, xmm3);
        self.mask_eax(mask);
        self.jump(Jump::IfNonZero, at[2]);
        asm!(self.ops; pmovmskb eax, xmm4);
        self.mask_eax(mask);
        // The block k steps on: k steps, falling through the labels.
        for k in (0..4).rev() {
            asm!(self.ops; =>at[k]);
            self.move_ptr(step);
        }
        self.jump(Jump::Always, found);
        asm!(self.ops; =>none);
    }

    /// An add walk's blocks (`select::AddWalk`), from where its cell was
    /// tested non-zero: while the 16 bytes the block tests and the 16 it
    /// adds to are on the tape (the end the walk goes towards compared in
    /// each block, the other once) and none of the cells tested holds the
    /// walk's stop value, those iterations at once: the add made to the 16
    /// bytes (the bytes between a strided walk's cells add 0), the pointer
    /// 16 bytes on, where the next iteration's test has passed. Else on to
    /// `rest`, the loop that makes iterations one at a time. Uses eax, rcx,
    /// rdx and xmm0 to xmm3.
    pub(super) fn emit_add_walk_blocks(&mut self, walk: AddWalk, rest: DynamicLabel) {
        let AddWalk { stride, off, add, stop } = walk;
        let (cells, _) = vector_cells(stride.abs());
        // The bytes tested start a stride on (right) or end a stride back
        // (left); those added to start or end at `off`. The cells are at
        // the same bytes of both.
        let (mask, tested, added) =
            if stride > 0 { (cells, stride, off) } else { (cells.reverse_bits() >> 16, stride - 15, off - 15) };
        let (lo, hi) = (tested.min(added), tested.max(added) + 15);
        // The mask repeats every 4 bytes (strides 1, 2, 4).
        let pattern = (0..4).filter(|j| mask >> j & 1 == 1).fold(0u32, |word, j| word | u32::from(add) << (8 * j));
        self.broadcast_xmm1(stop);
        asm!(self.ops; mov eax, pattern as i32; movd xmm2, eax; pshufd xmm2, xmm2, 0);
        let block = self.ops.new_dynamic_label();
        if stride > 0 {
            self.cell_address(Rq::RCX, lo);
            asm!(self.ops; cmp rcx, a_tape);
            self.jump(Jump::IfBelow, rest);
            // The last pointer whose blocks are on the tape.
            self.runtime_field(FieldInst::Load, Rq::RDX, rt::TAPE_END);
            asm!(self.ops
                ; sub rdx, hi + 1
                ; =>block
                ; cmp a_ptr, rdx
            );
            self.jump(Jump::IfAbove, rest);
        } else {
            self.cell_address(Rq::RCX, hi);
            self.runtime_field(FieldInst::Cmp, Rq::RCX, rt::TAPE_END);
            self.jump(Jump::IfAboveOrEqual, rest);
            asm!(self.ops
                // The first pointer whose blocks are on the tape.
                ; lea rdx, [a_tape - lo]
                ; =>block
                ; cmp a_ptr, rdx
            );
            self.jump(Jump::IfBelow, rest);
        }
        self.movdqu(Movdqu::Load(3), tested);
        asm!(self.ops
            ; movdqa xmm0, xmm3
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
        );
        self.mask_eax(mask);
        self.jump(Jump::IfNonZero, rest);
        if added != tested {
            self.movdqu(Movdqu::Load(3), added);
        }
        asm!(self.ops; paddb xmm3, xmm2);
        self.movdqu(Movdqu::Store(3), added);
        self.move_ptr(16 * stride.signum());
        self.jump(Jump::Always, block);
        // At `rest` from here or from before the blocks: the pointer's cell
        // tested, eax and the flags unknown.
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
        self.unchecked_shift = 0;
    }

    /// `movdqu` between xmm0-xmm7 and the 16 bytes at `[rbx + off]`, the
    /// displacement in 8 bits where it fits (dynasm takes 32 for an offset
    /// known only at run time).
    pub(super) fn movdqu(&mut self, dir: Movdqu, off: i32) {
        let (opcode, xmm) = match dir {
            Movdqu::Load(xmm) => (0x6F, xmm),
            Movdqu::Store(xmm) => (0x7F, xmm),
        };
        debug_assert!(xmm < 8, "no REX prefix");
        self.ops.extend([0xF3, 0x0F, opcode]);
        self.rbx_operand(xmm, off);
    }

    /// Keeps the bits of eax in `mask`; the zero flag says whether any is
    /// left.
    fn mask_eax(&mut self, mask: u32) {
        if mask == 0xFFFF {
            asm!(self.ops; test eax, eax);
        } else {
            asm!(self.ops; and eax, mask as i32);
        }
    }
}

/// A `movdqu` (`Emitter::movdqu`): into or from the xmm register numbered.
#[derive(Clone, Copy)]
pub(super) enum Movdqu {
    Load(u8),
    Store(u8),
}
