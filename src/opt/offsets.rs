//! Pointer moves folded into offsets: inside straight-line code the pointer
//! stays put and each operation addresses its cell by offset. Loops and ifs
//! whose body leaves the pointer where it was ("balanced") are folded
//! through as well: they test their cell by offset. One `Move` remains
//! before a block that moves the pointer, and before a scan.
//!
//! Owns the folding only; which blocks are balanced is `ir::analysis`'s
//! (`balanced_blocks`), which other passes ask too.

use crate::ir::analysis::balanced_blocks;
use crate::ir::{Inst, Op, Program};

/// Defers every `Move` to the next point where the pointer must be real.
pub fn defer_moves(program: Program) -> Program {
    let balanced = balanced_blocks(&program);
    let mut out = Vec::with_capacity(program.insts.len());
    let mut pending: i32 = 0;
    let mut pending_at = 0;
    for (i, inst) in program.insts.into_iter().enumerate() {
        // Offsets are sums of moves of the source, so they are bounded by
        // its length, which the parser keeps below i32::MAX.
        let shift = |off: i32| off.checked_add(pending).expect("offset exceeds the source length");
        let op = match inst.op {
            Op::Move(d) => {
                if pending == 0 {
                    pending_at = inst.at;
                }
                pending = shift(d);
                continue;
            }
            Op::Add { off, val } => Op::Add { off: shift(off), val },
            Op::Set { off, val } => Op::Set { off: shift(off), val },
            Op::AddMul { off, src, factor, if_nonzero } => {
                Op::AddMul { off: shift(off), src: shift(src), factor, if_nonzero }
            }
            Op::Out { off } => Op::Out { off: shift(off) },
            Op::In { off } => Op::In { off: shift(off) },
            Op::Print { .. } => inst.op,
            Op::Switch { .. } | Op::Shortcut { .. } | Op::EndShortcut => {
                unreachable!("switch_tables and shortcuts run after every other pass")
            }
            Op::Loop { off } if balanced[i] => Op::Loop { off: shift(off) },
            Op::If { off } if balanced[i] => Op::If { off: shift(off) },
            Op::EndLoop | Op::EndIf if balanced[i] => inst.op,
            // A dump shows the pointer: it must be real there.
            Op::Loop { .. } | Op::EndLoop | Op::If { .. } | Op::EndIf | Op::Scan { .. } | Op::Dump => {
                if pending != 0 {
                    out.push(Inst::new(Op::Move(pending), pending_at));
                    pending = 0;
                }
                inst.op
            }
        };
        out.push(Inst { op, ..inst });
    }
    // A move at the very end touches nothing: it is dropped.
    Program { insts: out, data: program.data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;

    #[test]
    fn moves_become_offsets() {
        let p = defer_moves(program(">+>>-<.[<]"));
        assert_eq!(
            ops(&p),
            vec![
                Op::Add { off: 1, val: 1 },
                Op::Add { off: 3, val: 255 },
                Op::Out { off: 2 },
                Op::Move(2),
                Op::Loop { off: 0 },
                Op::Move(-1),
                Op::EndLoop,
            ]
        );
    }

    #[test]
    fn balanced_loops_test_by_offset() {
        let p = defer_moves(program(">>[->+<]<[-<<+>>]"));
        assert_eq!(
            ops(&p),
            vec![
                Op::Loop { off: 2 },
                Op::Add { off: 2, val: 255 },
                Op::Add { off: 3, val: 1 },
                Op::EndLoop,
                Op::Loop { off: 1 },
                Op::Add { off: 1, val: 255 },
                Op::Add { off: -1, val: 1 },
                Op::EndLoop,
            ]
        );
        // A loop that walks keeps a real pointer.
        assert_eq!(ops(&defer_moves(program(">[>]")))[..2], [Op::Move(1), Op::Loop { off: 0 }]);
    }

    #[test]
    fn trailing_move_is_dropped() {
        assert_eq!(ops(&defer_moves(program("+>>>"))), vec![Op::Add { off: 0, val: 1 }]);
    }

    #[test]
    fn keeps_behaviour() {
        assert_preserves(defer_moves, ">+>>-<.[<]>>>,.<[->>+<<]>>.", b"q");
        // The error is the same even though the offsets moved.
        assert_preserves(defer_moves, ">>+.<<<<+", b"");
        assert_preserves(defer_moves, "+++[>++[>+<-]>[<<+>>-]<<-]>>.<<<[>+<-]", b"");
        assert_preserves(defer_moves, ">+++[>+>[-]<<-]>.>,[<+>-]<.", b"z");
    }
}
