//! Which form a loop takes: in registers (`register_loop`), unrolled
//! (`small_loop`, with a store sunk out of it, `sunk_store`), or a carry
//! loop (`carry_loop`). What may be touched early or late, and why the tape
//! error stays the program's, is said at each.

use super::switch::{carried_form, SwitchPlan};
use super::{
    eax, straight, AddWalk, CarryLoop, RegisterLoop, RegisterWalk, SmallLoop, Step, SunkStore, Target, LOOP_CELLS,
};
use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op, Program};

/// Innermost loops this short are unrolled once.
const UNROLL_MAX_BODY: usize = 12;

/// The form of the loop testing `test` with `body`, if it takes one of its
/// own: in registers (not on checked tapes, which may be smaller than its
/// reach), or unrolled.
pub(super) fn loop_step(test: i32, body: &[Inst], program: &Program, target: Target) -> Option<Step> {
    if let Some(cells) = register_loop(body, test, target).filter(|_| !target.checked) {
        let body = body.iter().map(|inst| inst.op).collect();
        return Some(Step::RegisterLoop(Box::new(RegisterLoop { test, body, cells })));
    }
    let small = is_small_inner_loop(body).then(|| small_loop(test, body, program, target));
    if add_walk(test, body, target).is_none() {
        if let Some(walk) = register_walk(test, body) {
            // A value handed on unchanged, as factor.b's copy back hands
            // it, is carried in eax by the unrolled loop with no move
            // between registers and no compare with the tape's end (the
            // register walk made factor 1.01x as many instructions).
            let in_eax = small.as_ref().is_some_and(|l| l.carried.is_some()) && walk.carried.len() == 1;
            if !in_eax {
                return Some(Step::RegisterWalk(Box::new(walk)));
            }
        }
    }
    small.map(|l| Step::SmallLoop(Box::new(l)))
}

fn is_small_inner_loop(body: &[Inst]) -> bool {
    body.len() <= UNROLL_MAX_BODY
        && body.iter().all(|i| !matches!(i.op, Op::Loop { .. } | Op::Scan { .. } | Op::In { .. }))
}

/// A short innermost loop: two copies of the body per iteration, the loop
/// tested between them (one taken branch for two iterations).
fn small_loop(test: i32, body: &[Inst], program: &Program, target: Target) -> SmallLoop {
    let sunk = sunk_store(body, test, target).filter(|_| !target.checked);
    let kept: Vec<Inst> = body.iter().enumerate().filter(|&(k, _)| Some(k) != sunk).map(|(_, inst)| *inst).collect();
    let before = &kept[..sunk.unwrap_or(kept.len())];
    let second = straight(&kept, 0, program, target, test);
    let carried = eax::carried(test, &kept, &second, target);
    let sunk = sunk.map(|j| {
        let (Op::Set { off, val }, Some(Op::Move(stride))) = (body[j].op, body.last().map(|inst| inst.op)) else {
            unreachable!("sunk_store sinks a set from a walk")
        };
        // Made after the pointer moved on.
        SunkStore { off: off - stride, val }
    });
    // `after` follows `before` in `kept`: its pieces see what `before` touched.
    let (first, after_sunk) =
        (straight(before, 0, program, target, test), straight(&kept, before.len(), program, target, test));
    let blocks = add_walk(test, body, target);
    SmallLoop { test, carried, sunk, first, after_sunk, second, blocks }
}

/// The add walk a loop is (`AddWalk`), if it is one: `[p+off] += add;
/// p += stride` testing `[p]`, for a stride of 1, 2 or 4 either way, on
/// 8-bit cells. 21 of the 92 programs of the corpus and the wider set have
/// one in their code (`bfc --emit ir --eval-steps 0`; most of stride 1:
/// `[-<]`, `[-->]`).
///
/// A block makes iterations whose cells are all on the tape (the code
/// compares the block's bytes with the tape's ends first), so none of
/// them fails, and it makes none that the program would not: the cells
/// its iterations test are compared with `stop` before any is added to.
/// Each tested cell must be compared as it will be at its test: as it is
/// before the block, or (`off == stride`) after the add of the iteration
/// just before. With `off` further ahead (`off == 2 * stride`), some of a
/// block's tested cells would be added to before it and some in it: not
/// such a walk.
pub(super) fn add_walk(test: i32, body: &[Inst], target: Target) -> Option<AddWalk> {
    let [Op::Add { off, val: add }, Op::Move(stride)] = [body.first()?.op, body.get(1)?.op] else { return None };
    if body.len() != 2 || test != 0 || target.cell_bits != 8 || ![1, 2, 4].contains(&stride.unsigned_abs()) {
        return None;
    }
    let stop = match (off % stride, off / stride) {
        (0, 1) => add.wrapping_neg(),
        (0, ahead) if ahead > 1 => return None,
        _ => 0,
    };
    Some(AddWalk { stride, off, add, stop })
}

