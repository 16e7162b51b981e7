//! A loop's iterations made at once on entry (`select::FastForward`).

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{CellInst, Emitter, Jump};
use crate::x64::select::{EaxCells, FastForward};

impl Emitter {
    /// The loop's `Loop`, with its fast forward between the test on entry
    /// and the top of the body: where every cell of its reach is on the
    /// tape and the scan's cells are as it needs them, n - 1 in edx (the
    /// fewest of its counters' n - 1) and each add made that many times.
    /// Otherwise, or for n = 1, nothing: the plain loop makes them all.
    pub(super) fn emit_fast_forward(&mut self, f: &FastForward) {
        let zf_cell = self.zf_cell.take();
        self.in_eax = EaxCells::NONE;
        let exit = self.loop_entry(f.test, zf_cell);
        let plain = self.ops.new_dynamic_label();
        self.jump_unless_on_tape(f.reach, Some(f.test), plain);
        for &cell in &f.nonzero {
            self.cell(CellInst::CmpZero, cell);
            self.jump(Jump::IfZero, plain);
        }
        self.cell(CellInst::CmpZero, f.zero);
        self.jump(Jump::IfNonZero, plain);
        for (i, &(cell, k)) in f.counters.iter().enumerate() {
            // This counter's n - 1 in ecx: x * k - 1, a byte.
            self.cell(CellInst::MovzxReg(Rq::RCX), cell);
            if k != 1 {
                asm!(self.ops; imul ecx, ecx, BYTE k as i8);
            }
            asm!(self.ops
                ; dec cl
                ; movzx ecx, cl
            );
            if i == 0 {
                asm!(self.ops; mov edx, ecx);
            } else {
                asm!(self.ops
                    ; cmp ecx, edx
                    ; cmovb edx, ecx
                );
            }
        }
        asm!(self.ops; test edx, edx);
        self.jump(Jump::IfZero, plain);
        for &(cell, add) in &f.adds {
            match add {
                1 => self.cell(CellInst::AddReg(Rq::RDX), cell),
                255 => self.cell(CellInst::SubReg(Rq::RDX), cell),
                _ => {
                    asm!(self.ops; imul ecx, edx, BYTE add as i8);
                    self.cell(CellInst::AddCl, cell);
                }
            }
        }
        asm!(self.ops; =>plain);
        self.lose_eax_and_flags();
        self.loop_top(f.test, exit);
    }
}
