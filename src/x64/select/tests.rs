//! Selection's decisions, tested as data: no assembler involved.

use super::loops::{folded_adds, register_loop, register_walk, sunk_store};
use super::runs::{carried_product, last_reads, run_registers};
use super::scan::{scan_return, walk_return};
use super::*;
use crate::ir::EofMode;
use crate::opt::testing::{add, mul, set};

/// The smallest guarded tape, and a checked one.
const GUARDED: Target = Target { eof: EofMode::Unchanged, checked: false, cell_bits: 8, tape_cells: 4096 };
const CHECKED: Target = Target { eof: EofMode::Unchanged, checked: true, cell_bits: 8, tape_cells: 4000 };
/// A guarded tape longer than 5000 cells.
const LONG: Target = Target { tape_cells: 1 << 18, ..GUARDED };

fn insts(ops: &[Op]) -> Vec<Inst> {
    ops.iter().map(|&op| Inst::new(op, 0)).collect()
}

fn program(ops: &[Op]) -> Program {
    Program { insts: insts(ops), data: vec![] }
}

fn plan(ops: &[Op], target: Target) -> Vec<Step> {
    select(&program(ops), target).steps
}

/// d = 3d through temporaries at `t1` and `t2`: d copied into both, both
/// added back and cleared (`Run::zeros`).
fn tripling(t1: i32, t2: i32) -> Vec<Op> {
    vec![mul(t1, 0, 1), mul(t2, 0, 2), set(0, 0), mul(0, t1, 1), set(t1, 0), mul(0, t2, 1), set(t2, 0)]
}

#[test]
fn runs_in_loops_take_their_temporaries_for_zero() {
    // A walk over frames [d, t1, t2]: d copied into both, both added back
    // and cleared (d = 3d), as the differential test's walk.
    let body = tripling(1, 2);
    // The temporaries of the first run, in straight-line code, in the
    // first copy of a short loop's body or in a walk in blocks.
    let zeros_of = |ops: &[Op]| {
        let steps = plan(ops, GUARDED);
        let pieces = steps.iter().flat_map(|step| match step {
            Step::Straight(piece) => vec![piece.clone()],
            Step::SmallLoop(l) => l.first.clone(),
            Step::WalkInBlocks(w) => vec![Straight::Run(Box::new(w.run.clone()))],
            _ => vec![],
        });
        let run = pieces.into_iter().find_map(|piece| match piece {
            Straight::Run(run) => Some(run),
            _ => None,
        });
        run.map(|run| run.zeros.iter().map(|&k| run.cells[k]).collect::<Vec<_>>())
    };
    let in_loop = |ops: &[Op]| [&[Op::Loop { off: 0 }], ops, &[Op::Move(3), Op::EndLoop]].concat();
    assert_eq!(zeros_of(&in_loop(&body)), Some(vec![1, 2]));
    // Straight-line code that runs once: nothing to gain.
    assert_eq!(zeros_of(&body), Some(vec![]));
    // A cell read first (d, moved out) is data, not a temporary; one set
    // first needs no load; one left nonzero must be stored.
    let moved_out = [mul(5, 1, 1), set(1, 0), mul(0, 5, 1), set(5, 0)];
    assert_eq!(zeros_of(&in_loop(&moved_out)), Some(vec![5]));
    let set_first = [set(1, 0), mul(1, 0, 1), mul(0, 1, 1), set(1, 0)];
    assert_eq!(zeros_of(&in_loop(&set_first)), Some(vec![]));
    let left_nonzero = [mul(1, 0, 1), mul(0, 1, 1), add(1, 1)];
    assert_eq!(zeros_of(&in_loop(&left_nonzero)), Some(vec![]));
    // The cell the loop tests is nonzero in its body until the pointer
    // moves (`[p] += [p+4]; [p+4] = 0; [p+4] += [p]; [p] = 0`, after an
    // if): a test that would always fail. (An output keeps the loop a
    // plain one.)
    let tested = [Op::Out { off: 1 }, Op::If { off: 3 }, set(3, 0), Op::EndIf, mul(0, 4, 1), set(4, 0)];
    let tested = [&tested[..], &[mul(4, 0, 1), set(0, 0), add(-1, 255)]].concat();
    assert_eq!(zeros_of(&in_loop(&tested)), Some(vec![]));
    let other = [&tested[..1], &[mul(2, 4, 1), set(4, 0), mul(4, 2, 1), set(2, 0)]].concat();
    assert_eq!(zeros_of(&in_loop(&other)), Some(vec![2]));
    let moved = [&[Op::Loop { off: 0 }, Op::Move(1), Op::Loop { off: 0 }, Op::EndLoop], &body[..]].concat();
    assert_eq!(zeros_of(&[&moved[..], &[Op::Move(3), Op::EndLoop]].concat()), Some(vec![1, 2]));
    // The start of the carry walk's body: its copy of the digit (544) is
    // added to first and cleared; the digit chain's counter (1088), added
    // to by an `if_nonzero` multiply, is left as it is made here.
    let carry = [
        mul(544, 0, 1),
        set(0, 1),
        add(544, 255),
        mul(0, 544, 2),
        Op::AddMul { off: 1088, src: 544, factor: 1, if_nonzero: true },
        set(544, 0),
    ];
    assert_eq!(zeros_of(&in_loop(&carry)), Some(vec![544]));
    // Not on checked tapes, where there are no runs.
    assert!(plan(&in_loop(&body), CHECKED).iter().all(|step| !matches!(step, Step::Straight(Straight::Run(_)))));
}

#[test]
fn a_multiply_into_a_cleared_cell_is_a_copy() {
    let copy = Straight::Copy(Product { off: 10, src: 1, factor: 1 });
    assert_eq!(plan(&[set(10, 0), mul(10, 1, 1)], GUARDED), [Step::Straight(copy.clone())]);
    // Checked code touches the cleared cell first, as the program does.
    assert_eq!(plan(&[set(10, 0), mul(10, 1, 1)], CHECKED), [Step::Straight(copy)]);
    // Apart, into another cell, or farther apart than a guarded tape is
    // long: two.
    assert_eq!(plan(&[set(10, 0), add(2, 1), mul(10, 1, 1)], GUARDED).len(), 3);
    assert_eq!(plan(&[set(10, 0), mul(11, 1, 1)], GUARDED).len(), 2);
    assert_eq!(plan(&[set(5000, 0), mul(5000, 0, 1)], GUARDED).len(), 2);
    assert_eq!(plan(&[set(5000, 0), mul(5000, 0, 1)], CHECKED).len(), 1);
    assert_eq!(plan(&[set(5000, 0), mul(5000, 0, 1)], LONG).len(), 1);
}

