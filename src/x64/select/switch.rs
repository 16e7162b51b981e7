//! How a switch (`Op::Switch`) makes each cell's new value, read off the
//! cell's tables: a constant, a load from a table, an and and an add, or,
//! for the digit a carry loop carries, a carry by `adc`/`sbb`
//! (`CarriedForm`).
//!
//! Owns those choices; the layout of the tables is `ir::data`'s, and the
//! bytes `emit::switch`'s.

use crate::ir::analysis::{touched_before, Hull};
use crate::ir::{Inst, Op, Program, SwitchCell};

/// A switch on `cell[src]`, each of its cells with its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::x64) struct SwitchPlan {
    pub src: i32,
    pub cells: Vec<SwitchCellPlan>,
    /// The first and last cell it changes.
    pub span: (i32, i32),
    /// Every cell of it is surely on the tape (`on_tape`): no bounds check,
    /// and no way that touches cells as the ifs did.
    pub on_tape: bool,
}

/// One cell of a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::x64) struct SwitchCellPlan {
    pub off: i32,
    /// Where its tables start in the program's data.
    pub tables: i32,
    pub form: CellForm,
    /// Where a tape error at the cell is reported (`SwitchCell::at`).
    pub at: u32,
}

impl SwitchCellPlan {
    /// Where its `keep` and its `add` table start in the program's data.
    pub fn keep_and_add(&self) -> (i32, i32) {
        (self.tables + SwitchCell::KEEP as i32, self.tables + SwitchCell::ADD as i32)
    }
}

/// How a switch makes a cell's new value, `(cell & keep[v]) + add[v]`,
/// leaving out what the tables make a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::x64) enum CellForm {
    /// Set to this, whatever the value switched on.
    Constant(u8),
    /// Set to `add[v]`.
    FromTable,
    /// Added to by a carry (every entry keeps all): a compare and an add
    /// with carry, no load from a table.
    Carry(Carry),
    /// And with `keep[v]` (unless every entry keeps all), add `add[v]`
    /// (unless every entry is 0): neither, and the cell is only touched.
    Update { and: bool, add: bool },
}

impl CellForm {
    /// Whether its code reads the cell's tables.
    pub fn reads_tables(self) -> bool {
        matches!(self, CellForm::FromTable | CellForm::Update { and: true, .. } | CellForm::Update { add: true, .. })
    }
}

/// How a carry loop makes its carried digit, in a register that keeps it
/// for the next iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::x64) enum CarriedForm {
    /// Set to `add[v]`.
    FromTable,
    /// Added to, by a carry: a compare and an add with carry, not a load
    /// from the table, on the loop's critical path.
    Carry(Carry),
    /// `(cell & keep[v]) + add[v]`, the and left out where it keeps all.
    Update { and: bool },
}

/// A table of adds that is one value below an index and another, one
/// more or one less, from that index on: a carry (factor.b's `v >= 10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::x64) struct Carry {
    /// The first index of the second value, 1..=255.
    pub at: u8,
    pub add: CarryAdd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::x64) enum CarryAdd {
    /// `below` below `at`, `below + 1` from it: after `cmp v, at` (carry
    /// set below), `sbb dl, -(below + 1)`.
    OneMoreFromAt(u8),
    /// `above + 1` below `at`, `above` from it: `adc dl, above`.
    OneMoreBelowAt(u8),
}

impl CarryAdd {
    /// The immediate of the `sbb` (`OneMoreFromAt`) or `adc`
    /// (`OneMoreBelowAt`) that adds the carry after `cmp v, at`.
    pub fn immediate(self) -> u8 {
        match self {
            CarryAdd::OneMoreFromAt(below) => below.wrapping_add(1).wrapping_neg(),
            CarryAdd::OneMoreBelowAt(above) => above,
        }
    }
}

