//! Loops recognised by what one iteration does, with what `n` iterations
//! then do derived from it: walks whose adds telescope become scans for a
//! value.
//!
//! One iteration of `[+>-]` adds 1 to the cell it leaves and 255 to the
//! one it enters, then moves one cell. Over `n` iterations each cell
//! between gets both (+1 - 1 = 0): only the first cell (+1) and the last
//! (-1) change. The loop stops at the first cell whose test sees 0, the
//! first whose value, before it got its 255, was 1. So the loop is: leave
//! the first cell plus 1, find the first cell from the next one that holds
//! 1, clear it. With the `-` before it and the `+` after it, the marker
//! walk of sequence generators (`-[+>>>>-]+`, `+[-<<<<+]-`) is a scan for
//! the marker value and nothing else:
//!
//! ```text
//! add  [p] -= 1                      scan p +4 until [p] == 1
//! loop while [p] != 0                set  [p] = 1
//!   add  [p] += 1
//!   add  [p+4] -= 1
//!   move p + 4
//! end loop
//! add  [p] += 1
//! ```
//!
//! Run as written, every iteration's load waits for the store of the one
//! before (store-to-load forwarding on the loop's critical path); as a
//! scan, the code generator compares cells, 16 at a time for a stride of
//! 1 (`x64::emit::scan`).
//!
//! The scan reads the cells the loop would touch, in the same order, and
//! the loop does no I/O: a tape error is the same, at the same cell.
//!
//! Fires on loops whose body is only adds and one move (`Iteration::of`):
//! adds to the cell left and the cell entered that cancel. In the corpus:
//! none; in the wider benchmark set: the marker-walk sequence generators.

use crate::ir::{Inst, Op, Program};

/// What one iteration of a loop does, when its body only adds and moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iteration {
    /// How far it moves the pointer.
    pub stride: i32,
    /// What it adds to each cell it touches (offsets from where it starts,
    /// ascending; amounts combined, none zero).
    pub adds: Vec<(i32, u8)>,
}

impl Iteration {
    /// The iteration of a loop `body` made of adds and one final move.
    pub fn of(body: &[Inst]) -> Option<Iteration> {
        let (last, rest) = body.split_last()?;
        let Op::Move(stride) = last.op else { return None };
        let mut adds: Vec<(i32, u8)> = Vec::new();
        for inst in rest {
            let Op::Add { off, val } = inst.op else { return None };
            match adds.iter_mut().find(|(cell, _)| *cell == off) {
                Some((_, sum)) => *sum = sum.wrapping_add(val),
                None => adds.push((off, val)),
            }
        }
        adds.retain(|&(_, val)| val != 0);
        adds.sort_unstable();
        Some(Iteration { stride, adds })
    }

    /// If the adds telescope along a walk of `stride` (the cell left gets
    /// `leave`, the cell entered `-leave`, nothing else), `leave`.
    fn telescoping(&self) -> Option<u8> {
        let (left, entered) = match self.adds[..] {
            [(a, x), (b, y)] if a == 0 && b == self.stride => (x, y),
            [(a, x), (b, y)] if b == 0 && a == self.stride => (y, x),
            _ => return None,
        };
        (self.stride != 0 && left.wrapping_add(entered) == 0).then_some(left)
    }
}

/// Replaces the telescoping walks by scans for the value they stop at.
pub fn value_scans(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    // Where each open block starts in `out`.
    let mut open: Vec<usize> = Vec::new();
    for inst in program.insts {
        if inst.op.opens() {
            open.push(out.len());
        } else if inst.op.closes() {
            let start = open.pop().expect("balanced IR");
            if inst.op == Op::EndLoop && out[start].op == (Op::Loop { off: 0 }) {
                let walk = Iteration::of(&out[start + 1..]);
                if let Some((stride, leave)) = walk.and_then(|walk| Some((walk.stride, walk.telescoping()?))) {
                    let at = out[start].at;
                    let entered_at = first_add_to(&out[start + 1..], stride).unwrap_or(at);
                    out.truncate(start);
                    scan(&mut out, stride, leave, (at, entered_at));
                    continue;
                }
            }
        }
        out.push(inst);
    }
    Program { insts: out, data: program.data }
}

/// The source offset of the first add of `body` (one iteration of a walk)
/// to the cell `cell` from where it starts: the command that touches the
/// cell the walk enters.
fn first_add_to(body: &[Inst], cell: i32) -> Option<u32> {
    let mut moved = 0;
    for inst in body {
        match inst.op {
            Op::Add { off, .. } if moved + off == cell => return Some(inst.at),
            Op::Move(d) => moved += d,
            _ => {}
        }
    }
    None
}