#[test]
fn a_walk_clears_what_the_next_iteration_overwrites_on_the_way_out() {
    // mandelbrot's shift: the next iteration's copy overwrites [p+1].
    let shift = [set(10, 0), mul(10, 1, 1), set(1, 0), Op::Move(-9)];
    assert_eq!(sunk_store(&insts(&shift), 0, GUARDED), Some(2));
    // An add reads it; the loop's test reads it; a later access in the
    // same iteration reads it: the clear stays.
    let added = [add(10, 1), set(1, 0), Op::Move(-9)];
    assert_eq!(sunk_store(&insts(&added), 0, GUARDED), None);
    assert_eq!(sunk_store(&insts(&shift), 10, GUARDED), None);
    let reread = [set(10, 0), mul(10, 1, 1), set(1, 0), mul(2, 1, 1), Op::Move(-9)];
    assert_eq!(sunk_store(&insts(&reread), 0, GUARDED), None);
    // A cell no access before it proves on the tape: made where it is, so
    // that off the tape the program fails at its own command (the next
    // iteration's set would fail first at another).
    let beyond = [set(1, 255), set(2, 0), Op::Move(1)];
    assert_eq!(sunk_store(&insts(&beyond), 0, GUARDED), None);
    // Nor does a multiply that touches it only where its source is not 0
    // (fuzz seed 7975550: `[p+4] = 0; p += 5` after `mul [p+4] += [p-2] *
    // 0 if`); an add to a cell beyond it does.
    let touch = Op::AddMul { off: 4, src: -2, factor: 0, if_nonzero: true };
    for (before, sunk) in [(touch, None), (add(5, 1), Some(3))] {
        let body = [set(-2, 0), before, set(-1, 0), set(4, 0), Op::Move(5)];
        assert_eq!(sunk_store(&insts(&body), 0, GUARDED), sunk);
    }
    // In the plan: made on the way out, seen from where the loop leaves
    // the pointer; the first copy is cut where the store was.
    let steps = plan(&[&[Op::Loop { off: 0 }], &shift[..], &[Op::EndLoop]].concat(), GUARDED);
    let [Step::SmallLoop(l)] = &steps[..] else { panic!("a small loop: {steps:?}") };
    assert_eq!(l.sunk, Some(SunkStore { off: 10, val: 0 }));
    assert_eq!(l.first, [Straight::Copy(Product { off: 10, src: 1, factor: 1 })]);
    assert_eq!(l.after_sunk, [Straight::Op(Op::Move(-9))]);
    // Not on a checked tape, which may be smaller than the walk's reach.
    let steps = plan(&[&[Op::Loop { off: 0 }], &shift[..], &[Op::EndLoop]].concat(), CHECKED);
    assert!(matches!(&steps[..], [Step::SmallLoop(l)] if l.sunk.is_none()));
}

#[test]
fn a_walk_carrying_a_value_keeps_it_in_eax() {
    // On more cells than a register walk takes (`RegisterWalk`), which it
    // would otherwise be: factor.b's copy back, with 5 cells stepped.
    let walk = |src: i32, stride: i32, target| {
        let copy = [set(-1, 0), mul(-1, src, 1), set(src, 0)];
        let ops: Vec<Op> = [Op::Loop { off: 0 }]
            .into_iter()
            .chain(copy)
            .chain((1..6).map(|off| add(off, 1)))
            .chain([Op::Move(stride), Op::EndLoop])
            .collect();
        match &plan(&ops, target)[..] {
            [Step::SmallLoop(l)] => l.carried,
            steps => panic!("a small loop: {steps:?}"),
        }
    };
    // [p-1] = [p+9] and p -= 10: the next iteration reads what this one
    // stored, [p+9] seen from there.
    assert_eq!(walk(9, -10, GUARDED), Some(9));
    // p -= 9: it reads a cell this one did not store.
    assert_eq!(walk(9, -9, GUARDED), None);
    assert_eq!(walk(9, -10, CHECKED), None);
}

#[test]
fn an_if_nonzero_target_starts_in_a_register_only_as_a_carried_product() {
    let spec = |off, src, factor| Op::AddMul { off, src, factor, if_nonzero: true };
    // Touched again right after (its counter cleared between): carried.
    let body = [add(1, 255), spec(4, 1, 1), set(1, 0), add(4, 1)];
    assert!(carried_product(&insts(&body), 4));
    assert_eq!(run_registers(&insts(&body), &[], GUARDED).map(|(_, cells)| cells), Some(vec![1, 4]));
    // An even factor (a zero product from a nonzero source), a cell first
    // touched between, no touch after, a touch before: kept in memory.
    for body in [
        vec![add(1, 255), spec(4, 1, 2), add(4, 1)],
        vec![add(1, 255), spec(4, 1, 1), add(5, 1), add(4, 1)],
        vec![add(1, 255), spec(4, 1, 1), set(1, 0)],
        vec![add(4, 1), add(1, 255), spec(4, 1, 1), add(4, 1)],
    ] {
        assert!(!carried_product(&insts(&body), 4), "{body:?}");
    }
    // Another `if_nonzero` multiply's target between, touched there once
    // (`[->+>+++<<]>[-<+>]>[-]`'s touch of its dead cell, a copy's second
    // target): carried, that access checking the cell first.
    for factor in [0, 3] {
        let body = [add(1, 255), spec(4, 1, 1), spec(5, 1, factor), set(1, 0), add(4, 1), set(5, 0)];
        assert!(carried_product(&insts(&body), 4));
    }
    // Any touch of a cell beyond one touched before: on the tape where the
    // product's is off.
    for touch in [add(0, 1), set(-2, 0), spec(0, 1, 2)] {
        let body = [add(1, 255), spec(4, 1, 1), touch, set(1, 0), add(4, 1)];
        assert!(carried_product(&insts(&body), 4));
    }
    // Touched twice between, or by the instruction that loads the cell (a
    // multiply from it), or on its side not by a multiply that may skip
    // it: kept in memory.
    for body in [
        vec![add(1, 255), spec(4, 1, 1), spec(5, 1, 1), add(5, 1), add(4, 1)],
        vec![add(1, 255), spec(4, 1, 1), spec(5, 1, 1), spec(5, 4, 1)],
        vec![add(1, 255), spec(4, 1, 1), mul(5, 1, 1), add(4, 1)],
        vec![add(1, 255), spec(4, 1, 1), add(2, 1), add(4, 1)],
    ] {
        assert!(!carried_product(&insts(&body), 4), "{body:?}");
    }
}

