//! Switches (`Op::Switch`): a cell's new value from a table indexed by
//! the switch value, with a bounds check deciding between the branch-free
//! way and the way that touches cells as the original ifs did; and carry
//! loops (`select::CarryLoop`), which walk a number keeping the carried
//! digit in a register. Which table becomes which instructions (a constant,
//! an and, an add, a carry by `adc`) is read off the tables here: it is how
//! a table is encoded, not a choice of form.

use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{CellInst, Emitter};
use crate::code::rt_offset as rt;
use crate::ir::{Program, SwitchCell};
use crate::x64::select::{CarryLoop, EaxCells};

/// A table of adds that is one value below an index and another, one
/// more or one less, from that index on: a carry (factor.b's `v >= 10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// The first index of the second value, 1..=255.
    at: u8,
    add: StepAdd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepAdd {
    /// `below` below `at`, `below + 1` from it: after `cmp v, at` (carry
    /// set below), `sbb dl, -(below + 1)`.
    OneMoreFromAt(u8),
    /// `above + 1` below `at`, `above` from it: `adc dl, above`.
    OneMoreBelowAt(u8),
}

impl Step {
    fn of(table: &[u8; 256]) -> Option<Step> {
        let at = table.iter().position(|&v| v != table[0])?;
        let (below, above) = (table[0], table[at]);
        if table[at..].iter().any(|&v| v != above) {
            return None;
        }
        let add = if above == below.wrapping_add(1) {
            StepAdd::OneMoreFromAt(below)
        } else if below == above.wrapping_add(1) {
            StepAdd::OneMoreBelowAt(above)
        } else {
            return None;
        };
        Some(Step { at: at as u8, add })
    }
}

/// The first and last cell of a switch.
fn switch_span(cells: &[SwitchCell]) -> (i32, i32) {
    let lo = cells.iter().map(|cell| cell.off).min().expect("a switch has cells");
    let hi = cells.iter().map(|cell| cell.off).max().expect("a switch has cells");
    (lo, hi)
}

/// Where the tables of cell `k` of the switch at `start` begin in the data.
fn switch_tables_at(start: u32, k: usize) -> i32 {
    (start as usize + k * SwitchCell::SIZE) as i32
}

