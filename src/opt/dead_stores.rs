//! Dead stores: in straight-line code, a write to a cell that a later `set`
//! overwrites before anything reads it changes nothing the program shows.
//! Compiler output clears temporaries it is about to set, copies leave
//! cells that the next statement sets, and a digit chain's flag is often
//! cleared right after it was made (`t[-[-[-[-[-[-]>+<]]]]]>[-]`):
//!
//! ```text
//! in   [p]                         in   [p]
//! in   [p+2]                       in   [p+2]
//! mul  [p+1] += [p] * 3     ->     set  [p+1] = 7
//! set  [p+1] = 7                   out  [p+1]
//! out  [p+1]
//! ```
//!
//! A dropped write no longer touches its cell, which matters only off the
//! tape: so a write is dropped only where the cell is proven on the tape by
//! cells surely touched before it, in the stretch or before it
//! (`ir::analysis::OnTape`: the tape is contiguous). Elsewhere it becomes a touch that stores nothing (`add 0`,
//! or a multiply by 0, which touches the cells the multiply did, when it
//! did): no store, so no store-to-load forward for the code that reads the
//! cell next, and the same tape error at the same command.
//!
//! In a switch (`Op::Switch`, after `switch_tables`) a cell whose new value
//! is dead is dropped from the switch the same way, and a switch left with
//! one cell it sets to one value, whatever the value switched on, becomes
//! that `set`: the digit chain whose flag is cleared becomes a clear.
//!
//! Serves the digit chain whose flag is cleared (`benches/idioms/chain.rs`:
//! 0.46 of its time) and compiler output's clears; changes 10 of the 73
//! corpus programs and 2 of the wider set's (fib, rule90), none of them
//! measurably faster (docs/optimisations.md).
//!
//! Owns this rewrite; which cells are on the tape is `ir::analysis`'s.

use super::FastMap;
use crate::ir::analysis::{Hull, OnTape};
use crate::ir::{Inst, Op, Program, SwitchCell};

/// Drops or weakens the writes of straight-line stretches that a later
/// `set` overwrites unread.
pub fn dead_stores(program: Program) -> Program {
    // The stretches; before each of their instructions, the cells known
    // on the tape (`proven`, from `stretch.2` on).
    let mut stretches = Vec::new();
    let mut proven = Vec::new();
    let mut on_tape = OnTape::new(&program);
    let mut start = 0;
    while start < program.insts.len() {
        let len = program.insts[start..].iter().take_while(|inst| straight(inst.op)).count();
        // Only a set (or a switch, which may become one) kills a value.
        let kills = |inst: &Inst| matches!(inst.op, Op::Set { .. } | Op::Switch { .. });
        let worth = len > 1 && program.insts[start + 1..start + len].iter().any(kills);
        if worth {
            stretches.push((start, len, proven.len()));
        }
        let range = start..start + len.max(1);
        if worth {
            on_tape.pass_noting(&program, range, &mut proven);
        } else {
            range.for_each(|i| on_tape.pass(&program, i, false));
        }
        start += len.max(1);
    }
    let Program { mut insts, mut data } = program;
    let mut dead = FastMap::default();
    for (start, len, at) in stretches {
        stretch(&mut insts[start..start + len], &proven[at..at + len], &mut data, &mut dead);
    }
    insts.retain(|inst| inst.op != DROPPED);
    Program { insts, data }
}

/// A stand-in for a dropped instruction until the end of the pass (no pass
/// makes a move of 0: `combine` drops them).
const DROPPED: Op = Op::Move(0);

fn straight(op: Op) -> bool {
    matches!(
        op,
        Op::Add { .. }
            | Op::Set { .. }
            | Op::AddMul { .. }
            | Op::Move(_)
            | Op::Out { .. }
            | Op::In { .. }
            | Op::Switch { .. }
    )
}