/// Appends to `out` what a telescoping walk of `stride` does, adding
/// `leave` to each cell it leaves, `-leave` to each it enters. `at` is the
/// loop's `[`, `entered_at` the command that touches each cell entered.
fn scan(out: &mut Vec<Inst>, stride: i32, leave: u8, (at, entered_at): (u32, u32)) {
    let inst = |op| Inst::new(op, at);
    // The cell it stops at held -(-leave) = leave before the walk entered
    // it: it ends 0.
    // `-[+>-]`: the first cell, less `leave`, is tested too: a scan for
    // `leave` from the first cell, which ends 0 (the first or the one
    // found), all the cells between unchanged. The add is the last
    // instruction, or the last but the move to the loop's cell.
    let minus = leave.wrapping_neg();
    let before = match out[..] {
        [.., Inst { op: Op::Add { off: 0, val }, .. }] if val == minus => Some(out.len() - 1),
        [.., Inst { op: Op::Add { off, val }, .. }, Inst { op: Op::Move(d), .. }] if off == d && val == minus => {
            Some(out.len() - 2)
        }
        _ => None,
    };
    match before {
        Some(add) => {
            // The scan's first cell is the one the add touched first.
            let first_at = out.remove(add).at;
            out.extend([Inst::scan(stride, leave, first_at, entered_at), inst(Op::Set { off: 0, val: 0 })]);
        }
        None => out.extend([
            inst(Op::If { off: 0 }),
            inst(Op::Add { off: 0, val: leave }),
            inst(Op::Move(stride)),
            Inst::scan(stride, leave, entered_at, entered_at),
            inst(Op::Set { off: 0, val: 0 }),
            inst(Op::EndIf),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{combine, defer_moves};

    fn local(src: &str) -> Program {
        defer_moves(combine(program(src)))
    }

    fn pass(p: Program) -> Program {
        value_scans(defer_moves(combine(p)))
    }

    #[test]
    fn one_iteration_of_adds_and_a_move() {
        let body = |src: &str| {
            let p = local(src);
            Iteration::of(&p.insts[1..p.insts.len() - 1])
        };
        assert_eq!(body("[+>-]"), Some(Iteration { stride: 1, adds: vec![(0, 1), (1, 255)] }));
        assert_eq!(body("[>>>>+<<<<-<<]"), Some(Iteration { stride: -2, adds: vec![(0, 255), (4, 1)] }));
        assert_eq!(body("[+-<]"), Some(Iteration { stride: -1, adds: vec![] }));
        assert_eq!(body("[+>.]"), None);
        assert_eq!(body("[+>[-]]"), None);
    }

    #[test]
    fn marker_walks_become_scans_for_the_marker() {
        assert_eq!(
            ops(&pass(program("-[+>>>>-]+"))),
            [Op::Scan { stride: 4, value: 1 }, Op::Set { off: 0, val: 0 }, Op::Add { off: 0, val: 1 }]
        );
        // The add made before the move to the loop's cell.
        assert_eq!(
            ops(&pass(program(">>-[+>-]"))),
            [Op::Move(2), Op::Scan { stride: 1, value: 1 }, Op::Set { off: 0, val: 0 }]
        );
        assert_eq!(ops(&pass(program("+[-<<+]"))), [Op::Scan { stride: -2, value: 255 }, Op::Set { off: 0, val: 0 }]);
        // Without the add before: the first cell stays a test of zero.
        assert_eq!(
            ops(&pass(program("[++>--]"))),
            [
                Op::If { off: 0 },
                Op::Add { off: 0, val: 2 },
                Op::Move(1),
                Op::Scan { stride: 1, value: 2 },
                Op::Set { off: 0, val: 0 },
                Op::EndIf
            ]
        );
    }

    #[test]
    fn other_walks_stay() {
        for src in ["[+>+]", "[+>>-<]", "[+>-<<]", "[->+<]", "[+>-.]", "[>+<+>-]"] {
            let p = local(src);
            assert_eq!(value_scans(p.clone()), p, "{src}");
        }
    }

    #[test]
    fn keeps_behaviour() {
        // Markers of 1 every fourth cell with other values between, found
        // from each start; walks that stop at once; the other direction;
        // a walk with no add before it; values that wrap.
        let array = "+>++>+++>>+>+++++>-->>+>>>>>+";
        for src in [
            format!("{array}<<<<<<<<<<<<-[+>>>>-]+.>.<<."),
            format!("{array}<<<<<<<<<<<<<-[+>-]+.>.<<."),
            format!("{array}[-]+-[+>>>>-]+.>."),
            format!("{array}+[-<+]-.<."),
            format!("{array}<<<<<<<<[++>--]<.>.>."),
            format!("{array}<<<<<<<<[-->++]<.>.>."),
            ",[+>-]+.<.>>.".to_string(),
            // Off the tape: the scan fails where the walk would, both ways.
            "+>+>+[-<+]".to_string(),
            "+>+>+<<[->+]".to_string(),
            format!("{}-[+>-]+", ">".repeat(60)),
        ] {
            for input in [&b""[..], b"\x01", b"\x05"] {
                assert_preserves(pass, &src, input);
            }
        }
    }
}
