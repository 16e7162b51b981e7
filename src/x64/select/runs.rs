//! Straight-line arithmetic: runs that keep cells in registers (`run`),
//! switches among them included, and copies that store a product instead
//! of adding it to a cell just cleared (`copy`).

use super::switch::planned;
use super::{
    CellForm, FrameBlocks, Place, Product, Run, RunStep, SwitchCellPlan, SwitchPlan, Target, WalkInBlocks, RUN_CELLS,
};
use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op, Program};

/// Instructions of a run that `run_registers` looks at: a longer run is
/// taken in pieces (runs that long are rare, and not in loops).
const RUN_MAX: usize = 32;

/// `set [t] = 0` then `mul [t] += [s] * k` at the start of `insts`, as one
/// `Product`, where that makes the same tape error. The order of the two
/// accesses decides the error only if both cells are off the tape, at
/// opposite ends: checked code checks the cleared cell first, as before;
/// guarded code reads first, which is the same when the cells are closer
/// together than the tape is long.
pub(super) fn copy(insts: &[Inst], target: Target) -> Option<Product> {
    let [Inst { op: Op::Set { off: cleared, val: 0 }, .. }, Inst { op: Op::AddMul { off, src, factor, .. }, .. }, ..] =
        *insts
    else {
        return None;
    };
    let same_error = target.checked || target.fails_alike(Hull::of_offsets([off, src]));
    (off == cleared && src != off && same_error).then_some(Product { off, src, factor })
}

/// The run `all[i..]` starts with, if some of its cells are worth keeping
/// in registers (`run_registers`), and its length. `all[..i]`: the code
/// before it, which a switch inside the run asks what it surely touched.
pub(super) fn run(all: &[Inst], i: usize, program: &Program, target: Target, place: Place) -> Option<(Run, usize)> {
    let insts = &all[i..];
    // Before the switches' plans: a long straight set-up of sets asks here
    // at each of its instructions.
    if sets_alone(insts) {
        return None;
    }
    let switches = run_switches(all, i, program);
    let (len, cells) = run_registers(insts, &switches, target)?;
    let run = &insts[..len];
    let slot = |off: i32| cells.iter().position(|&cell| cell == off);
    let mut steps = Vec::new();
    // The cells the run's code has surely touched so far: those of its
    // multiplies and adds (a cell in a register loaded at its first
    // read), and those it leaves in memory.
    let mut touched = Hull::EMPTY;
    let mut k = 0;
    while k < run.len() {
        let (step, taken) = match run[k].op {
            Op::Switch { .. } => (RunStep::Switch(Box::new(switch_at(&switches, k).expect("on the tape").clone())), 1),
            // A cell in a register set first is stored at the run's end:
            // beyond the cells touched before, it is stored here too, so
            // that off the tape it fails here, as the program does, not
            // after cells the program touches later (fuzz seed 3708295:
            // the next cell, further off, failed first).
            Op::Set { off, val }
                if slot(off).is_some() && !touched.contains(off.into()) && !touched_in(&run[..k], off) =>
            {
                (RunStep::SetStored { off, val }, 1)
            }
            op @ (Op::Add { off, .. } | Op::Set { off, .. }) if slot(off).is_some() => (RunStep::Registers(op), 1),
            op @ Op::AddMul { off, src, .. } if slot(off).is_some() || slot(src).is_some() => {
                (RunStep::Registers(op), 1)
            }
            // A copy from a cell in a register: its byte stored.
            Op::Set { off, val: 0 } => match run.get(k + 1).map(|next| next.op) {
                Some(Op::AddMul { off: target, src, factor, .. }) if target == off && slot(src).is_some() => {
                    (RunStep::CopyFromRegister(Product { off, src, factor }), 2)
                }
                _ => in_memory(&run[k..], target),
            },
            _ => in_memory(&run[k..], target),
        };
        for inst in &run[k..k + taken] {
            let cells = match inst.op {
                Op::Set { off, .. } if slot(off).is_some() && !matches!(step, RunStep::SetStored { .. }) => None,
                Op::Switch { .. } => None,
                op => Some(op.cells_surely_touched()),
            };
            cells.into_iter().flatten().for_each(|cell| touched.cover(cell.into()));
        }
        steps.push(step);
        k += taken;
    }
    // The instruction after the run may read a cell it kept in a register.
    let read_next = match insts.get(len).map(|inst| inst.op) {
        Some(Op::If { off }) => slot(off),
        Some(Op::AddMul { src, .. } | Op::Switch { src, .. }) => slot(src),
        _ => None,
    };
    let zeros = match place {
        Place::Loop { tested } => temporaries(&cells, &steps, tested),
        Place::Once => Vec::new(),
    };
    let last_reads = last_reads(&cells, &steps, read_next);
    Some((Run { cells, steps, read_next, zeros, last_reads }, len))
}