/// One stretch of straight-line code; `proven`: before each of its
/// instructions, the cells known on the tape, seen from the pointer then.
/// `dead` is scratch space.
fn stretch(insts: &mut [Inst], proven: &[Hull], data: &mut Vec<u8>, dead: &mut FastMap<i64, ()>) {
    dead.clear();
    // Backwards, the cells (by offset from where the stretch ends) that a
    // later `set` overwrites before anything reads them.
    let mut pos = 0i64;
    for (inst, &proven) in insts.iter_mut().zip(proven).rev() {
        if let Op::Move(d) = inst.op {
            pos -= d as i64;
            continue;
        }
        let cell = |off: i32| pos + off as i64;
        let on_tape = |off: i32| proven.contains(off as i64);
        match inst.op {
            Op::Set { off, .. } | Op::Add { off, .. } if dead.contains_key(&cell(off)) => {
                if on_tape(off) {
                    inst.op = DROPPED;
                } else if inst.op != (Op::Add { off, val: 0 }) {
                    inst.op = Op::Add { off, val: 0 };
                }
            }
            Op::Set { off, .. } => {
                dead.insert(cell(off), ());
            }
            Op::AddMul { off, src, factor, if_nonzero } if dead.contains_key(&cell(off)) => {
                if on_tape(off) && on_tape(src) {
                    inst.op = DROPPED;
                } else {
                    if factor != 0 {
                        inst.op = Op::AddMul { off, src, factor: 0, if_nonzero };
                    }
                    // It reads the source to touch the target, or not.
                    dead.remove(&cell(src));
                }
            }
            Op::Switch { src, start, cells } => {
                let (op, live) = switch(src, start, cells, data, |off| dead.contains_key(&cell(off)) && on_tape(off));
                inst.op = match op {
                    Op::Add { .. } if on_tape(src) => DROPPED,
                    op => op,
                };
                if let Op::Set { off, .. } = inst.op {
                    dead.insert(cell(off), ());
                } else {
                    // A cell it sets for every value kills what was
                    // there before (`switches::fold_set_cells`); the
                    // others it reads, and the counter.
                    for (off, sets) in live {
                        if sets && off != src {
                            dead.insert(cell(off), ());
                        } else {
                            dead.remove(&cell(off));
                        }
                    }
                    dead.remove(&cell(src));
                }
            }
            op => op.cells().for_each(|off| {
                dead.remove(&cell(off));
            }),
        }
    }
}

/// The switch on `src` whose `count` cells' tables start at `start`,
/// with the cells whose value is `dead` (and on the tape) left out, and
/// the cells left, each with whether it sets the cell for every value of
/// the counter. The same switch if none is dead; a `set` if one cell is
/// left that is `src` and set to one value for every value of it; a touch
/// of `src` (`add 0`) if none is left. A switch of fewer cells has its
/// tables appended to `data`.
fn switch(src: i32, start: u32, count: u16, data: &mut Vec<u8>, dead: impl Fn(i32) -> bool) -> (Op, Vec<(i32, bool)>) {
    fn cell_at(data: &[u8], at: usize) -> SwitchCell<'_> {
        SwitchCell::decode(&data[at..at + SwitchCell::SIZE])
    }
    let live: Vec<usize> = (0..count as usize)
        .map(|k| start as usize + k * SwitchCell::SIZE)
        .filter(|&at| !dead(cell_at(data, at).off))
        .collect();
    let cells = live.iter().map(|&at| cell_at(data, at)).map(|cell| (cell.off, cell.set_for_every_value())).collect();
    if live.len() == count as usize {
        return (Op::Switch { src, start, cells: count }, cells);
    }
    let op = match &live[..] {
        [] => Op::Add { off: src, val: 0 },
        &[only] => {
            let cell = cell_at(data, only);
            let constant = cell.set_for_every_value() && cell.add.iter().all(|&a| a == cell.add[0]);
            if cell.off == src && constant {
                Op::Set { off: src, val: cell.add[0] }
            } else {
                append(data, &live, src)
            }
        }
        _ => append(data, &live, src),
    };
    (op, cells)
}