#[test]
fn runs_keep_in_registers_the_cells_they_read_back() {
    let chosen = |ops: &[Op]| run_registers(&insts(ops), &[], GUARDED);
    // mandelbrot's: [p] is computed, then read three times; [p+2] is
    // only read, then cleared and copied into; [p+3] added to once.
    let digit = [add(0, 255), mul(0, 2, 1), set(2, 0), mul(2, 0, 1), mul(3, 0, 1), set(0, 1)];
    assert_eq!(chosen(&[&digit[..], &[Op::Move(9)]].concat()), Some((6, vec![0])));
    // A copy into a cleared cell, and adds to a constant, read nothing
    // back: left to the fused copy and to memory.
    assert_eq!(chosen(&[set(10, 0), mul(10, 1, 1)]), None);
    assert_eq!(chosen(&[set(1, 4), add(1, 1), mul(2, 1, 1)]), None);
    // Cells farther apart than the tape is long: no registers.
    let far = [add(0, 1), mul(5000, 0, 1), add(0, 1)];
    assert_eq!(chosen(&far), None);
    assert_eq!(run_registers(&insts(&far), &[], LONG), Some((3, vec![0])));
    // The run's steps: the copy out of the register stored from it.
    let [Step::Straight(Straight::Run(run))] = &plan(&digit, GUARDED)[..] else { panic!("a run") };
    assert_eq!(run.cells, [0]);
    assert_eq!(run.steps[2], RunStep::CopyFromRegister(Product { off: 2, src: 0, factor: 1 }));
    assert_eq!(run.steps.len(), 5);
    // A cell it sets first is stored at the run's end; beyond the cells
    // the run touched before, where it is set too (off the tape, it fails
    // there, as the program does).
    let steps_of = |ops: &[Op]| match &plan(ops, GUARDED)[..] {
        [Step::Straight(Straight::Run(run))] => run.steps.clone(),
        steps => panic!("a run: {steps:?}"),
    };
    let set_first = [set(5, 0), mul(5, 1, 3), mul(6, 5, 1)];
    assert_eq!(steps_of(&set_first)[0], RunStep::SetStored { off: 5, val: 0 });
    let between = [add(0, 1), add(9, 1), set(5, 0), mul(5, 1, 3), mul(6, 5, 1)];
    assert_eq!(steps_of(&between)[2], RunStep::Registers(set(5, 0)));
    // Not on a checked tape.
    assert!(plan(&digit, CHECKED).iter().all(|step| !matches!(step, Step::Straight(Straight::Run(_)))));
    // The instruction after it reads [p]: eax may take it from its
    // register; a cell in memory it reads as anywhere.
    let read_next = |next: Op| {
        let end = match next {
            Op::Loop { .. } => Op::EndLoop,
            _ => Op::EndIf,
        };
        let ops = [add(0, 255), mul(1, 0, 1), next, end];
        let Step::Straight(Straight::Run(run)) = &plan(&ops, GUARDED)[0] else { panic!("a run") };
        run.read_next
    };
    assert_eq!(read_next(Op::Loop { off: 0 }), None);
    assert_eq!(read_next(Op::If { off: 0 }), Some(0));
    assert_eq!(read_next(Op::If { off: 1 }), None);
}

#[test]
fn a_multiply_that_reads_its_source_last_may_hand_its_register_on() {
    let r = RunStep::Registers;
    let spec = |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: true };
    let cells = [0, 4, 8];
    // The carry walk's: the digit copied out and then set; the copy read
    // by a multiply by 2 and then moved on into the chain's counter, and
    // set.
    let walk = [r(mul(4, 0, 1)), r(set(0, 1)), r(add(4, 255)), r(mul(0, 4, 2)), r(spec(8, 4)), r(set(4, 0))];
    assert_eq!(last_reads(&cells, &walk, None), [0, 4]);
    // Read again (an add, a multiply, a switch on it), by 2, into a cell in
    // memory: not.
    let switch = SwitchPlan { src: 0, cells: vec![], span: (0, 0), on_tape: true };
    for steps in [
        vec![r(mul(4, 0, 1)), r(add(0, 1))],
        vec![r(mul(4, 0, 1)), r(mul(8, 0, 3)), r(set(0, 0))],
        vec![r(mul(4, 0, 1)), RunStep::Switch(Box::new(switch)), r(set(0, 0))],
        vec![r(mul(4, 0, 2)), r(set(0, 0))],
        vec![r(mul(9, 0, 1)), r(set(0, 0))],
    ] {
        assert_eq!(last_reads(&cells, &steps, None), [] as [usize; 0], "{steps:?}");
    }
    // Not named again: its value is not needed unless the run changed it
    // (stored at the end) or the instruction after reads it.
    assert_eq!(last_reads(&cells, &[r(mul(4, 0, 1))], None), [0]);
    assert_eq!(last_reads(&cells, &[r(mul(4, 0, 1))], Some(0)), [] as [usize; 0]);
    assert_eq!(last_reads(&cells, &[r(add(0, 1)), r(mul(4, 0, 1))], None), [] as [usize; 0]);
}

