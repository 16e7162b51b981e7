//! Instruction selection: the optimised IR -> a `Plan`, plain data saying
//! what form each piece of the program takes in machine code: which loops
//! run in registers (`RegisterLoop`), which are unrolled (`SmallLoop`,
//! with its sunk store and the cell it carries in eax), which carry a
//! switch's digit in a register (`CarryLoop`), which count down many
//! iterations at once on entry (`FastForward`), which runs of arithmetic
//! keep cells in registers (`Run`), which copies store the product
//! (`Straight::Copy`), which sets of neighbouring cells are stored
//! together (`SetBlock`), how a scan back returns (`ScanForm`), how a
//! shortcut tests its zeros (`ShortcutPlan`) and how a switch makes each
//! cell's value (`SwitchPlan`).
//!
//! Owns every "should I" of the code generator, and the reasons each
//! choice keeps the program's tape errors (asked of `ir::analysis`). Knows
//! no registers, no bytes and no dynasm: `emit` turns the plan into code
//! and decides nothing. The plan's steps stand for the program's
//! instructions in order, each exactly once, so the emitter can note where
//! each instruction's code starts.

mod eax;
mod forward;
mod loops;
mod runs;
mod scan;
mod shortcut;
mod stores;
mod switch;

pub(super) use eax::EaxCells;
pub(super) use shortcut::{ShortcutPlan, ZeroTests};
pub(super) use switch::{CarriedForm, CarryAdd, CellForm, SwitchCellPlan, SwitchPlan};

use super::Target;
use crate::ir::{Inst, Op, Program};
use scan::ScanReturn;

/// Cells a run of arithmetic may keep in registers (`emit`'s `RUN_REGS`).
pub(super) const RUN_CELLS: usize = 5;

/// Cells a register loop may keep in registers (`emit`'s `LOOP_REGS`).
pub(super) const LOOP_CELLS: usize = 6;

/// What the code of a whole program is made of: its steps, in program order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    pub steps: Vec<Step>,
}

/// What one or more consecutive instructions become. The rare, large
/// forms are boxed: a plan has a step for nearly every instruction of a
/// program that optimises little (`-O0`: each command), and a step of 16
/// bytes instead of 96 is 8 GB less for a 100 MB program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Straight-line code (or a block's opening or closing instruction,
    /// with nothing special about the block).
    Straight(Straight),
    /// A scan, and what it does for a scan back that follows it.
    Scan { stride: i32, value: u8, form: ScanForm },
    /// An `Op::Shortcut`.
    Shortcut(Box<ShortcutPlan>),
    /// A loop, its end included, whose cells live in registers.
    RegisterLoop(Box<RegisterLoop>),
    /// A walk, its end included, whose cells live in registers and are
    /// handed from one iteration to the next.
    RegisterWalk(Box<RegisterWalk>),
    /// A short innermost loop, its end included, unrolled once.
    SmallLoop(Box<SmallLoop>),
    /// `Loop`, `Switch`, `Move`, `EndLoop`, the switch's digit carried in
    /// a register.
    CarryLoop(Box<CarryLoop>),
    /// A loop's `Loop` (its body and end follow as plain code), with many
    /// of its iterations made at once on entry.
    FastForward(Box<FastForward>),
    /// A walk whose body starts with a run with temporaries, tested for
    /// several iterations at once (`runs::walk_in_blocks`): its `Loop` and
    /// the run; the rest of its body and its end follow as plain code.
    WalkInBlocks(Box<WalkInBlocks>),
    /// A walk's step (`walk`: any of the above that a loop becomes) that
    /// first keeps the cell the walk tests first (`test` from the
    /// pointer), for the scan back after it that returns there
    /// (`scan::walk_return`). The walk's code leaves that register alone.
    WalkKeepsStart { test: i32, walk: Box<Step> },
}

/// Straight-line code: one instruction, or several as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Straight {
    Op(Op),
    /// `set [t] = 0` then `mul [t] += [s] * k`: the product stored, with no
    /// load of the cell just cleared.
    Copy(Product),
    /// A run of arithmetic that keeps some cells in registers.
    Run(Box<Run>),
    /// An `Op::Switch`.
    Switch(Box<SwitchPlan>),
    /// Consecutive sets of neighbouring cells (`stores::set_block`).
    Sets(Box<SetBlock>),
}

/// Sets of the cells from the lowest to the highest, each once, in the
/// program's order: stored several cells at a time, or where one is off
/// the tape, one at a time in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SetBlock {
    /// (cell, value), in the program's order.
    pub sets: Vec<(i32, u8)>,
}