/// A switch on `src` of the cells whose bytes start at `cells` in `data`,
/// appended to it.
fn append(data: &mut Vec<u8>, cells: &[usize], src: i32) -> Op {
    let start = data.len();
    for &cell in cells {
        data.extend_from_within(cell..cell + SwitchCell::SIZE);
    }
    Op::Switch { src, start: start as u32, cells: cells.len() as u16 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{clear_loops, closed_form_loops, combine, defer_moves, passes, switch_tables, to_fixed_point};

    fn before(src: &str) -> Program {
        closed_form_loops(defer_moves(clear_loops(combine(program(src)))))
    }

    #[test]
    fn writes_a_later_set_overwrites_are_dropped_where_the_cell_is_on_the_tape() {
        // [p+2] lies between [p] and [p+3], touched before: its add goes.
        // Nothing proves [p+3] before its add: that add only touches it.
        let p = dead_stores(ir(&[add(0, 1), add(3, 1), add(2, 3), set(2, 5), set(3, 0), Op::Out { off: 0 }]));
        assert_eq!(ops(&p), [add(0, 1), add(3, 0), set(2, 5), set(3, 0), Op::Out { off: 0 }]);
        // A loop's test proves its cell, with a cell touched before the
        // loop the cells between: the add to [p+1] goes, the one to [p+3]
        // only touches.
        let body = [add(1, 1), add(3, 1), set(1, 0), set(3, 0)];
        let p = dead_stores(ir(&[&[add(2, 1), Op::Loop { off: 0 }], &body[..], &[Op::EndLoop]].concat()));
        assert_eq!(ops(&p)[2..], [add(3, 0), set(1, 0), set(3, 0), Op::EndLoop]);
    }

    #[test]
    fn a_multiply_into_a_dead_cell_goes_or_multiplies_by_0() {
        let mul = |factor, if_nonzero| Op::AddMul { off: 1, src: 0, factor, if_nonzero };
        let clear = Op::Set { off: 1, val: 0 };
        let p = dead_stores(ir(&[mul(3, false), clear]));
        assert_eq!(ops(&p), [mul(0, false), clear]);
        let p = dead_stores(ir(&[mul(3, true), clear]));
        assert_eq!(ops(&p), [mul(0, true), clear]);
        let proven = [Op::Add { off: 2, val: 1 }, Op::Add { off: 0, val: 1 }];
        let p = dead_stores(ir(&[proven[0], proven[1], mul(3, true), clear]));
        assert_eq!(ops(&p), [proven[0], proven[1], clear]);
    }

    #[test]
    fn reads_keep_what_they_read() {
        for src in ["+>+<.[-]", "+>+<[->+<]>[-]>[-]", ">,<+>[-]<"] {
            let p = before(src);
            assert_eq!(dead_stores(p.clone()), p, "{src}");
        }
    }

    #[test]
    fn a_digit_chain_whose_flag_is_cleared_becomes_a_clear() {
        // t = digit, g = t >= 3; then g cleared: t is cleared, no more.
        let src = ",>+>[-]<<[->>+<<]>>[-[-[-[-]<+>]]]<[-]>.";
        let p = switch_tables(to_fixed_point(program(src), &passes(o2())));
        assert!(ops(&p).iter().any(|op| matches!(op, Op::Switch { .. })), "{}", p.display(b""));
        let p = dead_stores(p);
        assert!(!ops(&p).iter().any(|op| matches!(op, Op::Switch { .. })), "{}", p.display(b""));
        assert!(ops(&p).contains(&Op::Set { off: 0, val: 0 }));
    }

    #[test]
    fn a_set_a_switch_sets_again_for_every_value_is_dead() {
        // The digit cell cleared before factor.b's digit chain: the switch
        // sets it from a table (`switches::fold_set_cells`), the clear goes.
        let src = ",>,[-]<[->+<[->+<[->+<[->+<[-[-]>>+<<]]]]]>>.";
        let p = switch_tables(to_fixed_point(program(src), &passes(o2())));
        assert!(ops(&p).contains(&Op::Set { off: 1, val: 0 }), "{}", p.display(b""));
        let p = dead_stores(p);
        assert!(!ops(&p).contains(&Op::Set { off: 1, val: 0 }), "{}", p.display(b""));
        assert!(ops(&p).iter().any(|op| matches!(op, Op::Switch { .. })), "{}", p.display(b""));
    }

    /// Random straight-line stretches, switches included, anywhere on the
    /// tape (off both ends too): the pass must change nothing observable,
    /// the command and cell of a tape error included.
    #[test]
    fn random_stretches_keep_behaviour() {
        let mut next = random(0xdead_u64);
        let (mut changed, mut switches) = (0, 0);
        let passes = passes(o2());
        for _ in 0..4000 {
            // Unknown values around the start, so that little is folded.
            let mut src = moves(next(64) as i64 - 4) + ",>,>,>,>,>,>,>,<<<<";
            let pieces = 2 + next(14);
            src += &random_stretch(&mut next, pieces, -4, 9, true).0;
            src += "<<.>>>.";
            let p = switch_tables(to_fixed_point(program(&src), &passes));
            switches += ops(&p).iter().filter(|op| matches!(op, Op::Switch { .. })).count();
            let after = dead_stores(p.clone());
            changed += (after != p) as usize;
            let input = [3, 0, 200, 1, 7, 5, 9, 0, 4, 255, 2, 6, 1];
            let (b, a) = (behaviour_located(&p, &input), behaviour_located(&after, &input));
            assert_eq!(b, a, "{src}");
        }
        // The generator must reach the pass often enough to mean something.
        assert!(changed > 600 && switches > 1000, "only {changed} programs changed, {switches} switches");
    }
}