/// In a walk (a loop body that moves the pointer only at its end), a set
/// that the next iteration overwrites before anything reads it: mandelbrot's
/// shifts, `[p+10] = [p+1]; [p+1] = 0; p -= 9`, clear `[p+1]` just before
/// the next iteration stores into it. Such a store is needed only after the
/// last iteration, so it is made once, on the way out. Returns its index.
///
/// The store is then made after accesses that came after it: the same
/// error if its cell is off the tape, as long as the body does no I/O and
/// its cells, and the next iteration's, are closer together than the tape
/// is long.
/// And the same command: the cell lies between cells every path of the
/// iteration touched before the store, so the store itself never fails.
pub(super) fn sunk_store(body: &[Inst], test: i32, target: Target) -> Option<usize> {
    let (Op::Move(stride), rest) = (body.last()?.op, &body[..body.len() - 1]) else { return None };
    let plain = |inst: &Inst| {
        matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } | Op::EndIf)
    };
    if stride == 0 || !rest.iter().all(plain) {
        return None;
    }
    let touched = |inst: &Inst| inst.op.cells_touched();
    // This iteration's cells and the next one's, a stride on.
    let cells = Hull::of_offsets(rest.iter().flat_map(touched).chain([test]));
    if !target.fails_alike(cells.join(cells.shifted(stride.into()))) {
        return None;
    }
    // Depth of each instruction inside the body's ifs.
    let depth: Vec<i32> = rest
        .iter()
        .scan(0, |depth, inst| {
            let here = *depth - i32::from(inst.op.closes());
            *depth = here + i32::from(inst.op.opens());
            Some(here)
        })
        .collect();
    (0..rest.len()).find(|&j| {
        let Op::Set { off: cell, .. } = rest[j].op else { return false };
        // (An `if_nonzero` multiply's target is touched only where its
        // source is not 0: fuzz seed 7975550, whose walk touched the cell
        // it cleared by a multiply by 0 first, failed at the next test.)
        let sure_before = (0..j).filter(|&i| depth[i] == 0).flat_map(|i| rest[i].op.cells_surely_touched());
        let on_tape = Hull::of_offsets(sure_before.chain([test])).contains(cell as i64);
        // Nothing after it reads or writes its cell, the next test does not
        // read it, and the next iteration's first access to it is a set.
        let next = cell - stride;
        let first_next = rest.iter().position(|inst| touched(inst).any(|c| c == next));
        depth[j] == 0
            && on_tape
            && !rest[j + 1..].iter().any(|inst| touched(inst).any(|c| c == cell))
            && cell != test + stride
            && first_next.is_some_and(|k| depth[k] == 0 && matches!(rest[k].op, Op::Set { .. }))
    })
}

