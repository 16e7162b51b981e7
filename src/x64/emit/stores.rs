//! Blocks of sets (`select::SetBlock`): the cells' constants stored 8, 4,
//! 2 or 1 cells at a time, from the lowest cell up, with a plain copy
//! that stores them one at a time in the program's order for where a
//! cell is off the tape.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi};

use super::{CellInst, Emitter, PlainBody, PlainCode, Recovery};
use crate::ir::Op;
use crate::x64::select::SetBlock;

impl Emitter {
    /// A block of sets, its first instruction marked. The wide stores
    /// touch the cells in another order than the program, all at once:
    /// where one is off the tape (a fault at a store, or the explicit
    /// check of both ends that cells far from one known on the tape take),
    /// the block's plain copy runs instead, from its first set, and fails
    /// where the program does (`Recovery::Restart`; storing a constant
    /// again changes nothing).
    pub(super) fn emit_set_block(&mut self, block: &SetBlock) {
        let (lo, hi) = block.span();
        let bytes = block.bytes();
        let plain = PlainCode {
            entry: self.ops.new_dynamic_label(),
            exit: None,
            // Each of its sets marked, from the first.
            copy: self.copy_from(self.current_inst()),
            body: PlainBody::Ops(block.sets.iter().map(|&(off, val)| Op::Set { off, val }).collect()),
            shift: self.unchecked_shift,
        };
        let checks = self.touch_checks(lo) || self.touch_checks(hi);
        if checks {
            self.jump_unless_on_tape((lo, hi), None, plain.entry);
        }
        // What rcx holds, once an 8-byte store has loaded it.
        let mut in_rcx = None;
        let mut at = 0;
        while at < bytes.len() {
            let width = match bytes.len() - at {
                8.. => 8,
                4..=7 => 4,
                2 | 3 => 2,
                _ => 1,
            };
            let chunk = &bytes[at..at + width];
            let off = lo + at as i32;
            if width == 8 {
                let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                if in_rcx != Some(value) {
                    asm!(self.ops; mov rcx, QWORD value as i64);
                    in_rcx = Some(value);
                }
            }
            // Guarded: a fault at a store is no error yet.
            let access = self.ops.offset().0;
            match width {
                8 => self.store_rcx(off),
                _ => self.store_constant(off, chunk),
            }
            if !checks {
                self.pads.push((access, Recovery::Restart(plain.entry)));
            }
            at += width;
        }
        for &(off, _) in &block.sets {
            self.in_eax.forget(off);
        }
        // A `mov` leaves the flags alone; the check does not.
        self.zf_cell = self.zf_cell.filter(|&cell| !checks && (cell < lo || cell > hi));
        // Every cell from lo to hi is on the tape.
        self.unchecked_shift = if lo <= 0 && 0 <= hi { 0 } else { lo.unsigned_abs().min(hi.unsigned_abs()) as u64 };
        self.plain_code.push(plain);
        // The block's other sets: their code is the stores'.
        for _ in 1..block.sets.len() {
            self.mark();
        }
    }

    /// `mov [rbx + off], imm` of 1, 2 or 4 bytes.
    pub(super) fn store_constant(&mut self, off: i32, bytes: &[u8]) {
        match bytes.len() {
            1 => return self.cell(CellInst::MovImm(bytes[0]), off),
            2 => self.ops.extend([0x66, 0xC7]),
            _ => self.ops.push(0xC7),
        }
        self.rbx_operand(0, off);
        self.ops.extend(bytes.iter().copied());
    }

    /// `mov [rbx + off], rcx`.
    fn store_rcx(&mut self, off: i32) {
        self.ops.extend([0x48, 0x89]);
        self.rbx_operand(Rq::RCX as u8, off);
    }
}