#[test]
fn loops_on_few_cells_without_moves_run_in_registers() {
    let body = |ops: &[Op]| insts(ops);
    let mul = |off, src| Op::AddMul { off, src, factor: 3, if_nonzero: false };
    // Counter 0; 1 and 2 touched on every path, an if on 1.
    let modulo = [add(0, 255), add(1, 255), add(2, 1), Op::If { off: 1 }, set(1, 0), Op::EndIf, mul(1, 2)];
    assert_eq!(register_loop(&body(&modulo), 0, GUARDED), Some(vec![0, 1, 2]));
    // Inside the if, a cell past those touched on every path: loading
    // it early could fail where the loop would not, so it stays in
    // memory.
    let far = [add(0, 255), Op::If { off: 1 }, set(5, 0), Op::EndIf];
    assert_eq!(register_loop(&body(&far), 0, GUARDED), Some(vec![0, 1]));
    // Between them it is fine.
    let near = [add(0, 255), add(5, 1), Op::If { off: 5 }, set(3, 0), Op::EndIf];
    assert_eq!(register_loop(&body(&near), 0, GUARDED), Some(vec![0, 3, 5]));
    // More cells than registers: the counter and those nearest it.
    let many: Vec<Op> = (-3..5).map(|off| add(off, 1)).collect();
    assert_eq!(register_loop(&body(&many), 0, GUARDED), Some(vec![-3, -2, -1, 0, 1, 2]));
    // A move, output: not in registers.
    assert_eq!(register_loop(&body(&[add(0, 255), Op::Move(1)]), 0, GUARDED), None);
    assert_eq!(register_loop(&body(&[add(0, 255), Op::Out { off: 0 }]), 0, GUARDED), None);
    // In the plan, on a guarded tape only; on a checked one, unrolled.
    let ops = [&[Op::Loop { off: 0 }], &modulo[..], &[Op::EndLoop]].concat();
    assert!(matches!(&plan(&ops, GUARDED)[..], [Step::RegisterLoop(l)] if l.cells == [0, 1, 2]));
    assert!(matches!(&plan(&ops, CHECKED)[..], [Step::SmallLoop(_)]));
}

#[test]
fn loops_holding_loops_on_their_registers_run_in_registers() {
    let mul = |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: false };
    let inner = |ops: &[Op]| [&[Op::Loop { off: 3 }], ops, &[add(3, 255), Op::EndLoop]].concat();
    // primes.bf's modulo: count down 0, step 2 down, and where 1 says so
    // a flag loop on 3 puts 2 back from 4.
    let flag = inner(&[mul(2, 4), set(1, 0)]);
    let modulo =
        [&[add(0, 255), add(2, 255), add(3, 1), Op::If { off: 1 }, set(3, 0), Op::EndIf][..], &flag, &[add(4, 0)]]
            .concat();
    assert_eq!(register_loop(&insts(&modulo), 0, GUARDED), Some(vec![0, 1, 2, 3, 4]));
    // An inner loop touching a cell that stays in memory (7 is past the
    // cells every path touches): the loop stays as it was.
    let far = [&[add(0, 255), add(3, 1)][..], &inner(&[add(7, 1)])].concat();
    assert_eq!(register_loop(&insts(&far), 0, GUARDED), None);
    // One over the registers the loop has: the same.
    let many = [&(-3..4).map(|off| add(off, 1)).collect::<Vec<_>>()[..], &inner(&[add(-3, 1)])].concat();
    assert_eq!(register_loop(&insts(&many), 0, GUARDED), None);
    // In the plan, the whole nest is one step.
    let ops = [&[Op::Loop { off: 0 }], &modulo[..], &[Op::EndLoop]].concat();
    assert!(matches!(&plan(&ops, GUARDED)[..], [Step::RegisterLoop(l)] if l.body.len() == modulo.len()));
}

#[test]
fn walks_that_hand_cells_on_run_in_registers() {
    let nz = |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: true };
    // Faase's `[<[->>>>>+<<<<<]>[->>>>>+<<<<<]>>>>+>-]`: 4 and 5 written
    // are the next iteration's -1 and 0 (its test), carried; 4 and 5 are
    // loaded in each iteration, a frame on from what the last touched.
    let frame = [nz(4, -1), set(-1, 0), nz(5, 0), set(0, 0), add(4, 1), add(5, 255), Op::Move(5)];
    let walk = register_walk(0, &insts(&frame)).expect("a walk");
    assert_eq!((walk.cells, walk.carried, walk.loads), (vec![-1, 0, 4, 5], vec![-1, 0], vec![4, 5]));
    assert_eq!((walk.stride, walk.reach, walk.body.len()), (5, (-1, 5), 6));
    // Its adds of 1 and -1 are made with the multiplies into their cells;
    // its carried cells come in pairs (-1 and 4, 0 and 5).
    assert_eq!(walk.folded, [(0, 4), (2, 5)]);
    assert!(walk.paired);
    // A chain, 0 from 1 from 2: not pairs.
    let chain = [add(0, 1), add(1, 1), add(2, 1), Op::Move(1)];
    let walk = register_walk(0, &insts(&chain)).expect("a walk");
    assert_eq!((walk.carried, walk.paired), (vec![0, 1], false));
    // Leftwards, a cell set first is not loaded: `[<[-]>>>[-<<<+>>>]<<<<<]`
    // carries 2 (from -1, which it sets); the test's cell, which the body
    // does not read and no cell becomes, is tested in memory.
    let copy_back = [set(-1, 0), mul(-1, 2, 1), set(2, 0), Op::Move(-3)];
    let walk = register_walk(0, &insts(&copy_back)).expect("a walk");
    assert_eq!((walk.cells, walk.carried, walk.loads, walk.reach), (vec![-1, 2], vec![2], vec![], (-1, 2)));
    // A cell set first inside an if keeps its value where the if is not
    // taken: it is loaded.
    let in_if = [Op::If { off: 1 }, set(2, 7), Op::EndIf, add(3, 1), Op::Move(1)];
    let walk = register_walk(0, &insts(&in_if)).expect("a walk");
    assert_eq!((walk.carried, walk.loads), (vec![0, 1, 2], vec![3]));
    // Nothing handed on (`[-]>` leaves 0 to no one), no move, more cells
    // than registers, output: not such a walk.
    assert_eq!(register_walk(0, &insts(&[set(0, 0), Op::Move(1)])), None);
    assert_eq!(register_walk(0, &insts(&[add(1, 1), add(0, 255)])), None);
    let wide: Vec<Op> = (0..7).map(|off| add(off, 1)).chain([Op::Move(1)]).collect();
    assert_eq!(register_walk(0, &insts(&wide)), None);
    assert_eq!(register_walk(0, &insts(&[Op::Out { off: 1 }, Op::Move(1)])), None);
    // In the plan, on guarded and checked tapes alike (the code checks its
    // reach itself); an add walk keeps its 16-byte blocks.
    let ops = [&[Op::Loop { off: 0 }], &frame[..], &[Op::EndLoop]].concat();
    assert!(matches!(&plan(&ops, GUARDED)[..], [Step::RegisterWalk(w)] if w.carried == [-1, 0]));
    assert!(matches!(&plan(&ops, CHECKED)[..], [Step::RegisterWalk(_)]));
    // factor.b's copy back hands a value on unchanged: the unrolled loop
    // carries it in eax, with no move and no compare with the tape's end.
    let copy_back = [Op::Loop { off: 0 }, set(-1, 0), mul(-1, 9, 1), set(9, 0), Op::Move(-10), Op::EndLoop];
    assert!(register_walk(0, &insts(&copy_back[1..5])).is_some());
    assert!(matches!(&plan(&copy_back, GUARDED)[..], [Step::SmallLoop(l)] if l.carried == Some(9)));
    assert!(matches!(&plan(&copy_back, CHECKED)[..], [Step::RegisterWalk(_)]));
    let add_walk = [Op::Loop { off: 0 }, add(1, 1), Op::Move(1), Op::EndLoop];
    assert!(matches!(&plan(&add_walk, GUARDED)[..], [Step::SmallLoop(l)] if l.blocks.is_some()));
}