impl Emitter {
    /// A switch on `cell[src]` (see `Op::Switch`): when all its cells are
    /// on the tape, which a predictable bounds check decides, every cell is
    /// updated from its tables without a branch. Otherwise (the pointer is
    /// at an end of the tape) each cell is touched only where its `touch`
    /// table says, in order, so the tape error is the one the ifs had.
    pub(super) fn emit_switch(&mut self, src: i32, start: u32, count: u16, program: &Program) {
        let cells: Vec<SwitchCell> = program.switch_cells(start, count).collect();
        let done = self.ops.new_dynamic_label();
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        asm!(self.ops; lea rsi, [->data]);
        let at_edge = self.ops.new_dynamic_label();
        self.jump_unless_on_tape(switch_span(&cells), at_edge);
        self.switch_from_tables(&cells, start, None);
        asm!(self.ops; jmp =>done; =>at_edge);
        self.switch_checked(&cells, start);
        asm!(self.ops; =>done);
        // Both ways read cell[src] last of all the cells known on the tape.
        self.unchecked_shift = src.unsigned_abs() as u64;
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
    pub(super) fn emit_carry_loop(&mut self, l: &CarryLoop, program: &Program) {
        let &CarryLoop { test, src, start, cells: count, stride } = l;
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
        let cells: Vec<SwitchCell> = program.switch_cells(start, count).collect();
        let (lo, hi) = switch_span(&cells);
        let (recheck, top, exit, at_edge) = (
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
        );
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        asm!(self.ops; je =>exit);
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        // rsi: the tables, for every iteration.
        asm!(self.ops
            ; lea rsi, [->data]
            ; mov a_switch_end, [a_rt + rt::TAPE_END]
            ; sub a_switch_end, hi
            ; lea a_switch_start, [a_tape - lo]
            ; =>recheck
        );
        // eax: cell[src], here and at every jump to `recheck` or `top`.
        if stride > 0 {
            asm!(self.ops; cmp a_ptr, a_switch_start; jb =>at_edge);
        } else {
            asm!(self.ops; cmp a_ptr, a_switch_end; jae =>at_edge);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        self.mark();
        if stride > 0 {
            asm!(self.ops; cmp a_ptr, a_switch_end; jae =>at_edge);
        } else {
            asm!(self.ops; cmp a_ptr, a_switch_start; jb =>at_edge);
        }
        self.switch_from_tables(&cells, start, Some(src + stride));
        self.mark();
        self.move_ptr(stride);
        asm!(self.ops; mov eax, edx);
        self.unchecked_shift = (src.unsigned_abs() + stride.unsigned_abs()) as u64;
        self.mark();
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        asm!(self.ops; jne =>top; jmp =>exit; =>at_edge);
        self.switch_checked(&cells, start);
        self.move_ptr(stride);
        self.unchecked_shift = (src.unsigned_abs() + stride.unsigned_abs()) as u64;
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        asm!(self.ops; je =>exit);
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        asm!(self.ops; jmp =>recheck; =>exit);
        self.unchecked_shift = test.unsigned_abs() as u64;
    }

    /// Every cell of a switch from its tables, all on the tape (v in eax,
    /// the tables' base in rsi); `carried`, if one of the cells, also
    /// leaves its new value in dl.
    fn switch_from_tables(&mut self, cells: &[SwitchCell], start: u32, carried: Option<i32>) {
        for (k, cell) in cells.iter().enumerate() {
            let tables = switch_tables_at(start, k);
            if Some(cell.off) == carried {
                self.switch_cell_via_dl(cell, tables);
            } else {
                self.switch_cell(cell, tables);
            }
        }
    }

    /// The switch with each cell touched only where its `touch` table says
    /// (v in eax, the tables' base in rsi).
    fn switch_checked(&mut self, cells: &[SwitchCell], start: u32) {
        for (k, cell) in cells.iter().enumerate() {
            let tables = switch_tables_at(start, k);
            let skip = self.ops.new_dynamic_label();
            asm!(self.ops
                ; cmp BYTE [rsi + rax + tables + SwitchCell::TOUCH as i32], 0
                ; je =>skip
            );
            self.touch(cell.off);
            if !self.switch_cell(cell, tables) && !self.target.checked {
                // Changes nothing but must fail off the tape.
                self.cell(CellInst::CmpZero, cell.off);
            }
            asm!(self.ops; =>skip);
        }
    }

    /// `switch_cell`, computed in edx and stored, so edx keeps the new
    /// value.
    fn switch_cell_via_dl(&mut self, cell: &SwitchCell, tables: i32) {
        let (keep, add) = (tables + SwitchCell::KEEP as i32, tables + SwitchCell::ADD as i32);
        // edx stays zero-extended, so that the next iteration can take it
        // with a plain `mov` (free: done by renaming) instead of a `movzx`.
        if cell.keep.iter().all(|&k| k == 0) {
            asm!(self.ops; movzx edx, BYTE [rsi + rax + add]);
        } else if let (true, Some(step)) = (cell.keep.iter().all(|&k| k == 0xff), Step::of(cell.add)) {
            // A carry: one compare and one add with carry, not a load from
            // the table, on the loop's critical path.
            self.cell(CellInst::MovzxEdx, cell.off);
            asm!(self.ops; cmp eax, step.at as i32);
            match step.add {
                StepAdd::OneMoreFromAt(below) => asm!(self.ops; sbb dl, (below as i8).wrapping_add(1).wrapping_neg()),
                StepAdd::OneMoreBelowAt(above) => asm!(self.ops; adc dl, above as i8),
            }
        } else {
            self.cell(CellInst::MovzxEdx, cell.off);
            if cell.keep.iter().any(|&k| k != 0xff) {
                asm!(self.ops; and dl, BYTE [rsi + rax + keep]);
            }
            asm!(self.ops; add dl, BYTE [rsi + rax + add]);
        }
        self.cell(CellInst::StoreDl, cell.off);
    }

    /// `cell = (cell & keep[v]) + add[v]` with the tables at `rsi + tables`
    /// and v in rax, leaving out what the tables make a no-op. False when
    /// nothing was left.
    fn switch_cell(&mut self, cell: &SwitchCell, tables: i32) -> bool {
        let (keep, add) = (tables + SwitchCell::KEEP as i32, tables + SwitchCell::ADD as i32);
        let sets = cell.keep.iter().all(|&k| k == 0);
        let ands = !sets && cell.keep.iter().any(|&k| k != 0xff);
        let adds = cell.add.iter().any(|&a| a != 0);
        if sets && cell.add.iter().all(|&a| a == cell.add[0]) {
            self.cell(CellInst::MovImm(cell.add[0]), cell.off);
            return true;
        }
        if sets {
            asm!(self.ops; mov cl, BYTE [rsi + rax + add]);
            self.cell(CellInst::StoreCl, cell.off);
            return true;
        }
        if ands {
            asm!(self.ops; mov cl, BYTE [rsi + rax + keep]);
            self.cell(CellInst::AndCl, cell.off);
        }
        if adds {
            asm!(self.ops; mov cl, BYTE [rsi + rax + add]);
            self.cell(CellInst::AddCl, cell.off);
        }
        ands || adds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_are_recognised_in_switch_tables() {
        let table = |f: fn(usize) -> u8| -> [u8; 256] { std::array::from_fn(f) };
        // factor.b's carry into the next digit: 1 from 10 on.
        let carry = Step::of(&table(|v| (v >= 10) as u8));
        assert_eq!(carry, Some(Step { at: 10, add: StepAdd::OneMoreFromAt(0) }));
        // A borrow: 255 from 1 on (one less than 0); and the other way.
        let borrow = Step::of(&table(|v| if v >= 1 { 255 } else { 0 }));
        assert_eq!(borrow, Some(Step { at: 1, add: StepAdd::OneMoreBelowAt(255) }));
        let below = Step::of(&table(|v| if v < 200 { 8 } else { 7 }));
        assert_eq!(below, Some(Step { at: 200, add: StepAdd::OneMoreBelowAt(7) }));
        // Not a carry: constant, a step of 2, two steps.
        assert_eq!(Step::of(&[3; 256]), None);
        assert_eq!(Step::of(&table(|v| 2 * (v >= 10) as u8)), None);
        assert_eq!(Step::of(&table(|v| (v >= 10) as u8 + (v >= 20) as u8)), None);
    }
}