/// `cell[off] = cell[src] * factor`: a clear and a multiply into the same
/// cell (two instructions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Product {
    pub off: i32,
    pub src: i32,
    pub factor: u8,
}

/// Where straight-line code runs, for what a run may take its temporaries
/// for (`runs::temporaries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Outside every loop: once.
    Once,
    /// In a loop: again and again. `tested`: the cell the loop tests,
    /// where the pointer has not moved since (nonzero on entry).
    Loop { tested: Option<i32> },
}

/// A run of adds, sets and multiplies that keeps `cells` in registers
/// (see `runs::run_registers`): loaded at their first read, stored at
/// the run's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Run {
    /// At most `RUN_CELLS`; the emitter gives each its register by index.
    pub cells: Vec<i32>,
    pub steps: Vec<RunStep>,
    /// The cell (index in `cells`) that the instruction after the run
    /// reads: eax takes it from its register, if that holds it at the end.
    pub read_next: Option<usize>,
    /// In a loop, its temporaries (`runs::temporaries`, indices in
    /// `cells`): the code tests them first and, where all hold 0, runs a
    /// copy of the run that neither loads nor stores them.
    pub zeros: Vec<usize>,
    /// The steps (indices in `steps`) that read a multiply's source for
    /// the last time (`runs::last_reads`): where the multiply would copy
    /// the source's register into the target's, the two cells swap
    /// registers instead.
    pub last_reads: Vec<usize>,
}

/// A walk (`runs::walk_in_blocks`) testing `test`, whose body starts with
/// `run`, which has temporaries: instead of testing them in each
/// iteration, the code tests those of `blocks.frames` iterations at once
/// and then only compares the pointer with where that block ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WalkInBlocks {
    pub test: i32,
    pub run: Run,
    pub blocks: FrameBlocks,
}

/// The temporaries of `frames` consecutive iterations of a walk that moves
/// by `stride`, as 16 bytes from each of `windows` (offsets from the
/// pointer at the first iteration tested, or at the last where the walk
/// goes down), the bits of `mask` marking the bytes that are temporaries:
/// where those all hold 0, so do the temporaries of each of those
/// iterations when it comes (no iteration writes a later one's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FrameBlocks {
    pub stride: i32,
    pub frames: i32,
    pub windows: Vec<i32>,
    pub mask: u16,
}

/// One instruction of a `Run`, or two as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RunStep {
    /// A switch all of whose cells are on the tape (`SwitchPlan::on_tape`):
    /// v from a register where its cell is in one, and each cell's new
    /// value made in its register where it is in one.
    Switch(Box<SwitchPlan>),
    /// An add, set or multiply with a cell in a register.
    Registers(Op),
    /// A set of a cell in a register, its first touch in the run, beyond
    /// the cells the run touched before: stored here as well as at the
    /// run's end (`runs::run`).
    SetStored {
        off: i32,
        val: u8,
    },
    /// A copy from a cell in a register into one in memory: its byte (or
    /// product) stored.
    CopyFromRegister(Product),
    /// The others, as outside a run.
    Op(Op),
    Copy(Product),
}

/// What a scan does for the scan back after it (`scan::scan_return`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScanForm {
    Plain,
    /// Keeps where it starts for the scan back that follows.
    KeepsStart,
    /// The scan back of one that kept its start: it jumps to the cell
    /// before that start, comparing the pointer with it first if it may
    /// start behind it.
    Returns {
        compare: bool,
    },
}

/// A loop whose `cells` (sorted) live in registers (`loops::register_loop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RegisterLoop {
    pub test: i32,
    /// The body: adds, sets, multiplies, ifs.
    pub body: Vec<Op>,
    pub cells: Vec<i32>,
}

/// A walk whose `cells` (sorted) live in registers (`loops::register_walk`):
/// each iteration loads `loads`, makes the body in registers, stores what
/// it wrote and moves on by `stride`; each of `carried` then takes the
/// value of the cell `stride` past it, which its register holds (loaded
/// before the first iteration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RegisterWalk {
    pub test: i32,
    /// The body without its move: adds, sets, multiplies, ifs.
    pub body: Vec<Op>,
    pub stride: i32,
    pub cells: Vec<i32>,
    pub carried: Vec<i32>,
    pub loads: Vec<i32>,
    /// The lowest and the highest of `cells` and the test's cell: an
    /// iteration runs where they are on the tape.
    pub reach: (i32, i32),
    /// Adds made with the multiply before them (`loops::folded_adds`):
    /// (multiply, add), indices in `body`.
    pub folded: Vec<(usize, usize)>,
    /// Two iterations a round: each carried cell takes its value from a
    /// cell no carried cell takes from (Faase's -1 from 4, 0 from 5), so
    /// the second iteration can name each pair's registers the other way
    /// round, and no value moves between registers.
    pub paired: bool,
}