#[test]
fn a_walk_folds_an_add_into_the_multiply_before_it() {
    let mul = |off, src, factor| Op::AddMul { off, src, factor, if_nonzero: false };
    assert_eq!(folded_adds(&[mul(4, -1, 3), set(-1, 0), add(4, 1)]), [(0, 2)]);
    // Not past a read of the cell, an if's start or end, a set; not into a
    // multiply by 255 (a subtraction), nor twice into one.
    assert_eq!(folded_adds(&[mul(4, -1, 1), mul(6, 4, 1), add(4, 1)]), []);
    assert_eq!(folded_adds(&[mul(4, -1, 1), Op::If { off: 1 }, Op::EndIf, add(4, 1)]), []);
    assert_eq!(folded_adds(&[mul(4, -1, 1), set(4, 0), add(4, 1)]), []);
    assert_eq!(folded_adds(&[mul(4, -1, 255), add(4, 1)]), []);
    assert_eq!(folded_adds(&[mul(4, -1, 1), add(4, 1), add(4, 1)]), [(0, 1)]);
}

#[test]
fn scans_back_skip_what_the_scan_there_passed() {
    let back = |ops: &[Op]| {
        let all = [&[Op::Scan { stride: 9, value: 0 }], ops, &[Op::Scan { stride: -9, value: 0 }]].concat();
        scan_return(&program(&all), 0).map(|back| back.compare)
    };
    // mandelbrot's append: a new element at the stop, from there back.
    assert_eq!(back(&[set(0, 1), set(9, 0), set(4, 0)]), Some(false));
    // Its removal: the last element's flag stepped, back from the one
    // before it, which may lie before where the first scan started.
    assert_eq!(back(&[add(-9, 255), Op::Move(-18)]), Some(true));
    // The stop itself is zero unless set non-zero.
    assert_eq!(back(&[set(4, 1)]), None);
    assert_eq!(back(&[set(0, 0)]), None);
    // A passed cell stepped (it may be zero now), or a move between the
    // cells the first scan tested: the way back is not known.
    assert_eq!(back(&[add(-9, 255), Op::Move(-9)]), None);
    assert_eq!(back(&[Op::Move(-10)]), None);
    // I/O in between may call the runtime.
    assert_eq!(back(&[set(0, 1), Op::Out { off: 0 }]), None);
    // In the plan: the first keeps its start, the second returns to it.
    let forms: Vec<_> = plan(
        &[Op::Scan { stride: 9, value: 0 }, add(-9, 255), Op::Move(-18), Op::Scan { stride: -9, value: 0 }],
        GUARDED,
    )
    .into_iter()
    .filter_map(|step| if let Step::Scan { form, .. } = step { Some(form) } else { None })
    .collect();
    assert_eq!(forms, [ScanForm::KeepsStart, ScanForm::Returns { compare: true }]);
}

#[test]
fn scans_back_skip_what_the_walk_there_tested() {
    // `[body]` (testing `test`), `between`, then a scan back of stride -9.
    let back = |test: i32, body: &[Op], between: &[Op]| {
        let all =
            [&[Op::Loop { off: test }], body, &[Op::EndLoop], between, &[Op::Scan { stride: -9, value: 0 }]].concat();
        walk_return(&program(&all), 0, body.len() + 1).map(|back| back.compare)
    };
    // mandelbrot's clear of a cell in every frame, `[>>>>>>>[-]>>]`, then
    // `<<<<<<<<<[<<<<<<<<<]`, from the last frame it passed (if any).
    assert_eq!(back(0, &[set(7, 0), Op::Move(9)], &[Op::Move(-9)]), Some(true));
    // From the stop, set non-zero first: never behind the walk's start.
    assert_eq!(back(0, &[set(7, 0), Op::Move(9)], &[set(0, 1)]), Some(false));
    assert_eq!(back(0, &[set(7, 0), Op::Move(9)], &[]), None);
    // A body that sets a cell it tests non-zero (the next frame's flag)
    // leaves it non-zero; one that steps or clears one may not.
    assert_eq!(back(0, &[set(9, 1), Op::Move(9)], &[Op::Move(-9)]), Some(true));
    assert_eq!(back(0, &[add(9, 1), Op::Move(9)], &[Op::Move(-9)]), None);
    assert_eq!(back(0, &[set(7, 0), Op::Move(9), set(-9, 0)], &[Op::Move(-9)]), None);
    assert_eq!(back(0, &[mul(-18, 1, 1), Op::Move(9)], &[Op::Move(-9)]), None);
    // A walk that tests a cell beside where it stands: its cells are those.
    assert_eq!(back(2, &[set(0, 0), Op::Move(9)], &[Op::Move(-7)]), Some(true));
    assert_eq!(back(2, &[set(2, 0), Op::Move(9)], &[Op::Move(-7)]), None);
    assert_eq!(back(2, &[set(0, 0), Op::Move(9)], &[Op::Move(-9)]), None);
    // `if`s in the body: their writes count as made (mandelbrot's
    // `[>>>>[-<<<...<+>>>...>]>>>>>]`, each frame's fifth cell moved 36 back).
    let moved_away = [Op::If { off: 4 }, mul(-32, 4, 1), set(4, 0), Op::EndIf, Op::Move(9)];
    assert_eq!(back(0, &moved_away, &[Op::Move(-9)]), Some(true));
    assert_eq!(back(0, &[Op::If { off: 4 }, set(9, 1), Op::EndIf, Op::Move(9)], &[Op::Move(-9)]), Some(true));
    assert_eq!(back(0, &[Op::If { off: 4 }, set(9, 0), Op::EndIf, Op::Move(9)], &[Op::Move(-9)]), None);
    // ... but not a move in one, which leaves the stride unknown.
    assert_eq!(back(0, &[Op::If { off: 4 }, Op::Move(9), Op::EndIf], &[Op::Move(-9)]), None);
    // Another stride, a body with I/O (a call into the runtime) or a
    // loop, code between that clears a cell the walk tested: none.
    assert_eq!(back(0, &[set(1, 0), Op::Move(3)], &[Op::Move(-9)]), None);
    assert_eq!(back(0, &[Op::Out { off: 1 }, Op::Move(9)], &[Op::Move(-9)]), None);
    assert_eq!(back(0, &[Op::Loop { off: 1 }, set(1, 0), Op::EndLoop, Op::Move(9)], &[Op::Move(-9)]), None);
    assert_eq!(back(0, &[set(7, 0), Op::Move(9)], &[set(-9, 0), Op::Move(-9)]), None);
    // In the plan: the walk keeps where it starts, the scan returns there.
    let steps = plan(
        &[Op::Loop { off: 0 }, set(7, 0), Op::Move(9), Op::EndLoop, Op::Move(-9), Op::Scan { stride: -9, value: 0 }],
        GUARDED,
    );
    assert!(matches!(steps[0], Step::WalkKeepsStart { test: 0, .. }), "{steps:?}");
    assert!(steps.iter().any(|step| matches!(step, Step::Scan { form: ScanForm::Returns { compare: true }, .. })));
}