impl Carry {
    fn of(table: &[u8; 256]) -> Option<Carry> {
        let at = table.iter().position(|&v| v != table[0])?;
        let (below, above) = (table[0], table[at]);
        if table[at..].iter().any(|&v| v != above) {
            return None;
        }
        let add = if above == below.wrapping_add(1) {
            CarryAdd::OneMoreFromAt(below)
        } else if below == above.wrapping_add(1) {
            CarryAdd::OneMoreBelowAt(above)
        } else {
            return None;
        };
        Some(Carry { at: at as u8, add })
    }
}

impl SwitchPlan {
    /// Whether the code of some cell reads its tables (which then need
    /// their address in a register).
    pub fn reads_tables(&self) -> bool {
        self.cells.iter().any(|cell| cell.form.reads_tables())
    }

    /// The switch on `cell[src]` whose `count` cells' tables start at
    /// `start` in `program`'s data.
    pub(super) fn of(program: &Program, src: i32, start: u32, count: u16) -> SwitchPlan {
        let cells: Vec<SwitchCellPlan> = (program.switch_cells(start, count).enumerate())
            .map(|(k, cell)| SwitchCellPlan {
                off: cell.off,
                tables: (start as usize + k * SwitchCell::SIZE) as i32,
                form: cell_form(&cell),
                at: cell.at,
            })
            .collect();
        let lo = cells.iter().map(|cell| cell.off).min().expect("a switch has cells");
        let hi = cells.iter().map(|cell| cell.off).max().expect("a switch has cells");
        SwitchPlan { src, cells, span: (lo, hi), on_tape: false }
    }
}

/// The plan of the switch `all[k]` (of `program`), `on_tape` if every
/// cell of it is on the tape after the straight-line code before it.
/// None if `all[k]` is not a switch.
pub(super) fn planned(all: &[Inst], k: usize, program: &Program) -> Option<SwitchPlan> {
    let Op::Switch { src, start, cells } = all[k].op else { return None };
    let switch = SwitchPlan::of(program, src, start, cells);
    Some(SwitchPlan { on_tape: on_tape(&switch, touched_before(&all[..k])), ..switch })
}

/// Whether every cell of `switch` is on the tape once it read `cell[src]`
/// (its first touch, as the ifs': that read fails where theirs would),
/// `known` the cells surely on the tape before it: the tape is contiguous,
/// so the cells between two on it are too. A switch inside a walk whose
/// iteration touched the cells around it before (the carry walk's digit,
/// `benches/idioms/carry.rs`) needs no bounds check at each iteration.
pub(super) fn on_tape(switch: &SwitchPlan, known: Hull) -> bool {
    let known = known.join(Hull::of([switch.src as i64]));
    known.contains(switch.span.0 as i64) && known.contains(switch.span.1 as i64)
}

fn cell_form(cell: &SwitchCell) -> CellForm {
    let sets = cell.keep.iter().all(|&k| k == 0);
    if sets && cell.add.iter().all(|&a| a == cell.add[0]) {
        CellForm::Constant(cell.add[0])
    } else if sets {
        CellForm::FromTable
    } else {
        let and = cell.keep.iter().any(|&k| k != 0xff);
        match Carry::of(cell.add) {
            Some(carry) if !and => CellForm::Carry(carry),
            _ => CellForm::Update { and, add: cell.add.iter().any(|&a| a != 0) },
        }
    }
}

