//! Straight-line arithmetic: runs that keep cells in registers (`run`),
//! and copies that store a product instead of adding it to a cell just
//! cleared (`copy`).

use super::{Product, Run, RunStep, Target, RUN_CELLS};
use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op};

/// Instructions of a run that `run_registers` looks at: a longer run is
/// taken in pieces (runs that long are rare, and not in loops).
const RUN_MAX: usize = 32;

/// `set [t] = 0` then `mul [t] += [s] * k` at the start of `insts`, as one
/// `Product`, where that makes the same tape error. The order of the two
/// accesses decides the error only if both cells are off the tape, at
/// opposite ends: checked code checks the cleared cell first, as before;
/// guarded code reads first, which is the same when the cells are closer
/// than the smallest guarded tape.
pub(super) fn copy(insts: &[Inst], target: Target) -> Option<Product> {
    let [Inst { op: Op::Set { off: cleared, val: 0 }, .. }, Inst { op: Op::AddMul { off, src, factor, .. }, .. }, ..] =
        *insts
    else {
        return None;
    };
    let same_error = target.checked || Hull::of_offsets([off, src]).within_smallest_tape();
    (off == cleared && src != off && same_error).then_some(Product { off, src, factor })
}

/// The run `insts` starts with, if some of its cells are worth keeping in
/// registers (`run_registers`), and its length.
pub(super) fn run(insts: &[Inst], target: Target) -> Option<(Run, usize)> {
    let (len, cells) = run_registers(insts)?;
    let run = &insts[..len];
    let slot = |off: i32| cells.iter().position(|&cell| cell == off);
    let mut steps = Vec::new();
    let mut i = 0;
    while i < run.len() {
        let (step, taken) = match run[i].op {
            op @ (Op::Add { off, .. } | Op::Set { off, .. }) if slot(off).is_some() => (RunStep::Registers(op), 1),
            op @ Op::AddMul { off, src, .. } if slot(off).is_some() || slot(src).is_some() => {
                (RunStep::Registers(op), 1)
            }
            // A copy from a cell in a register: its byte stored.
            Op::Set { off, val: 0 } => match run.get(i + 1).map(|next| next.op) {
                Some(Op::AddMul { off: target, src, factor, .. }) if target == off && slot(src).is_some() => {
                    (RunStep::CopyFromRegister(Product { off, src, factor }), 2)
                }
                _ => in_memory(&run[i..], target),
            },
            _ => in_memory(&run[i..], target),
        };
        steps.push(step);
        i += taken;
    }
    // The instruction after the run may read a cell it kept in a register.
    let read_next = match insts.get(len).map(|inst| inst.op) {
        Some(Op::If { off }) => slot(off),
        Some(Op::AddMul { src, .. }) => slot(src),
        _ => None,
    };
    Some((Run { cells, steps, read_next }, len))
}

/// A run's instruction with no cell in a register: as outside a run.
fn in_memory(insts: &[Inst], target: Target) -> (RunStep, usize) {
    match copy(insts, target) {
        Some(copy) => (RunStep::Copy(copy), 2),
        None => (RunStep::Op(insts[0].op), 1),
    }
}

/// The run of adds, sets and multiplies `insts` starts with (at most
/// `RUN_MAX` of them), if some of its cells are worth keeping in
/// registers: those read after the run computed them (mandelbrot's `[p]`
/// in `[p] -= 1; [p] += [p+2]; [p+2] = [p]; [p+3] += [p]; [p] = 1`), which
/// in memory would each be a store and a load of what it stored, a
/// store-to-load forward on the way. (A cell the run only set is a known
/// constant, and a multiply into a cell just cleared stores the product:
/// neither reads it back.) Returns the run's length and those cells (at
/// most `RUN_CELLS`, the first found).
///
/// A cell in a register is loaded at its first read and stored at the run's
/// end: one first set is touched only then, after cells the run touches
/// later. That is the same error if its cells are closer than the smallest
/// tape (the run has no I/O).
pub(super) fn run_registers(insts: &[Inst]) -> Option<(usize, Vec<i32>)> {
    let is_arithmetic = |inst: &Inst| matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. });
    let len = insts.iter().take(RUN_MAX).take_while(|inst| is_arithmetic(inst)).count();
    // The cells written so far, each with whether its value was computed
    // (not just set).
    let mut written = [(0, false); RUN_MAX];
    let mut hot = Vec::new();
    // An `if_nonzero` multiply's target stays in memory, where the access
    // that may fail is one instruction (`emit`'s `target_access`), but
    // where `carried_product` says it may start in a register.
    let skippable_target = |cell: i32| {
        insts[..len].iter().any(|inst| matches!(inst.op, Op::AddMul { off, if_nonzero: true, .. } if off == cell))
            && !carried_product(&insts[..len], cell)
    };
    for (k, inst) in insts[..len].iter().enumerate() {
        // The cell's last write in the run: whether it computed the value.
        let last_write = |cell: i32| written[..k].iter().rev().find(|w| w.0 == cell).map(|w| w.1);
        let computed = |cell: i32| last_write(cell) == Some(true);
        let (target, reads) = match inst.op {
            Op::Add { off, .. } => (off, [Some(off), None]),
            Op::Set { off, .. } => (off, [None, None]),
            Op::AddMul { off, src, .. } => (off, [Some(off), Some(src)]),
            _ => unreachable!("a run of arithmetic"),
        };
        for cell in reads.into_iter().flatten() {
            if computed(cell) && !hot.contains(&cell) && hot.len() < RUN_CELLS && !skippable_target(cell) {
                hot.push(cell);
            }
        }
        // A set makes a constant, and so does an add to one; an add to a
        // cell from the tape, or a multiply, computes a value.
        let constant = match inst.op {
            Op::Set { .. } => true,
            Op::Add { .. } => last_write(target) == Some(false),
            _ => false,
        };
        written[k] = (target, !constant);
    }
    let cells = Hull::of_offsets(insts[..len].iter().flat_map(|inst| inst.op.cells()));
    (!hot.is_empty() && cells.within_smallest_tape()).then_some((len, hot))
}

/// Whether the `if_nonzero` multiply into `cell` of the run `insts` may
/// keep its product in a register, the cell not loaded (`emit`'s
/// `Held::Product`), until the run next touches the cell, which then
/// loads it: it is the cell's first touch in the run, its factor is odd
/// (the product is zero exactly where the source is), the run touches the
/// cell again, and no cell between (but the multiply's source), nor the
/// other cell of the instruction that touches it again (which its code
/// may read first: a multiply's source), is one the run had not touched
/// before. The load then fails, off the tape, where the program does: at
/// the multiply for a nonzero product, else there.
pub(super) fn carried_product(insts: &[Inst], cell: i32) -> bool {
    let touches = |inst: &Inst| inst.op.cells().any(|c| c == cell);
    let Some(at) = insts.iter().position(touches) else { return false };
    let Op::AddMul { off, src, factor, if_nonzero: true } = insts[at].op else { return false };
    let Some(next) = insts[at + 1..].iter().position(touches).map(|n| at + 1 + n) else { return false };
    let before: Vec<i32> = insts[..at].iter().flat_map(|inst| inst.op.cells()).chain([src]).collect();
    off == cell
        && factor % 2 == 1
        && insts[at + 1..=next].iter().flat_map(|inst| inst.op.cells()).all(|c| c == cell || before.contains(&c))
}