#[test]
fn carry_loops_are_switches_that_feed_the_next_iteration() {
    let cell = |off: i32| {
        let mut data = Vec::new();
        let table = [1u8; 256];
        crate::ir::SwitchCell { off, touch: &table, keep: &table, add: &table, at: 0 }.encode(&mut data);
        data
    };
    let carry = |next: i32| {
        let ops = [Op::Loop { off: 0 }, Op::Switch { src: 0, start: 0, cells: 1 }, Op::Move(1), Op::EndLoop];
        select(&Program { insts: insts(&ops), data: cell(next) }, GUARDED).steps
    };
    let [Step::CarryLoop(l)] = &carry(1)[..] else { panic!("a carry loop") };
    assert_eq!((l.test, l.stride, l.carried, l.switch.src, l.switch.span), (0, 1, 0, 0, (1, 1)));
    assert_eq!(l.switch.cells[0].form, CellForm::Update { and: true, add: true });
    assert_eq!(l.carried_form, CarriedForm::Update { and: true });
    // The switch does not change the next iteration's cell: no carry.
    assert!(!matches!(carry(2)[0], Step::CarryLoop(_)));
}

#[test]
fn every_instruction_is_in_exactly_one_step() {
    // What the emitter's marks rely on: the steps, in order, stand for the
    // program's instructions.
    let ops = [
        add(0, 3),
        Op::Loop { off: 0 },
        add(0, 255),
        set(1, 0),
        mul(1, 0, 1),
        Op::EndLoop,
        Op::Scan { stride: 1, value: 0 },
        set(2, 0),
        mul(2, 3, 2),
        Op::Out { off: 2 },
        set(5, 0),
        set(4, 1),
        Op::Loop { off: 0 },
        set(1, 2),
        set(2, 0),
        set(3, 0),
        Op::Move(1),
        Op::EndLoop,
        Op::Loop { off: 0 },
        set(1, 0),
        Op::Move(2),
        Op::EndLoop,
        Op::Move(-2),
        Op::Scan { stride: -2, value: 0 },
    ];
    fn count(pieces: &[Straight]) -> usize {
        pieces
            .iter()
            .map(|piece| match piece {
                Straight::Op(_) | Straight::Switch(_) => 1,
                Straight::Copy(_) => 2,
                Straight::Sets(block) => block.sets.len(),
                Straight::Run(run) => run
                    .steps
                    .iter()
                    .map(|s| if matches!(s, RunStep::CopyFromRegister(_) | RunStep::Copy(_)) { 2 } else { 1 })
                    .sum(),
            })
            .sum()
    }
    fn instructions(step: &Step) -> usize {
        match step {
            Step::Straight(piece) => count(std::slice::from_ref(piece)),
            Step::SmallLoop(l) => 2 + count(&l.first) + count(&l.after_sunk) + usize::from(l.sunk.is_some()),
            Step::RegisterLoop(l) => 2 + l.body.len(),
            Step::RegisterWalk(w) => 3 + w.body.len(),
            Step::CarryLoop(_) => 4,
            Step::Scan { .. } | Step::Shortcut(_) | Step::FastForward(_) => 1,
            Step::WalkInBlocks(w) => 1 + count(&[Straight::Run(Box::new(w.run.clone()))]),
            Step::WalkKeepsStart { walk, .. } => instructions(walk),
        }
    }
    let steps = plan(&ops, GUARDED);
    assert_eq!(steps.iter().map(instructions).sum::<usize>(), ops.len());
    assert!(steps.iter().any(|step| matches!(step, Step::WalkKeepsStart { .. })), "{steps:?}");
}