/// The cells (sorted) that a loop keeps in registers, if it can: a loop
/// that does not move the pointer, with only adds, sets, multiplies, ifs
/// and such loops inside. Those cells are loaded before the first
/// iteration and stored after the last, instead of each iteration going
/// through memory (prime8's modulo loop: a chain of stores and loads of the
/// same cells); the loop's other cells stay in memory.
///
/// An inner loop, only where all its cells are in registers: it runs there
/// too, with no store or load around it. A counting loop whose inner loop
/// resets the count now and then, as a modulo by repeated subtraction
/// does (pablojorge's primes.bf: `[>+<-[...]...]` with a flag loop that
/// runs once in every d iterations), then runs as one register loop,
/// where the outer loop's cells had stayed in memory for the inner loop's
/// sake (4.4x faster). In the code of 3 of the 191 programs of the corpus,
/// the wider set and the sweep of public programs: primes.bf, a calculator
/// and hanoi's at `--eval-steps 0` (docs/performance.md, sixteenth stop).
///
/// Loading a cell that the loop touches only on some paths touches it
/// earlier than the loop would, and maybe where it never would; so a cell
/// is kept in a register only if it lies between two cells the first
/// iteration touches on every path (the counter, and what is outside any
/// `If`): then if it is off the tape one of those is too, on the same side
/// (they are closer together than the tape is long), and the loop stops with the
/// same error, having printed nothing in between.
pub(super) fn register_loop(body: &[Inst], counter: i32, target: Target) -> Option<Vec<i32>> {
    let mut cells = vec![counter];
    // The cells inner loops touch (their tests included).
    let mut inner = vec![];
    let (mut lo, mut hi) = (counter, counter);
    // Open blocks, and open loops among them.
    let (mut depth, mut loops) = (0, 0);
    for inst in body {
        let op = inst.op;
        match op {
            // Loaded before the loop, its target would be touched whatever
            // its source.
            Op::AddMul { if_nonzero: true, .. } => return None,
            Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } | Op::Loop { .. } => {
                for off in op.cells_touched() {
                    if depth == 0 {
                        (lo, hi) = (lo.min(off), hi.max(off));
                    }
                    if loops > 0 || matches!(op, Op::Loop { .. }) {
                        inner.push(off);
                    }
                    cells.push(off);
                }
                depth += i32::from(op.opens());
                loops += i32::from(matches!(op, Op::Loop { .. }));
            }
            Op::EndIf => depth -= 1,
            Op::EndLoop => (depth, loops) = (depth - 1, loops - 1),
            _ => return None,
        }
    }
    cells.sort_unstable();
    cells.dedup();
    cells.retain(|off| (lo..=hi).contains(off));
    // With more than there are registers, the counter and the cells
    // nearest it.
    cells.sort_unstable_by_key(|&off| (off != counter, off.abs_diff(counter), off));
    cells.truncate(LOOP_CELLS);
    cells.sort_unstable();
    let inner_in_registers = inner.iter().all(|off| cells.contains(off));
    (inner_in_registers && target.fails_alike(Hull::of_offsets([lo, hi]))).then_some(cells)
}