/// The multiplies by 1 between two cells in registers (indices in
/// `steps`) after which the source's value is not needed: the next step
/// to name the source sets it, or none does and the run neither changed
/// it before (it is not stored at the end) nor hands it to the
/// instruction after it (`read_next`). Where such a multiply would copy
/// its source's register into its target's (a target holding 0, or an
/// `if_nonzero` one's not yet loaded), the two cells swap registers
/// instead: no copy. A value moved on, as `[->+<]` moves it: the carry
/// walk's copy of its digit (`[p+64] = [p]`, then `[p] = 1`) and its
/// chain's counter (`[p+128] = [p+64]`, then `[p+64] = 0`).
pub(super) fn last_reads(cells: &[i32], steps: &[RunStep], read_next: Option<usize>) -> Vec<usize> {
    let slot = |off: i32| cells.iter().position(|&cell| cell == off);
    let moves_out = |n: usize| {
        let RunStep::Registers(Op::AddMul { off, src, factor: 1, .. }) = steps[n] else { return false };
        if slot(off).is_none() || slot(src).is_none() {
            return false;
        }
        match steps[n + 1..].iter().find(|step| step_cells(step).contains(&src)) {
            Some(RunStep::Registers(Op::Set { .. }) | RunStep::SetStored { .. }) => true,
            Some(_) => false,
            None => read_next != slot(src) && !steps[..n].iter().any(|step| step_writes(step, src)),
        }
    };
    (0..steps.len()).filter(|&n| moves_out(n)).collect()
}

/// The cells a run's step names, read or written.
fn step_cells(step: &RunStep) -> Vec<i32> {
    match *step {
        RunStep::Switch(ref switch) => switch.cells.iter().map(|cell| cell.off).chain([switch.src]).collect(),
        RunStep::Registers(op) | RunStep::Op(op) => op.cells().collect(),
        RunStep::SetStored { off, .. } => vec![off],
        RunStep::CopyFromRegister(Product { off, src, .. }) | RunStep::Copy(Product { off, src, .. }) => vec![off, src],
    }
}

/// Whether a run's step may change `cell` (which the run then stores).
fn step_writes(step: &RunStep, cell: i32) -> bool {
    match *step {
        RunStep::Switch(ref switch) => switch.cells.iter().any(|switched| switched.off == cell),
        RunStep::Registers(Op::Add { off, .. } | Op::Set { off, .. } | Op::AddMul { off, .. })
        | RunStep::SetStored { off, .. } => off == cell,
        RunStep::Registers(_) => false,
        RunStep::Op(op) => op.cells().any(|off| off == cell),
        RunStep::Copy(Product { off, .. }) | RunStep::CopyFromRegister(Product { off, .. }) => off == cell,
    }
}