#[test]
fn sets_of_neighbouring_cells_in_loops_are_stored_as_one_block() {
    // The blocks of `ops` in a loop (which prints its cell: not in
    // registers), unrolled or not.
    let blocks = |ops: &[Op], target| -> Vec<Vec<(i32, u8)>> {
        let looped = [&[Op::Loop { off: 30 }], ops, &[Op::Out { off: 30 }, Op::EndLoop]].concat();
        let pieces = plan(&looped, target).into_iter().flat_map(|step| match step {
            Step::Straight(piece) => vec![piece],
            Step::SmallLoop(l) => l.first.into_iter().chain(l.after_sunk).collect(),
            _ => vec![],
        });
        (pieces)
            .filter_map(|piece| match piece {
                Straight::Sets(block) => Some(block.sets),
                _ => None,
            })
            .collect()
    };
    // Any order, each cell once, no gap: the longest such run of sets.
    let ops = [set(2, 6), set(1, 6), set(4, 0), set(3, 7), set(9, 0)];
    assert_eq!(blocks(&ops, GUARDED), [vec![(2, 6), (1, 6), (4, 0), (3, 7)]]);
    assert_eq!(blocks(&ops, CHECKED), blocks(&ops, GUARDED));
    let block = SetBlock { sets: vec![(2, 6), (1, 6), (4, 0), (3, 7)] };
    assert_eq!((block.span(), block.bytes()), ((1, 4), vec![6, 6, 7, 0]));
    // Not outside loops, where the code runs once.
    assert!(!plan(&ops, GUARDED).iter().any(|step| matches!(step, Step::Straight(Straight::Sets(_)))));
    // A gap, a cell set twice, one set alone: none.
    assert!(blocks(&[set(1, 0), set(3, 0)], GUARDED).is_empty());
    assert!(blocks(&[set(1, 0), set(1, 2)], GUARDED).is_empty());
    assert!(blocks(&[set(1, 0), add(2, 1), set(2, 0)], GUARDED).is_empty());
    // Not the clear of a copy, which stores the product instead.
    assert!(blocks(&[set(1, 0), set(2, 0), mul(2, 0, 3)], GUARDED).is_empty());
    // Not sets a run takes, which folds the constants into what uses them.
    assert!(blocks(&[set(3, 0), set(1, 5), set(2, 0), mul(2, 1, 2), mul(1, 2, 1)], GUARDED).is_empty());
    // At most BLOCK_MAX sets a block.
    let long: Vec<Op> = (0..100).map(|k| set(k, 0)).collect();
    let sizes: Vec<usize> = blocks(&long, GUARDED).iter().map(Vec::len).collect();
    assert_eq!(sizes, [stores::BLOCK_MAX, 100 - stores::BLOCK_MAX]);
}

#[test]
fn add_walks_test_for_the_value_their_cells_hold_before_the_block() {
    let walk = |off, val, stride| {
        let ops = [Op::Loop { off: 0 }, add(off, val), Op::Move(stride), Op::EndLoop];
        match &plan(&ops, GUARDED)[..] {
            [Step::SmallLoop(l)] => l.blocks,
            steps => panic!("{steps:?}"),
        }
    };
    let blocks = |stride, off, add, stop| Some(AddWalk { stride, off, add, stop });
    // `[-->]`: the cells tested are as they were.
    assert_eq!(walk(0, 254, 1), blocks(1, 0, 254, 0));
    // `<++[<++]`: each cell tested was added to just before: 254 stops it.
    assert_eq!(walk(-1, 2, -1), blocks(-1, -1, 2, 254));
    // Behind the walk, or between its cells: as they were.
    assert_eq!(walk(-2, 1, 2), blocks(2, -2, 1, 0));
    assert_eq!(walk(1, 1, -2), blocks(-2, 1, 1, 0));
    assert_eq!(walk(-1, 7, 4), blocks(4, -1, 7, 0));
    // Two strides ahead: a block's first cells were added to before it,
    // its others in it. Strides of 3 have no 16-byte pattern.
    assert_eq!(walk(2, 1, 1), None);
    assert_eq!(walk(0, 1, 3), None);
    // Not on wide cells.
    let ops = [Op::Loop { off: 0 }, add(0, 1), Op::Move(1), Op::EndLoop];
    let wide = plan(&ops, Target { cell_bits: 16, ..GUARDED });
    assert!(!wide.iter().any(|step| matches!(step, Step::SmallLoop(l) if l.blocks.is_some())));
}

/// A switch whose cells the code before it proves on the tape joins the
/// run around it: the counter the run computed reaches it in a register.
/// Not where a cell of it may be off the tape: there the ifs' order of
/// touches decides the error.
#[test]
fn a_run_holds_a_switch_whose_cells_are_on_the_tape() {
    let run_of = |src: &str| {
        let p = crate::opt::optimise(crate::opt::testing::program(src), crate::opt::testing::o2());
        assert!(p.ops().any(|op| matches!(op, Op::Switch { .. })), "{src}: the chain is a switch");
        let steps = select(&p, GUARDED).steps;
        steps.into_iter().find_map(|step| match step {
            Step::Straight(Straight::Run(run)) => Some(run),
            _ => None,
        })
    };
    let run = run_of(",>,[-<+>]<[-[-[-[-[-[-]>+<]]]]]>[->+<]>.").expect("a run");
    assert!(run.steps.iter().any(|step| matches!(step, RunStep::Switch(switch) if switch.on_tape)), "{run:?}");
    assert_eq!(run.cells, [0]);
    // The chain also adds to [p-1], which nothing before it touched.
    let run = run_of(",>,[-<+>]<[-[-[-[-[-[-]>+<]]]<<+>>]]>[->+<]>.");
    assert!(!run.is_some_and(|run| run.steps.iter().any(|step| matches!(step, RunStep::Switch(_)))));
}