/// The walk a loop is, with its cells in registers (`RegisterWalk`), if it
/// is one that hands cells on: an innermost loop whose body is adds, sets,
/// multiplies and ifs, then a move (`stride`), on at most `LOOP_CELLS`
/// cells (its test's included where a cell of the body becomes it), where
/// a cell the next iteration reads
/// before writing it, `c`, is one this iteration touched, `c + stride`.
/// Faase's self-interpreter moves its data along an array of 5-cell
/// frames so (`[<[->>>>>+<<<<<]>[->>>>>+<<<<<]>>>>+>-]`: the cells 4 and 5
/// written are the next iteration's -1 and 0, counter included): in
/// memory each iteration's first loads wait for the last one's stores (a
/// store-to-load forward in the loop's critical path, twice over for a
/// cell added to twice), in registers they are a move.
///
/// In the code of 13 of the 91 programs of the corpus and the wider set
/// that compile (`bfc -c`): mandelbrot's `[-[->>>>>>>>>+<<<<<<<<<]>>>>>>>>>]`
/// (a count carried down along its digits), the self-interpreters' data
/// moves, and others. (A value handed on unchanged is carried in eax by
/// the unrolled loop instead: `loop_step`.)
///
/// Every access is made in registers, in any order, so the code keeps the
/// program's tape errors by making none: it runs an iteration only where
/// all its cells are on the tape (compared with the tape's end the walk
/// goes towards), else runs the loop from there as plain code, which fails
/// where the program does. An `if_nonzero` multiply is then a multiply.
pub(super) fn register_walk(test: i32, body: &[Inst]) -> Option<RegisterWalk> {
    let (Op::Move(stride), rest) = (body.last()?.op, &body[..body.len() - 1]) else { return None };
    let arithmetic =
        |op: Op| matches!(op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } | Op::EndIf);
    if stride == 0 || !rest.iter().all(|inst| arithmetic(inst.op)) {
        return None;
    }
    // The cells in the order the body first touches them, each with
    // whether it reads the cell's value first: all but one set (outside an
    // if) first. Those need a value in the register.
    let mut first: Vec<(i32, bool)> = Vec::new();
    let mut depth = 0;
    for inst in rest {
        let op = inst.op;
        let set_first = |off: i32| matches!(op, Op::Set { off: set, .. } if set == off) && depth == 0;
        for off in op.cells_touched() {
            if !first.iter().any(|&(cell, _)| cell == off) {
                first.push((off, !set_first(off)));
            }
        }
        depth += i32::from(op.opens()) - i32::from(op.closes());
    }
    // The test's cell, where the body touches the cell it becomes: its
    // register is tested (factor.b's copy back reads it nowhere else: it
    // is tested in memory, and not loaded).
    let reads = |off: i32| first.iter().any(|&(cell, reads)| cell == off && reads);
    let handed_on = |off: i32| first.iter().any(|&(cell, _)| cell == off + stride);
    let mut cells: Vec<i32> = first.iter().map(|&(cell, _)| cell).collect();
    if handed_on(test) && !cells.contains(&test) {
        cells.push(test);
    }
    if cells.len() > LOOP_CELLS {
        return None;
    }
    cells.sort_unstable();
    let carried: Vec<i32> = cells.iter().copied().filter(|&c| (reads(c) || c == test) && handed_on(c)).collect();
    let loads: Vec<i32> = cells.iter().copied().filter(|&c| reads(c) && !carried.contains(&c)).collect();
    if carried.is_empty() {
        return None;
    }
    let reach = (cells[0].min(test), cells[cells.len() - 1].max(test));
    let body: Vec<Op> = rest.iter().map(|inst| inst.op).collect();
    let folded = folded_adds(&body);
    // Pairs: no carried cell takes its value from another carried cell.
    let paired = carried.iter().all(|&c| !carried.contains(&(c + stride)));
    Some(RegisterWalk { test, body, stride, cells, carried, loads, reach, folded, paired })
}

/// In a register walk's body, the adds of a constant each made with a
/// multiply into the same cell before it, as pairs (multiply, add) of
/// indices: `mul [4] += [-1]; ...; add [4] += 1` is `lea r, [r + s + 1]`,
/// one instruction where two made the cell's value (in Faase's walks,
/// both the payload's and the counter's: the counter's chain from one
/// iteration to the next one instruction shorter). The add is moved up to
/// the multiply: nothing between reads the cell or sets it, or is an if's
/// start or end. Not for a multiply by 255, which subtracts.
pub(super) fn folded_adds(body: &[Op]) -> Vec<(usize, usize)> {
    let mut folded = Vec::new();
    for (a, op) in body.iter().enumerate() {
        let Op::Add { off, .. } = *op else { continue };
        // The nearest instruction before the add that touches its cell.
        let before = body[..a].iter().rposition(|op| op.cells_touched().any(|c| c == off) || op.opens() || op.closes());
        if let Some(m) = before {
            let into =
                matches!(body[m], Op::AddMul { off: t, src, factor, .. } if t == off && src != off && factor != 255);
            if into && !folded.iter().any(|&(taken, _)| taken == m) {
                folded.push((m, a));
            }
        }
    }
    folded
}

/// `Loop`, `Switch`, `Move`, `EndLoop` at `i`, where the switch updates
/// the cell the next iteration switches on.
pub(super) fn carry_loop(program: &Program, i: usize) -> Option<CarryLoop> {
    let [Op::Loop { off: test }, Op::Switch { src, start, cells }, Op::Move(stride), Op::EndLoop] =
        program.insts.get(i..i + 4)?.iter().map(|inst| inst.op).collect::<Vec<_>>()[..]
    else {
        return None;
    };
    let (carried, cell) = program.switch_cells(start, cells).enumerate().find(|(_, cell)| cell.off == src + stride)?;
    let carried_form = carried_form(&cell);
    Some(CarryLoop { test, switch: SwitchPlan::of(program, src, start, cells), stride, carried, carried_form })
}