/// The temporaries of a run (indices in `cells`): cells it adds a
/// product to (a multiply, or a switch's carry) before anything else
/// touches them, and leaves 0, as Brainfuck keeps scratch cells (a
/// walk's frames' copies, the carry walk's copy of its digit and its
/// chain's cells). Between uses they hold 0, which nothing proves; where
/// they do, the run neither needs their values nor changes them. A cell
/// read first (a multiply's source: data moved out, then cleared) or
/// stepped first (a counter) holds a value more often than not, and is
/// left out; so is the cell the loop tests (`tested`), nonzero on entry.
fn temporaries(cells: &[i32], steps: &[RunStep], tested: Option<i32>) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum First {
        Untouched,
        AddedTo,
        Other,
    }
    let mut first = vec![First::Untouched; cells.len()];
    // Whether the cell's last write is a set of 0.
    let mut cleared = vec![false; cells.len()];
    let mut touch = |off: i32, how: First, ends_cleared: Option<bool>| {
        if let Some(k) = cells.iter().position(|&cell| cell == off) {
            if first[k] == First::Untouched {
                first[k] = how;
            }
            if let Some(zero) = ends_cleared {
                cleared[k] = zero;
            }
        }
    };
    for step in steps {
        match *step {
            // A plain add to a cell not yet touched is data (a counter
            // stepped), not a copy into a temporary.
            RunStep::Registers(Op::Add { off, .. }) => touch(off, First::Other, Some(false)),
            RunStep::Registers(Op::Set { off, val }) | RunStep::SetStored { off, val } => {
                touch(off, First::Other, Some(val == 0))
            }
            RunStep::Registers(Op::AddMul { off, src, .. }) => {
                touch(src, First::Other, None);
                touch(off, First::AddedTo, Some(false));
            }
            RunStep::CopyFromRegister(Product { src, .. }) => touch(src, First::Other, None),
            RunStep::Switch(ref switch) => {
                touch(switch.src, First::Other, None);
                for cell in &switch.cells {
                    match cell.form {
                        CellForm::Update { and: false, add: false } => {}
                        CellForm::Constant(v) => touch(cell.off, First::Other, Some(v == 0)),
                        CellForm::FromTable => touch(cell.off, First::Other, Some(false)),
                        CellForm::Carry(_) | CellForm::Update { .. } => touch(cell.off, First::AddedTo, Some(false)),
                    }
                }
            }
            RunStep::Registers(_) | RunStep::Op(_) | RunStep::Copy(_) => {}
        }
    }
    (0..cells.len()).filter(|&k| first[k] == First::AddedTo && cleared[k] && Some(cells[k]) != tested).collect()
}

/// Bytes a block test of a walk's temporaries reads from each window.
const BLOCK_BYTES: i32 = 16;

/// How far from the pointer a block test may read, and how far from it the
/// loop's test may be (the cell known on the tape): well within the guard
/// area (2^28 bytes each side), so its loads need no explicit check.
const BLOCK_REACH: i32 = 1 << 24;