#[test]
fn a_loop_counting_down_to_a_scan_branch_is_fast_forwarded() {
    use super::forward::fast_forward;
    let (mv, scan) = (Op::Move, |stride| Op::Scan { stride, value: 0 });
    // The magic loop `[->-[>]<<]`: counters a and b, the scan back to the
    // loop's cell where b is not 0 and [p+2] is.
    let magic = [add(0, 255), add(1, 255), mv(1), scan(1), mv(-2)];
    let want = FastForward {
        test: 0,
        adds: vec![(0, 255), (1, 255)],
        counters: vec![(1, 1), (0, 1)],
        nonzero: vec![],
        zero: 2,
        reach: (0, 2),
    };
    assert_eq!(fast_forward(0, &insts(&magic)), Some(want));
    let looped: Vec<Op> = [Op::Loop { off: 0 }].into_iter().chain(magic).chain([Op::EndLoop]).collect();
    assert!(matches!(plan(&looped, GUARDED)[0], Step::FastForward(_)));
    assert!(matches!(plan(&looped, CHECKED)[0], Step::FastForward(_)));
    // bubblesort's, with a count: the scan passes a, which the body does
    // not touch but counts down, and stops at [p-2].
    let bubble = [add(0, 255), add(-3, 255), add(-4, 1), mv(-3), scan(1), mv(2)];
    let f = fast_forward(0, &insts(&bubble)).expect("bubblesort's compare");
    assert_eq!(
        (f.adds, f.counters, f.zero, f.reach),
        (vec![(-4, 1), (-3, 255), (0, 255)], vec![(-3, 1), (0, 1)], -2, (-4, 0))
    );
    // Odd steps: n = x * -1/step.
    let odd = fast_forward(0, &insts(&[add(0, 253), add(1, 3), mv(1), scan(1), mv(-2)])).expect("odd steps");
    // 3 * 171 = 1 (mod 256): a counter adding 3 is 0 after x * -171 = x * 85
    // iterations, one adding -3 after x * 171.
    assert_eq!(odd.counters, [(1, 85), (0, 171)]);
    // A scan two cells back, past one the body does not change: it must
    // be nonzero.
    let back = fast_forward(0, &insts(&[add(0, 255), add(-2, 255), mv(-2), scan(-1), mv(4)])).expect("back");
    assert_eq!((back.nonzero, back.zero, back.reach), (vec![-3], -4, (-4, 0)));
    // Not: an even step (may never reach 0), no counter the scan passes
    // (mandelbrot's `[-<[>>>>>>>>>]>>>>>>>>]`, on a flag), a scan that does
    // not come back, one that stops at the loop's cell or at a cell the
    // body adds to, a body with more than adds, a scan for another value.
    let stays = |body: &[Op]| assert_eq!(fast_forward(0, &insts(body)), None, "{body:?}");
    stays(&[add(0, 254), add(1, 255), mv(1), scan(1), mv(-2)]);
    stays(&[add(3, 1), mv(1), scan(1), mv(-2)]);
    stays(&[add(0, 255), mv(-1), scan(9), mv(-8)]);
    stays(&[add(0, 255), add(1, 255), mv(1), scan(1), mv(0)]);
    stays(&[add(0, 255), add(1, 255), mv(1), scan(2), mv(-2)]);
    stays(&[add(0, 255), add(1, 255), mv(1), scan(-1), mv(0)]);
    stays(&[add(0, 255), add(1, 255), add(2, 1), mv(1), scan(1), mv(-2)]);
    stays(&[add(0, 255), set(1, 2), mv(1), scan(1), mv(-2)]);
    stays(&[add(0, 255), add(1, 255), mv(1), scan(1), mv(-2), add(0, 1)]);
    stays(&[add(0, 255), add(1, 255), mv(1), Op::Scan { stride: 1, value: 1 }, mv(-2)]);
}

#[test]
fn walks_whose_runs_have_temporaries_test_them_in_blocks() {
    // d = 3d through temporaries at `temps`, walking on by `stride`, then
    // `extra`: the plan's blocks, if it is a walk in blocks.
    let blocks = |temps: [i32; 2], stride: i32, extra: &[Op], target: Target| {
        let body = tripling(temps[0], temps[1]);
        let ops = [&[Op::Loop { off: 0 }], &body[..], extra, &[Op::Move(stride), Op::EndLoop]].concat();
        match &plan(&ops, target)[0] {
            Step::WalkInBlocks(walk) => Some(walk.blocks.clone()),
            _ => None,
        }
    };
    let expect =
        |stride, frames, windows: &[i32], mask| Some(FrameBlocks { stride, frames, windows: windows.to_vec(), mask });
    // 16 bytes from each temporary: the frames they hold, up or down (the
    // temporaries in arrays further on, as the carry walk keeps them).
    assert_eq!(blocks([100, 200], 3, &[], GUARDED), expect(3, 6, &[100, 200], 0x9249));
    assert_eq!(blocks([-100, -200], -3, &[], GUARDED), expect(-3, 6, &[-115, -215], 0x9249));
    assert_eq!(blocks([100, 201], 2, &[], GUARDED), expect(2, 8, &[100, 201], 0x5555));
    assert_eq!(blocks([100, 200], 1, &[], GUARDED), expect(1, 16, &[100, 200], 0xFFFF));
    assert_eq!(blocks([100, 200], -1, &[], GUARDED), expect(-1, 16, &[85, 185], 0xFFFF));
    // Temporaries beside the cells the walk stores (d, in 16 frames either
    // way): none, a load of 16 bytes would wait for those stores.
    assert_eq!(blocks([1, 2], 3, &[], GUARDED), None);
    assert_eq!(blocks([40, 200], 3, &[], GUARDED), None);
    assert!(blocks([52, 200], 3, &[], GUARDED).is_some());
    // A temporary that is the next frame's other one (its clear writes
    // that): none.
    assert_eq!(blocks([100, 102], 2, &[], GUARDED), None);
    // An add to the next frame's cell (a carry); one to a temporary 5
    // frames on, and an output (a call, which r11 does not survive), make
    // none; a stride of 5 neither (3 frames a block), nor a checked tape.
    assert!(blocks([100, 200], 3, &[add(3, 1)], GUARDED).is_some());
    assert_eq!(blocks([100, 200], 3, &[add(115, 1)], GUARDED), None);
    assert_eq!(blocks([100, 200], 3, &[Op::Out { off: 0 }], GUARDED), None);
    assert_eq!(blocks([100, 200], 5, &[], GUARDED), None);
    assert_eq!(blocks([100, 200], 3, &[], CHECKED), None);
}

#[test]
fn pieces_after_a_walk_in_blocks_run_know_the_cell_the_loop_tests() {
    // After the walk's run (d = 3d through arrays 100 and 200 on) and an
    // if, a run that adds to the loop's cell, reads it back and clears it:
    // not a temporary (nonzero at the top of the body, its test would
    // always fail), as after a plain loop's run.
    let rest = [Op::If { off: 9 }, add(9, 1), Op::EndIf, mul(0, 7, 1), mul(8, 0, 2), set(0, 0)];
    let ops = [&[Op::Loop { off: 0 }], &tripling(100, 200)[..], &rest, &[Op::Move(3), Op::EndLoop]].concat();
    let steps = plan(&ops, GUARDED);
    assert!(matches!(steps[0], Step::WalkInBlocks(_)), "{steps:?}");
    let runs: Vec<&Run> = (steps.iter())
        .filter_map(|step| match step {
            Step::Straight(Straight::Run(run)) => Some(&**run),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 1, "{steps:?}");
    assert!(runs[0].cells.contains(&0) && runs[0].zeros.is_empty(), "{:?}", runs[0]);
}
