//! Multiply `If`s whose targets are known to be on the tape lose their
//! guard.
//!
//! A multiply `If` (`if [c] { mul [t] += [c] * k ...; set [c] = 0 }`, what
//! closed-form loops make) is there only so that a zero counter touches
//! nothing: with a zero counter its body changes nothing. When every target
//! lies between cells the program has already touched, with the pointer
//! moved only by known amounts since, the target is on the tape (the tape
//! is contiguous) and the body can run unguarded, without a branch that
//! goes one way or the other with the data:
//!
//! ```text
//! add  [p] += 1                    add  [p] += 1
//! ...                              ...
//! if [p] != 0                      mul  [p+8] += [p] * 1
//!   mul  [p+8] += [p] * 1          set  [p] = 0
//!   set  [p] = 0
//! end if                 (when [p+8] was touched before)
//! ```
//!
//! The walks pass does the same inside loops, with what the previous
//! iteration touched; this one looks back along the program.

use super::walks::{in_place_of, multiply_targets};
use crate::ir::analysis::OnTape;
use crate::ir::{Inst, Op, Program};

/// Longer `If`s are not looked into (one per target, the clear, the end).
const MAX_BODY: usize = 64;

/// Drops the guard of the multiply `If`s whose targets were touched before.
pub fn unguard_known_targets(program: Program) -> Program {
    let partner = program.block_partners();
    let insts = &program.insts;
    let mut unguard = vec![false; insts.len()];
    let mut on_tape = OnTape::new(&program);
    for (i, inst) in insts.iter().enumerate() {
        on_tape.pass(&program, i, unguard[i]);
        if let Op::If { off } = inst.op {
            // (A multiply `If` holds no block: a long one is not one.)
            let body = &insts[i + 1..=partner[i]];
            let targets = (body.len() <= MAX_BODY).then(|| multiply_targets(off, body)).flatten();
            if targets.is_some_and(|t| t.iter().all(|&cell| on_tape.proves(cell as i64))) {
                unguard[i] = true;
                unguard[partner[i]] = true;
            }
        }
    }
    let Program { insts, data } = program;
    let mut out = Vec::with_capacity(insts.len());
    // The `If` just dropped: what follows touches its cell first now.
    let mut dropped: Option<Inst> = None;
    for (inst, drop) in insts.into_iter().zip(unguard) {
        if drop {
            dropped = inst.op.opens().then_some(inst);
        } else {
            out.push(dropped.take().map_or(inst, |guard| in_place_of(guard, inst)));
        }
    }
    Program { insts: out, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{passes, to_fixed_point, Config, Level};

    fn ir(ops: &[Op]) -> Program {
        Program { insts: ops.iter().map(|&op| Inst::new(op, 0)).collect(), data: vec![] }
    }

    /// `if [0] { mul [target] += [0]; set [0] = 0 }` after `before`.
    fn guarded_after(before: &[Op], target: i32) -> Program {
        let guarded = [
            Op::If { off: 0 },
            Op::AddMul { off: target, src: 0, factor: 1, if_nonzero: false },
            Op::Set { off: 0, val: 0 },
            Op::EndIf,
        ];
        ir(&[before, &guarded[..]].concat())
    }

    fn unguarded(p: &Program) -> bool {
        !ops(&unguard_known_targets(p.clone())).contains(&Op::If { off: 0 })
    }

    #[test]
    fn targets_between_touched_cells_lose_the_guard() {
        let touch = |off| Op::Add { off, val: 1 };
        assert!(unguarded(&guarded_after(&[touch(3)], 2)));
        assert!(unguarded(&guarded_after(&[touch(-2), touch(3)], -1)));
        // Through moves, and a balanced loop or if that ran before.
        assert!(unguarded(&guarded_after(&[touch(4), Op::Move(2)], 2)));
        assert!(unguarded(&guarded_after(
            &[touch(5), Op::Loop { off: 1 }, Op::Set { off: 1, val: 0 }, Op::EndLoop],
            3
        )));
        // Not beyond what was touched.
        assert!(!unguarded(&guarded_after(&[touch(3)], 4)));
        assert!(!unguarded(&guarded_after(&[touch(-3)], 1)));
        // Not what only a loop or if body touched (it may not have run).
        assert!(!unguarded(&guarded_after(&[Op::If { off: 1 }, touch(5), Op::EndIf], 3)));
        // Not across a scan or an unbalanced loop: the pointer moved.
        assert!(!unguarded(&guarded_after(&[touch(5), Op::Scan { stride: 1, value: 0 }], 3)));
        let walk = [touch(5), Op::Loop { off: 0 }, Op::Move(1), Op::EndLoop];
        assert!(!unguarded(&guarded_after(&walk, 3)));
        // Only multiply ifs.
        let not_multiply = ir(&[touch(5), Op::If { off: 0 }, Op::Add { off: 3, val: 1 }, Op::EndIf]);
        assert_eq!(unguard_known_targets(not_multiply.clone()), not_multiply);
    }

    #[test]
    fn a_dropped_if_gives_its_position_to_what_touches_its_cell_first() {
        let at = |op, at| Inst::new(op, at);
        let touch = |off| at(Op::Add { off, val: 1 }, 0);
        let (test, clear) = (at(Op::If { off: 0 }, 3), at(Op::Set { off: 0, val: 0 }, 4));
        // `[-[-]]` as an if around a clear: the clear now tests the cell.
        let p = Program { insts: vec![touch(0), test, clear, at(Op::EndIf, 6)], data: vec![] };
        assert_eq!(unguard_known_targets(p).insts, [touch(0), at(Op::Set { off: 0, val: 0 }, 3)]);
        // A multiply reads its counter where the if tested it.
        let mul = Inst::multiply(1, 0, 2, 5, 5);
        let p = Program { insts: vec![touch(1), test, mul, clear, at(Op::EndIf, 6)], data: vec![] };
        assert_eq!(unguard_known_targets(p).insts, [touch(1), Inst::multiply(1, 0, 2, 5, 3), clear]);
    }

    #[test]
    fn keeps_behaviour() {
        let config = Config { level: Level::O2, tape_cells: 64, left_margin: 0, eval_steps: 0, cell_bits: 8 };
        let pipeline = |p| unguard_known_targets(to_fixed_point(p, &passes(config)));
        for src in [
            ",>,>,<<[->+<]>[-<+>>+<]<.>.>.",
            ",>>,<<[->>+<<]>>.",
            ",>,>,<<[->+<]>[-<+>>>+<<]<.>.>>.",
            // The targets of a later if are off the tape: the guard stays.
            ",[-<+>].",
            ">,<<[->>+<<]>.",
            // factor.b: after a chain, a multiply onto a cell it read.
            ",>,>,<<+[->+<[->+<[-]]]>[->+<]>.<.",
        ] {
            for input in [&b"\x00\x00\x00"[..], b"\x03\x02\x01", b"\xff\x01\x00"] {
                assert_preserves(pipeline, src, input);
            }
        }
    }
}