/// The walk from `at.0` to `at.1` in `all` as a `WalkInBlocks`, and the
/// instructions its step takes (the `Loop` and the run), if it is one: its
/// body a run with temporaries, then adds, sets, multiplies and ifs, and
/// last the move, by 1 to 4 cells either way, its temporaries apart from
/// the cells it stores (below). The carry walk (`benches/idioms/carry.rs`:
/// three temporaries a frame, the iteration otherwise 16 instructions),
/// pow2_w1 and pow2_w2 (1- and 2-cell digits), their temporaries in arrays
/// of their own; of 447 programs (the corpus, the wider set and two sweeps
/// of public ones) no other walk with temporaries moves by fewer than 5
/// but rule90's and primes_inf's, whose temporaries lie beside the cells
/// they store (those took the same time in blocks).
///
/// The test of a block reads up to 15 iterations ahead, cells the
/// program may never touch: off the tape, the code tests the iteration's
/// own temporaries instead (and then, off the tape, runs the run as it
/// is, which fails where the program does). Past the walk's end it reads
/// what is there, which only decides how many iterations a test covers.
/// It stays true only where no iteration writes a cell that is a later
/// iteration's temporary: each instruction of the body that may write a
/// cell is compared with every temporary of the `frames - 1` iterations
/// after it (no I/O either: a call into the runtime would not keep the
/// register holding where the block ends). And it is quick only where its
/// 16 bytes hold no cell the walk stores to (see below).
pub(super) fn walk_in_blocks(
    all: &[Inst],
    (at, end): (usize, usize),
    program: &Program,
    target: Target,
) -> Option<(WalkInBlocks, usize)> {
    let (Op::Loop { off: test }, Some((last, body))) = (all[at].op, all[at + 1..end].split_last()) else {
        return None;
    };
    let Op::Move(stride @ (-4..=-1 | 1..=4)) = last.op else { return None };
    if target.checked {
        return None;
    }
    let (run, len) = run(all, at + 1, program, target, Place::Loop { tested: Some(test) })?;
    let rest = body.get(len..)?;
    let straight = |inst: &Inst| {
        matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } | Op::EndIf)
    };
    if run.zeros.is_empty() || !rest.iter().all(straight) {
        return None;
    }
    let frames = (BLOCK_BYTES - 1) / stride.abs() + 1;
    let zeros: Vec<i32> = run.zeros.iter().map(|&k| run.cells[k]).collect();
    // Cells an iteration may write: the run's (as `step_writes` says), and
    // every cell the rest names.
    let run_writes =
        run.steps.iter().flat_map(|step| step_cells(step).into_iter().filter(|&cell| step_writes(step, cell)));
    let writes: Vec<i32> = run_writes.chain(rest.iter().flat_map(|inst| inst.op.cells())).collect();
    let later = |z: i32| (1..frames).map(move |j| z + j * stride);
    if zeros.iter().flat_map(|&z| later(z)).any(|cell| writes.contains(&cell)) {
        return None;
    }
    let windows: Vec<i32> = zeros.iter().map(|&z| if stride > 0 { z } else { z + (frames - 1) * stride }).collect();
    if windows.iter().chain([&test]).any(|&w| w.abs() > BLOCK_REACH) {
        return None;
    }
    // A block's 16 bytes must not hold a cell the walk stores to in the
    // 16 iterations either side: a load over bytes just stored one at a
    // time waits for the stores to reach the cache (the digit chain idiom's
    // copy walk, `[>[->+>+<<]>>[-<<+>>]<...>]`, its temporaries beside the
    // cells it stores, each round of 16 frames soon after the last: 1.4-1.7
    // times its time).
    let stored = |cell: i32| !zeros.contains(&cell);
    let near = |w: i32| (-16..=16).map(move |j| w + j * stride);
    let nearby: Vec<i32> = writes.iter().copied().filter(|&w| stored(w)).flat_map(near).collect();
    if windows.iter().any(|&lo| nearby.iter().any(|cell| (lo..lo + BLOCK_BYTES).contains(cell))) {
        return None;
    }
    let mask = (0..frames).fold(0u16, |mask, j| mask | 1 << (j * stride.abs()));
    let blocks = FrameBlocks { stride, frames, windows, mask };
    Some((WalkInBlocks { test, run, blocks }, 1 + len))
}

/// Whether an instruction of `insts` touches `cell`.
fn touched_in(insts: &[Inst], cell: i32) -> bool {
    insts.iter().any(|inst| inst.op.cells().any(|c| c == cell))
}

/// Whether the arithmetic `insts` starts with (up to `RUN_MAX` of it) is
/// sets alone, which read nothing: no cell to keep in a register.
fn sets_alone(insts: &[Inst]) -> bool {
    let arithmetic =
        |inst: &&Inst| matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::Switch { .. });
    insts.iter().take(RUN_MAX).take_while(arithmetic).all(|inst| matches!(inst.op, Op::Set { .. }))
}

