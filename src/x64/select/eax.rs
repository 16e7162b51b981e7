//! What eax holds: the cells whose value it holds (`EaxCells`), tracked by
//! the emitter as it emits, and the cell a small loop carries in eax from
//! one iteration to the next (`carried`), which selection derives from the
//! same transitions without emitting anything.

use super::{CellForm, Product, Run, RunStep, Straight, Target};
use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op};

/// The cells whose value eax holds (zero-extended): one loaded, or both
/// cells of a copy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(in crate::x64) struct EaxCells(pub [Option<i32>; 2]);

impl EaxCells {
    pub const NONE: EaxCells = EaxCells([None, None]);

    pub fn only(cell: i32) -> EaxCells {
        EaxCells([Some(cell), None])
    }

    pub fn holds(&self, cell: i32) -> bool {
        self.0.contains(&Some(cell))
    }

    /// The cell was written: eax no longer holds it.
    pub fn forget(&mut self, cell: i32) {
        self.0.iter_mut().filter(|held| **held == Some(cell)).for_each(|held| *held = None);
    }

    /// The pointer moved by `delta`: the same cells, at new offsets.
    pub fn shift(&mut self, delta: i32) {
        self.0.iter_mut().flatten().for_each(|cell| *cell -= delta);
    }

    /// Goes past the code of `op` outside a run; true if that code loads
    /// eax (with the cell it reads: a multiply's source, an if's test).
    pub fn pass_op(&mut self, op: Op) -> bool {
        match op {
            // Added in al where eax holds it (`emit::cells`): then it still
            // does, and nothing else.
            Op::Add { off, .. } if self.holds(off) => *self = EaxCells::only(off),
            Op::Add { off, .. } | Op::Set { off, .. } => self.forget(off),
            Op::AddMul { off, src, .. } => {
                let load = !self.holds(src);
                if load {
                    *self = EaxCells::only(src);
                }
                self.forget(off);
                return load;
            }
            Op::Move(delta) => self.shift(delta),
            Op::If { off } => {
                let load = !self.holds(off);
                *self = EaxCells::only(off);
                return load;
            }
            _ => *self = EaxCells::NONE,
        }
        false
    }

    /// Goes past the code of a copy (`Straight::Copy`), which leaves in eax
    /// the source and, for a factor of 1, the target too; true if it loads
    /// eax.
    pub fn pass_copy(&mut self, copy: Product) -> bool {
        let load = !self.holds(copy.src);
        *self = match copy.factor {
            1 => EaxCells([Some(copy.src), Some(copy.off)]),
            _ => EaxCells::only(copy.src),
        };
        load
    }

    /// Goes past the code of a run; how many times it loads eax. In a run,
    /// eax is used for a source in memory (a product of a cell in a
    /// register is made from its register, `emit::registers`); a cell set
    /// to a constant stays one until its register is needed, and a
    /// multiply by it is an add of a constant.
    ///
    /// A run with temporaries (`Run::zeros`) tests them in eax, then runs
    /// one of two copies, each from eax holding nothing, after which it
    /// holds nothing either (`emit::registers`).
    fn pass_run(&mut self, run: &Run) -> usize {
        if run.zeros.is_empty() {
            return self.pass_run_copy(run);
        }
        *self = EaxCells::NONE;
        let loads = self.pass_run_copy(run);
        *self = EaxCells::NONE;
        1 + 2 * loads
    }