/// The form of a carry loop's carried digit.
pub(super) fn carried_form(cell: &SwitchCell) -> CarriedForm {
    let keeps_all = cell.keep.iter().all(|&k| k == 0xff);
    if cell.keep.iter().all(|&k| k == 0) {
        CarriedForm::FromTable
    } else if let (true, Some(carry)) = (keeps_all, Carry::of(cell.add)) {
        CarriedForm::Carry(carry)
    } else {
        CarriedForm::Update { and: !keeps_all }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(f: fn(usize) -> u8) -> [u8; 256] {
        std::array::from_fn(f)
    }

    #[test]
    fn carries_are_recognised_in_switch_tables() {
        // factor.b's carry into the next digit: 1 from 10 on.
        let carry = Carry::of(&table(|v| (v >= 10) as u8));
        assert_eq!(carry, Some(Carry { at: 10, add: CarryAdd::OneMoreFromAt(0) }));
        // A borrow: 255 from 1 on (one less than 0); and the other way.
        let borrow = Carry::of(&table(|v| if v >= 1 { 255 } else { 0 }));
        assert_eq!(borrow, Some(Carry { at: 1, add: CarryAdd::OneMoreBelowAt(255) }));
        let below = Carry::of(&table(|v| if v < 200 { 8 } else { 7 }));
        assert_eq!(below, Some(Carry { at: 200, add: CarryAdd::OneMoreBelowAt(7) }));
        // Not a carry: constant, a step of 2, two steps.
        assert_eq!(Carry::of(&[3; 256]), None);
        assert_eq!(Carry::of(&table(|v| 2 * (v >= 10) as u8)), None);
        assert_eq!(Carry::of(&table(|v| (v >= 10) as u8 + (v >= 20) as u8)), None);
    }

    #[test]
    fn a_switch_between_cells_known_on_the_tape_is_on_it() {
        let switch = SwitchPlan { src: 0, cells: vec![], span: (-2, 1), on_tape: false };
        assert!(on_tape(&switch, Hull::of([-3, 3])));
        assert!(!on_tape(&switch, Hull::of([-1, 3])));
        assert!(!on_tape(&switch, Hull::EMPTY));
        // The switch's own read of cell[src] proves it.
        let left = SwitchPlan { src: 0, cells: vec![], span: (-2, 0), on_tape: false };
        assert!(on_tape(&left, Hull::of([-2, -1])) && !on_tape(&switch, Hull::of([-2, -1])));
        let own = SwitchPlan { src: 0, cells: vec![], span: (0, 0), on_tape: false };
        assert!(on_tape(&own, Hull::EMPTY));
    }

    #[test]
    fn a_cell_leaves_out_what_its_tables_make_a_no_op() {
        let (zeros, ones, all) = ([0; 256], [1; 256], [0xff; 256]);
        let steps = table(|v| (v >= 10) as u8);
        let form = |keep: &[u8; 256], add: &[u8; 256]| {
            let cell = SwitchCell { off: 0, touch: &ones, keep, add, at: 0 };
            (cell_form(&cell), carried_form(&cell))
        };
        assert_eq!(form(&zeros, &ones), (CellForm::Constant(1), CarriedForm::FromTable));
        assert_eq!(form(&zeros, &steps), (CellForm::FromTable, CarriedForm::FromTable));
        let carry = CarriedForm::Carry(Carry { at: 10, add: CarryAdd::OneMoreFromAt(0) });
        assert_eq!(form(&all, &steps), (CellForm::Carry(Carry { at: 10, add: CarryAdd::OneMoreFromAt(0) }), carry));
        let ones_from_3 = table(|v| if v >= 3 { 1 } else { 0 });
        assert_eq!(form(&all, &ones_from_3).0, CellForm::Carry(Carry { at: 3, add: CarryAdd::OneMoreFromAt(0) }));
        // Two steps: a table.
        let two_steps = table(|v| (v >= 3) as u8 + (v >= 7) as u8);
        assert_eq!(form(&all, &two_steps).0, CellForm::Update { and: false, add: true });
        assert!(!CellForm::Carry(Carry { at: 3, add: CarryAdd::OneMoreFromAt(0) }).reads_tables());
        assert!(CellForm::Update { and: false, add: true }.reads_tables() && CellForm::FromTable.reads_tables());
        assert_eq!(
            form(&all, &zeros),
            (CellForm::Update { and: false, add: false }, CarriedForm::Update { and: false })
        );
        assert_eq!(form(&steps, &ones), (CellForm::Update { and: true, add: true }, CarriedForm::Update { and: true }));
    }
}