/// The switches a run from `all[i]` may hold, by index from `i`: up to the
/// first instruction it cannot take (at most `RUN_MAX` on), the plan of
/// each switch every cell of which is on the tape (`switch::on_tape`, from
/// what the code before it surely touched). Its cells in registers pass
/// through it: the carry walk's digit and carry (`benches/idioms/carry.rs`).
fn run_switches(all: &[Inst], i: usize, program: &Program) -> Vec<(usize, SwitchPlan)> {
    let mut switches = Vec::new();
    for (k, inst) in all[i..].iter().enumerate().take(RUN_MAX) {
        match inst.op {
            Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } => {}
            Op::Switch { .. } => match planned(all, i + k, program) {
                Some(switch) if switch.on_tape => switches.push((k, switch)),
                _ => break,
            },
            _ => break,
        }
    }
    switches
}

/// The plan `switches` has for instruction `k`.
fn switch_at(switches: &[(usize, SwitchPlan)], k: usize) -> Option<&SwitchPlan> {
    switches.iter().find(|(at, _)| *at == k).map(|(_, switch)| switch)
}

/// A run's instruction with no cell in a register: as outside a run.
fn in_memory(insts: &[Inst], target: Target) -> (RunStep, usize) {
    match copy(insts, target) {
        Some(copy) => (RunStep::Copy(copy), 2),
        None => (RunStep::Op(insts[0].op), 1),
    }
}

/// The run of adds, sets, multiplies and switches (those `switches` has a
/// plan for, by index) `insts` starts with (at most `RUN_MAX` of them), if some of
/// its cells are worth keeping in
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
/// later. That is the same error if its cells are closer together than the
/// tape is long (the run has no I/O). A switch reads its counter and the cells it
/// adds to, and writes its cells; all of them count in that distance, and
/// all are on the tape (its plan's `on_tape`), so its touches, whichever
/// values make them, make no error of their own.
pub(super) fn run_registers(
    insts: &[Inst],
    switches: &[(usize, SwitchPlan)],
    target: Target,
) -> Option<(usize, Vec<i32>)> {
    let takes = |k: usize| {
        matches!(insts[k].op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. }) || switch_at(switches, k).is_some()
    };
    let len = (0..insts.len().min(RUN_MAX)).take_while(|&k| takes(k)).count();
    if sets_alone(&insts[..len]) {
        return None;
    }
    // The cells written so far, in order, each with whether its value was
    // computed (not just set).
    let mut written: Vec<(i32, bool)> = Vec::with_capacity(2 * len);
    let mut hot = Vec::new();
    // An `if_nonzero` multiply's target stays in memory, where the access
    // that may fail is one instruction (`emit`'s `target_access`), but
    // where `carried_product` says it may start in a register.
    let skippable_target = |cell: i32| {
        insts[..len].iter().any(|inst| matches!(inst.op, Op::AddMul { off, if_nonzero: true, .. } if off == cell))
            && !carried_product(&insts[..len], cell)
    };
    let mut span = Hull::of_offsets(insts[..len].iter().flat_map(|inst| inst.op.cells()));
    for (k, inst) in insts[..len].iter().enumerate() {
        // The cell's last write in the run: whether it computed the value.
        let last_write = |cell: i32| written.iter().rev().find(|w| w.0 == cell).map(|w| w.1);
        let computed = |cell: i32| last_write(cell) == Some(true);
        // What it reads: an add its cell, a multiply both, a switch its
        // counter and the cells whose new value it makes from the old one.
        let switch = switch_at(switches, k);
        let reads_own = |cell: &&SwitchCellPlan| matches!(cell.form, CellForm::Carry(_) | CellForm::Update { .. });
        let arithmetic_reads = match inst.op {
            Op::Add { off, .. } => [Some(off), None],
            Op::AddMul { off, src, .. } => [Some(off), Some(src)],
            _ => [None, None],
        };
        let switch_reads = switch
            .into_iter()
            .flat_map(|switch| std::iter::once(switch.src).chain(switch.cells.iter().filter(reads_own).map(|c| c.off)));
        for cell in arithmetic_reads.into_iter().flatten().chain(switch_reads) {
            if computed(cell) && !hot.contains(&cell) && hot.len() < RUN_CELLS && !skippable_target(cell) {
                hot.push(cell);
            }
        }
        // What it writes, with whether it computes the value: a set makes a
        // constant, and so does an add to one; an add to a cell from the
        // tape, a multiply, or a switch's cell but a constant one computes.
        match (inst.op, switch) {
            (Op::Switch { .. }, Some(switch)) => {
                span = span.join(Hull::of_offsets([switch.span.0, switch.span.1]));
                let changes = |cell: &&SwitchCellPlan| cell.form != CellForm::Update { and: false, add: false };
                let writes = switch.cells.iter().filter(changes);
                written.extend(writes.map(|cell| (cell.off, !matches!(cell.form, CellForm::Constant(_)))));
            }
            (Op::Add { off, .. }, _) => {
                let computes = last_write(off) != Some(false);
                written.push((off, computes));
            }
            (Op::Set { off, .. }, _) => written.push((off, false)),
            (Op::AddMul { off, .. }, _) => written.push((off, true)),
            _ => unreachable!("a run of arithmetic and switches"),
        }
    }
    (!hot.is_empty() && target.fails_alike(span)).then_some((len, hot))
}

