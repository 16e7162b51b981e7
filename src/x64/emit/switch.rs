//! Switches (`select::SwitchPlan`): a cell's new value from a table
//! indexed by the switch value, with a bounds check deciding between the
//! branch-free way and the way that touches cells as the original ifs did;
//! and carry loops (`select::CarryLoop`), which walk a number keeping the
//! carried digit in a register. Each cell's form, and the carried digit's,
//! is the plan's.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{CellInst, Emitter, FieldInst, Jump};
use crate::code::rt_offset as rt;
use crate::ir::SwitchCell;
use crate::x64::select::{CarriedForm, CarryAdd, CarryLoop, CellForm, SwitchCellPlan, SwitchPlan};

impl Emitter {
    /// A switch on `cell[src]` (see `Op::Switch`): when all its cells are
    /// on the tape, which a predictable bounds check decides, every cell is
    /// updated from its tables without a branch. Otherwise (the pointer is
    /// at an end of the tape) each cell is touched only where its `touch`
    /// table says, in order, so the tape error is the one the ifs had.
    ///
    /// Where the plan knows all its cells on the tape, only the first way,
    /// and the tables' address only if a cell's form reads them. Where eax
    /// holds `cell[src]` (`src_in_eax`: a run before it made the value in
    /// a register), the switch starts from it, not from a load of the
    /// store just made (fib.b's and factorials.b's digit loops: a store
    /// forward on the path from one digit to the next).
    pub(super) fn emit_switch(&mut self, switch: &SwitchPlan, src_in_eax: bool) {
        if !src_in_eax {
            self.touch(switch.src);
            self.cell(CellInst::MovzxEax, switch.src);
        }
        if switch.on_tape {
            if switch.reads_tables() {
                asm!(self.ops; lea rsi, [=>self.routines.data]);
            }
            self.switch_from_tables(switch, None);
        } else {
            let (done, at_edge) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
            asm!(self.ops; lea rsi, [=>self.routines.data]);
            self.jump_unless_on_tape(switch.span, Some(switch.src), at_edge);
            self.switch_from_tables(switch, None);
            self.jump(Jump::Always, done);
            asm!(self.ops; =>at_edge);
            self.switch_checked(switch);
            asm!(self.ops; =>done);
        }
        // Both ways read cell[src] last of all the cells known on the tape.
        self.unchecked_shift = switch.src.unsigned_abs() as u64;
    }