    /// `pass_run` of one copy of a run.
    fn pass_run_copy(&mut self, run: &Run) -> usize {
        let slot = |off: i32| run.cells.iter().position(|&cell| cell == off);
        let mut constant = vec![false; run.cells.len()];
        run.cells.iter().for_each(|&cell| self.forget(cell));
        let mut loads = 0;
        for step in &run.steps {
            match *step {
                // v in eax (loaded, or from its register), not a cell's value
                // after the switch.
                RunStep::Switch(ref switch) => {
                    if slot(switch.src).is_none() {
                        loads += 1;
                    }
                    *self = EaxCells::NONE;
                    // src's register is made to hold its value; then each
                    // cell in a register is a constant or a value.
                    slot(switch.src).into_iter().for_each(|k| constant[k] = false);
                    for cell in &switch.cells {
                        match (slot(cell.off), cell.form) {
                            (None, _) | (_, CellForm::Update { and: false, add: false }) => {}
                            (Some(k), form) => constant[k] = matches!(form, CellForm::Constant(_)),
                        }
                    }
                }
                RunStep::Registers(Op::Set { off, .. }) | RunStep::SetStored { off, .. } => {
                    constant[slot(off).expect("in a register")] = true
                }
                RunStep::Registers(Op::AddMul { off, src, .. }) => match slot(src) {
                    Some(k) if constant[k] => {}
                    Some(k) => {
                        constant[k] = false;
                        slot(off).into_iter().for_each(|t| constant[t] = false);
                    }
                    None => {
                        if !self.holds(src) {
                            loads += 1;
                            *self = EaxCells::only(src);
                        }
                        constant[slot(off).expect("in a register")] = false;
                    }
                },
                RunStep::Registers(_) => {}
                RunStep::CopyFromRegister(copy) => constant[slot(copy.src).expect("in a register")] = false,
                RunStep::Op(op) => loads += usize::from(self.pass_op(op)),
                RunStep::Copy(copy) => loads += usize::from(self.pass_copy(copy)),
            }
            // Whatever the step, a target in memory is no longer what eax held.
            if let RunStep::Registers(Op::AddMul { off, .. }) | RunStep::CopyFromRegister(Product { off, .. }) = *step {
                if slot(off).is_none() {
                    self.forget(off);
                }
            }
        }
        if let Some(k) = run.read_next.filter(|&k| !constant[k]) {
            *self = EaxCells::only(run.cells[k]);
        }
        loads
    }

    /// Goes past straight-line code; how many times it loads eax.
    fn pass(&mut self, pieces: &[Straight]) -> usize {
        pieces
            .iter()
            .map(|piece| match piece {
                Straight::Op(op) => usize::from(self.pass_op(*op)),
                Straight::Copy(copy) => usize::from(self.pass_copy(*copy)),
                Straight::Run(run) => self.pass_run(run),
                Straight::Sets(block) => {
                    block.sets.iter().for_each(|&(off, _)| self.forget(off));
                    0
                }
                Straight::Switch(_) => {
                    *self = EaxCells::NONE;
                    0
                }
            })
            .sum()
    }
}

/// The cell that a small loop's body (`body`, selected as `pieces`) leaves
/// in eax, when the next iteration reads it first: a walk that carries a
/// value along (factor.b's `[<[-]>>>>>>>>>>[-<<<<<<<<<<+>>>>>>>>>>]<<<<<<<<<<<]`
/// stores a cell and reads it back one step on; it is a register walk too,
/// `loops::register_walk`, but one that hands a value on unchanged keeps
/// this form: `loops::loop_step`). Kept in eax from one
/// iteration to the next, that read leaves the loop's critical path (a
/// store-to-load forward); the first iteration's is made before the loop.
/// Chosen where the body, starting with eax holding it, loads eax fewer
/// times and still leaves it there; or the loop's own cell (`test`), where
/// that saves more loads: the loop's tests then load it into eax and test
/// that (`movzx`, `test`: one load where `cmp` and the body's load made two).
///
/// That load touches the cell before the body's other accesses; it
/// makes the same error if they would only if the body does no I/O
/// and its cells are closer together than the tape is long (not on checked
/// tapes, which check each access in order).
pub(super) fn carried(test: i32, body: &[Inst], pieces: &[Straight], target: Target) -> Option<i32> {
    let observable = |op: Op| matches!(op, Op::Out { .. } | Op::Print { .. } | Op::Dump);
    if target.checked || body.iter().any(|inst| observable(inst.op)) {
        return None;
    }
    // Every cell the body touches, ifs' tests included.
    if !target.fails_alike(Hull::of_offsets(body.iter().flat_map(|inst| inst.op.cells_touched()).chain([test]))) {
        return None;
    }
    let mut left = EaxCells::NONE;
    let plain = left.pass(pieces);
    // The cell the body leaves in eax, if it keeps it there.
    let left_in_eax = left.0.into_iter().flatten().next().and_then(|cell| {
        let mut still = EaxCells::only(cell);
        let loads = still.pass(pieces);
        still.holds(cell).then_some((loads, cell))
    });
    // Or the loop's own cell, which its tests then load (sortbytes'
    // `[[>>+<<-]<]`: the multiply's source is the cell the next test
    // reads): it need not stay in eax to the end.
    let tested = (EaxCells::only(test).pass(pieces), test);
    [left_in_eax, Some(tested)]
        .into_iter()
        .flatten()
        .filter(|&(loads, _)| loads < plain)
        .min_by_key(|&(loads, _)| loads)
        .map(|(_, cell)| cell)
}