/// A short innermost loop, two copies of the body per iteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SmallLoop {
    pub test: i32,
    /// The cell eax holds at the top of every iteration (`eax::carried`).
    pub carried: Option<i32>,
    /// The store made once on the way out instead of in every iteration.
    pub sunk: Option<SunkStore>,
    /// The first copy of the body: up to the sunk store's place, and after
    /// it (runs and copies do not cross it, where the listing shows it).
    pub first: Vec<Straight>,
    pub after_sunk: Vec<Straight>,
    /// The second copy: the body without the sunk store, whole.
    pub second: Vec<Straight>,
    /// An add walk's iterations 16 bytes at a time (`loops::add_walk`).
    pub blocks: Option<AddWalk>,
}

/// A walk whose body adds a constant to one cell and moves the pointer
/// (siercarpet's `[-->]`, `<++[<++]`: `[p+off] += add; p += stride`), for
/// a stride of 1, 2 or 4 either way: after a few iterations one at a time,
/// the iterations a block of 16 bytes holds (16 / |stride|) are made at
/// once where none of the cells they test stops the walk (holds `stop`):
/// one compare of 16 bytes, one add of 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AddWalk {
    pub stride: i32,
    pub off: i32,
    pub add: u8,
    /// The value that stops the walk as the cells are before the block:
    /// 0, or where each tested cell was added to by the iteration just
    /// before its test (`off == stride`), the value the add makes 0.
    pub stop: u8,
}

/// A sunk store (`loops::sunk_store`): `cell[off] = val`, `off` seen from
/// where the loop leaves the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SunkStore {
    pub off: i32,
    pub val: u8,
}

/// A carry loop (`loops::carry_loop`): while `cell[test]`, the switch,
/// then `ptr += stride`; the switch's cell `carried` (an index in its
/// cells) is the one the next iteration switches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CarryLoop {
    pub test: i32,
    pub switch: SwitchPlan,
    pub stride: i32,
    pub carried: usize,
    pub carried_form: CarriedForm,
}

/// A loop that counts down to a branch made by a scan
/// (`forward::fast_forward`): on entry, where the cells from `reach.0` to
/// `reach.1` are on the tape, `nonzero` are not 0 and `zero` is, each of
/// `adds` (cell, add per iteration) is added `n - 1` times, `n` the
/// fewest iterations that make one of `counters` 0: for a counter `(cell,
/// k)` holding x, `n - 1 = x * k - 1` (mod 256). Offsets are from the
/// pointer at the loop's test, `test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FastForward {
    pub test: i32,
    pub adds: Vec<(i32, u8)>,
    pub counters: Vec<(i32, u8)>,
    pub nonzero: Vec<i32>,
    pub zero: i32,
    pub reach: (i32, i32),
}

/// The plan of `program` for `target`.
pub(super) fn select(program: &Program, target: Target) -> Plan {
    if target.wide() {
        return plain(program);
    }
    let partner = program.block_partners();
    let insts = &program.insts;
    let mut steps = Vec::new();
    // The scan back that the last scan kept its start for.
    let mut scan_back = None;
    // Whether a loop is open around each instruction: code in one runs
    // again and again.
    let in_loop: Vec<bool> = (insts.iter())
        .scan(0usize, |open, inst| {
            match inst.op {
                Op::Loop { .. } => *open += 1,
                Op::EndLoop => *open -= 1,
                _ => {}
            }
            Some(*open > 0)
        })
        .collect();
    // The cell the innermost open loop tests, while the pointer is where
    // the test left it: nonzero at the top of the body.
    let mut tested = None;
    let mut i = 0;
    while i < insts.len() {
        let (step, len) = match (insts[i].op, loops::carry_loop(program, i)) {
            (_, Some(carry)) => (Step::CarryLoop(Box::new(carry)), 4),
            // Before an unrolled loop, which tests a run's temporaries in
            // each copy of its body: a walk moving each frame's cell out
            // to an array 4100 cells on and back (`[[->>..+<<..]>>..[-<<..
            // +>>..]<<..>]`, 4000 frames) took 0.93 of its time in blocks,
            // with two such arrays 0.74.
            (Op::Loop { off }, None) => match runs::walk_in_blocks(insts, (i, partner[i]), program, target) {
                Some((walk, len)) => (Step::WalkInBlocks(Box::new(walk)), len),
                None => match loops::loop_step(off, &insts[i + 1..partner[i]], program, target) {
                    Some(step) => (step, partner[i] + 1 - i),
                    None => match forward::fast_forward(off, &insts[i + 1..partner[i]]) {
                        Some(forward) => (Step::FastForward(Box::new(forward)), 1),
                        None => (Step::Straight(Straight::Op(insts[i].op)), 1),
                    },
                },
            },
            (Op::Scan { stride, value }, None) => {
                (Step::Scan { stride, value, form: scan::form(program, i, &mut scan_back) }, 1)
            }
            (Op::Shortcut { start }, None) => (Step::Shortcut(Box::new(ShortcutPlan::of(program.shortcut(start)))), 1),
            _ => {
                let place = if in_loop[i] { Place::Loop { tested } } else { Place::Once };
                let (straight, len) = straight_piece(insts, i, program, target, place);
                (Step::Straight(straight), len)
            }
        };
        tested = match (&step, insts[i].op) {
            // A walk in blocks' run leaves the pointer where its test did.
            (Step::Straight(Straight::Op(_)) | Step::WalkInBlocks(_), Op::Loop { off }) => Some(off),
            (Step::Straight(Straight::Op(_)), Op::Move(_) | Op::EndLoop) => None,
            (Step::Straight(_), _) => tested,
            _ => None,
        };
        let step = match insts[i].op {
            Op::Loop { off } => keeping_start(step, off, program, (i, partner[i]), &mut scan_back),
            _ => step,
        };
        steps.push(step);
        i += len;
    }
    Plan { steps }
}