    /// A loop of a switch and a move, where the switch updates the cell the
    /// next iteration switches on (factor.b's carries along a number): the
    /// new value stays in a register for the next iteration, instead of
    /// being loaded back from the store just made, a store-to-load forward
    /// on the loop's critical path.
    ///
    /// The bounds check compares the pointer with two registers set before
    /// the loop; as the pointer moves one way, the check of the end it
    /// moves away from is made once, and again only after an iteration at
    /// the tape's edge.
    ///
    /// Notes where the switch, the move and the loop's test start (the
    /// unchecked way), for listings.
    pub(super) fn emit_carry_loop(&mut self, l: &CarryLoop) {
        let CarryLoop { test, stride, ref switch, .. } = *l;
        let src = switch.src;
        let (lo, hi) = switch.span;
        let (recheck, top, exit, at_edge) = (
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
        );
        // The step's instructions: the loop (marked), the switch, the
        // move, the loop's end. Code of one made out of its place is
        // attributed to it, so a tape error there names its command.
        let (switch_at, end_at) = {
            let inst = self.current_inst();
            (self.ats[inst + 1], self.ats[inst + 3])
        };
        self.enter_if_nonzero(test, exit);
        self.attribute(switch_at);
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        // rsi: the tables, for every iteration.
        asm!(self.ops; lea rsi, [=>self.routines.data]);
        self.runtime_field(FieldInst::Load, Rq::R8, rt::TAPE_END); // a_switch_end
        asm!(self.ops
            ; sub a_switch_end, hi
            ; lea a_switch_start, [a_tape - lo]
            ; =>recheck
        );
        // eax: cell[src], here and at every jump to `recheck` or `top`.
        if stride > 0 {
            asm!(self.ops; cmp a_ptr, a_switch_start);
            self.jump(Jump::IfBelow, at_edge);
        } else {
            asm!(self.ops; cmp a_ptr, a_switch_end);
            self.jump(Jump::IfAboveOrEqual, at_edge);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        self.mark();
        if stride > 0 {
            asm!(self.ops; cmp a_ptr, a_switch_end);
            self.jump(Jump::IfAboveOrEqual, at_edge);
        } else {
            asm!(self.ops; cmp a_ptr, a_switch_start);
            self.jump(Jump::IfBelow, at_edge);
        }
        self.switch_from_tables(switch, Some((l.carried, l.carried_form)));
        self.mark();
        self.move_ptr(stride);
        asm!(self.ops; mov eax, edx);
        self.unchecked_shift = (src.unsigned_abs() + stride.unsigned_abs()) as u64;
        self.mark();
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        self.jump(Jump::IfNonZero, top);
        self.jump(Jump::Always, exit);
        asm!(self.ops; =>at_edge);
        self.attribute(switch_at);
        self.switch_checked(switch);
        self.move_ptr(stride);
        self.unchecked_shift = (src.unsigned_abs() + stride.unsigned_abs()) as u64;
        self.attribute(end_at);
        self.jump_if_zero(test, None, exit);
        self.attribute(switch_at);
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        self.jump(Jump::Always, recheck);
        asm!(self.ops; =>exit);
        self.unchecked_shift = test.unsigned_abs() as u64;
    }

    /// Every cell of a switch from its tables, all on the tape (v in eax,
    /// the tables' base in rsi); the `carried` cell (by index), if any,
    /// also leaves its new value in dl.
    fn switch_from_tables(&mut self, switch: &SwitchPlan, carried: Option<(usize, CarriedForm)>) {
        for (k, cell) in switch.cells.iter().enumerate() {
            self.attribute(cell.at);
            match carried {
                Some((c, form)) if c == k => self.switch_cell_via_dl(cell, form),
                _ => {
                    self.switch_cell(cell, Rq::RSI);
                }
            }
        }
    }

    /// The switch with each cell touched only where its `touch` table says
    /// (v in eax, the tables' base in rsi).
    fn switch_checked(&mut self, switch: &SwitchPlan) {
        for cell in &switch.cells {
            self.attribute(cell.at);
            let skip = self.ops.new_dynamic_label();
            asm!(self.ops
                ; cmp BYTE [rsi + rax + cell.tables + SwitchCell::TOUCH as i32], 0
            );
            self.jump(Jump::IfZero, skip);
            self.touch(cell.off);
            if !self.switch_cell(cell, Rq::RSI) && !self.target.checked {
                // Changes nothing but must fail off the tape.
                self.cell(CellInst::CmpZero, cell.off);
            }
            asm!(self.ops; =>skip);
        }
    }

    /// A cell's new value computed in edx and stored, so edx keeps it.
    fn switch_cell_via_dl(&mut self, cell: &SwitchCellPlan, form: CarriedForm) {
        let (keep, add) = cell.keep_and_add();
        // edx stays zero-extended, so that the next iteration can take it
        // with a plain `mov` (free: done by renaming) instead of a `movzx`.
        match form {
            CarriedForm::FromTable => asm!(self.ops; movzx edx, BYTE [rsi + rax + add]),
            CarriedForm::Carry(carry) => {
                self.cell(CellInst::MovzxEdx, cell.off);
                asm!(self.ops; cmp al, carry.at as i8);
                let imm = carry.add.immediate() as i8;
                match carry.add {
                    CarryAdd::OneMoreFromAt(_) => asm!(self.ops; sbb dl, imm),
                    CarryAdd::OneMoreBelowAt(_) => asm!(self.ops; adc dl, imm),
                }
            }
            CarriedForm::Update { and } => {
                self.cell(CellInst::MovzxEdx, cell.off);
                if and {
                    asm!(self.ops; and dl, BYTE [rsi + rax + keep]);
                }
                asm!(self.ops; add dl, BYTE [rsi + rax + add]);
            }
        }
        self.cell(CellInst::StoreDl, cell.off);
    }

    /// `cell = (cell & keep[v]) + add[v]` in the cell's form, with the
    /// tables at `tables + cell.tables` and v in rax. False when the form
    /// leaves nothing to do.
    pub(super) fn switch_cell(&mut self, cell: &SwitchCellPlan, tables: Rq) -> bool {
        let (keep, add) = cell.keep_and_add();
        match cell.form {
            CellForm::Constant(v) => self.cell(CellInst::MovImm(v), cell.off),
            CellForm::FromTable => {
                self.table_byte_into_cl(tables, add);
                self.cell(CellInst::StoreCl, cell.off);
            }
            // As the carried digit's (`switch_cell_via_dl`), on the cell.
            CellForm::Carry(carry) => {
                asm!(self.ops; cmp al, carry.at as i8);
                let inst = match carry.add {
                    CarryAdd::OneMoreFromAt(_) => CellInst::SbbImm(carry.add.immediate()),
                    CarryAdd::OneMoreBelowAt(_) => CellInst::AdcImm(carry.add.immediate()),
                };
                self.cell(inst, cell.off);
            }
            CellForm::Update { and, add: adds } => {
                if and {
                    self.table_byte_into_cl(tables, keep);
                    self.cell(CellInst::AndCl, cell.off);
                }
                if adds {
                    self.table_byte_into_cl(tables, add);
                    self.cell(CellInst::AddCl, cell.off);
                }
                return and || adds;
            }
        }
        true
    }

    /// `mov cl, [tables + rax + at]`: rsi or rdx named statically, as
    /// dynasm encodes a register given at run time with a REX byte more.
    fn table_byte_into_cl(&mut self, tables: Rq, at: i32) {
        match tables {
            Rq::RSI => asm!(self.ops; mov cl, BYTE [rsi + rax + at]),
            Rq::RDX => asm!(self.ops; mov cl, BYTE [rdx + rax + at]),
            _ => unreachable!("the tables' base is rsi, or rdx in a run"),
        }
    }
}