/// Whether the `if_nonzero` multiply into `cell` of the run `insts` may
/// keep its product in a register, the cell not loaded (`emit`'s
/// `Held::Product`), until the run next touches the cell, which then
/// loads it: it is the cell's first touch in the run, its factor is odd
/// (the product is zero exactly where the source is), the run touches the
/// cell again, and every cell touched between (and the other cell of the
/// instruction that touches it again, which its code may read first: a
/// multiply's source) is one the run had touched before; or one beyond
/// such a cell from this one, which the run's cells being closer together
/// than the tape is long (`run_registers` asks it) keeps on the tape
/// where this one is off; or one touched there only once, as the target
/// of an `if_nonzero` multiply. The load then fails, off the tape, where
/// the program does: at the multiply for a nonzero product, else there;
/// and the access of such a target, whose error the program may make only
/// after the multiply's, checks the cell first where the product is not
/// zero (`emit`'s `Skip::carried`). A cell on this one's side first
/// touched between otherwise (a set, an add) is one the program touches
/// after the multiply's, where the code would fail first: the cell stays
/// in memory. (`[->+>+<<]>[-<+>]` carries its temporary past the second
/// target; `[->+>+++<<]>[-<+>]>[-]` past the touch of its third cell,
/// and so does `[->>+<<<<+++>>]>>[-<<+>>]<<<<[-]` past its first.)
pub(super) fn carried_product(insts: &[Inst], cell: i32) -> bool {
    let touches = |inst: &Inst, c: i32| inst.op.cells().any(|touched| touched == c);
    let Some(at) = insts.iter().position(|inst| touches(inst, cell)) else { return false };
    let Op::AddMul { off, src, factor, if_nonzero: true } = insts[at].op else { return false };
    let Some(next) = insts[at + 1..].iter().position(|inst| touches(inst, cell)).map(|n| at + 1 + n) else {
        return false;
    };
    let before: Vec<i32> = insts[..at].iter().flat_map(|inst| inst.op.cells()).chain([src]).collect();
    let between = &insts[at + 1..=next];
    // A new cell's one touch between: an `if_nonzero` multiply's access of
    // its target (not the instruction that loads `cell`).
    let skipped_target = |c: i32| {
        let mut touching = between.iter().filter(|inst| touches(inst, c));
        matches!(
            (touching.next().map(|inst| inst.op), touching.next()),
            (Some(Op::AddMul { off, src, if_nonzero: true, .. }), None) if off == c && src != c
        ) && !touches(&insts[next], c)
    };
    let beyond_touched = |c: i32| before.iter().any(|&k| (c < k && k < cell) || (cell < k && k < c));
    off == cell
        && factor % 2 == 1
        && (between.iter().flat_map(|inst| inst.op.cells()))
            .all(|c| c == cell || before.contains(&c) || beyond_touched(c) || skipped_target(c))
}