/// The step of the loop from `at.0` to `at.1` (testing `test`), made to keep
/// where it starts where it is a walk that the scan back after it returns
/// along (`scan::walk_return`, which then gives that scan its form), and
/// its code leaves r11 alone: not a register walk with a register for
/// every cell it may hold, not a walk in blocks.
fn keeping_start(
    step: Step,
    test: i32,
    program: &Program,
    at: (usize, usize),
    scan_back: &mut Option<ScanReturn>,
) -> Step {
    let keeps_r11 = match &step {
        Step::RegisterWalk(w) => w.cells.len() < LOOP_CELLS,
        // r11 holds where the block tested last ends.
        Step::WalkInBlocks(_) => false,
        _ => true,
    };
    match scan::walk_return(program, at.0, at.1) {
        Some(back) if keeps_r11 => {
            *scan_back = Some(back);
            Step::WalkKeepsStart { test, walk: Box::new(step) }
        }
        _ => step,
    }
}

/// Every instruction on its own, as it is: the plan for cells wider than a
/// byte, where every other form (runs and loops in registers, unrolled
/// loops, copies, the eax and flag tracking they rely on) computes with
/// bytes. The passes that run at those widths make nothing else
/// (`opt::passes`).
fn plain(program: &Program) -> Plan {
    Plan { steps: program.ops().map(|op| Step::Straight(Straight::Op(op))).collect() }
}

/// Straight-line code `insts[from..]` (of `program`), piece by piece,
/// `insts[..from]` the straight-line code run before it: the body of a
/// loop that tests `tested`.
fn straight(insts: &[Inst], from: usize, program: &Program, target: Target, tested: i32) -> Vec<Straight> {
    let mut pieces = Vec::new();
    let mut i = from;
    while i < insts.len() {
        let (piece, len) = straight_piece(insts, i, program, target, Place::Loop { tested: Some(tested) });
        pieces.push(piece);
        i += len;
    }
    pieces
}

/// The piece `all[i..]` starts with, and how many instructions it takes:
/// a run with cells in registers (not on checked tapes, which may be
/// smaller than the run's reach), a block of sets, a copy, a switch, or
/// the first instruction. `all[..i]`: the code before it, which a switch asks what
/// it surely touched.
fn straight_piece(all: &[Inst], i: usize, program: &Program, target: Target, place: Place) -> (Straight, usize) {
    if !target.checked {
        if let Some((run, len)) = runs::run(all, i, program, target, place) {
            return (Straight::Run(Box::new(run)), len);
        }
    }
    if let Some((block, len)) = stores::set_block(all, i, program, target, place) {
        return (Straight::Sets(Box::new(block)), len);
    }
    match switch::planned(all, i, program) {
        Some(switch) => (Straight::Switch(Box::new(switch)), 1),
        None => copy_or_op(&all[i..], target),
    }
}

/// `set [t] = 0` then `mul [t] += [s] * k` as a `Copy`, or the first of
/// `insts` as it is.
fn copy_or_op(insts: &[Inst], target: Target) -> (Straight, usize) {
    match runs::copy(insts, target) {
        Some(copy) => (Straight::Copy(copy), 2),
        None => (Straight::Op(insts[0].op), 1),
    }
}

#[cfg(test)]
mod tests;
