//! Known cell values, propagated through straight-line code and used to
//! fold what they decide: adds become sets, sets of a value the cell
//! already holds vanish, output of a known cell becomes constant output,
//! loops on a known zero vanish, loops that provably run at most once become
//! `If`s, and `If`s on a known value are decided.
//!
//! A value is only known for a cell that is proven on the tape (it was
//! touched, or it is a never-touched cell inside the tape at program start),
//! because dropping an access to a cell off the tape would drop its error.

use super::FastMap;
use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op, Program};

/// What is known about cells, relative to where a straight-line stretch
/// began (`base` tracks the pointer since).
#[derive(Clone, Default)]
struct Knowledge {
    /// Cell (relative to the stretch's start) -> its value, or None: unknown.
    cells: FastMap<i64, Option<u8>>,
    base: i64,
    /// At program start every cell holds 0. While the pointer's absolute
    /// position is known (no loop entered yet), `Some(position)` of the
    /// stretch start.
    start_position: Option<i64>,
    /// While an `If` is open: each change to `cells`, with what the key held
    /// before (None: absent), so that the end of the `If` can meet the two
    /// ways through it by looking only at what its body changed (a copy of
    /// everything at each `If` made long straight programs quadratic).
    log: Vec<(i64, Option<Option<u8>>)>,
    open_ifs: usize,
    /// A cell (by key) known to hold something other than 0, its value
    /// unknown: a loop's or an if's cell at the start of its body, until
    /// it is written (`[[-<+>]<]`: the multiply `if` on the cell the loop
    /// just tested is always entered). Changes 22 of the 73 corpus
    /// programs and 10 of the wider set's (sortbytes 0.915 of its time).
    nonzero: Option<i64>,
}

/// What an `If` needs of the knowledge before it to meet it at its end.
struct Snapshot {
    base: i64,
    start_position: Option<i64>,
    /// Where its body's changes start in `Knowledge::log`.
    log_start: usize,
}

impl Knowledge {
    fn key(&self, off: i32) -> i64 {
        self.base + off as i64
    }

    fn get(&self, off: i32, tape: Hull) -> Option<u8> {
        let key = self.key(off);
        match self.cells.get(&key) {
            Some(known) => *known,
            None => {
                let abs = self.start_position? + key;
                tape.contains(abs).then_some(0)
            }
        }
    }

    fn set(&mut self, off: i32, value: Option<u8>) {
        let key = self.key(off);
        self.insert(key, value);
    }

    fn insert(&mut self, key: i64, value: Option<u8>) {
        let old = self.cells.insert(key, value);
        if self.open_ifs > 0 {
            self.log.push((key, old));
        }
    }

    /// Forgets everything: the pointer's position is no longer tied to
    /// anything known.
    fn forget(&mut self) {
        self.forget_values();
        self.base = 0;
    }

    /// Forgets every value, but keeps counting moves from the same place.
    fn forget_values(&mut self) {
        if self.open_ifs > 0 {
            self.log.extend(self.cells.drain().map(|(key, value)| (key, Some(value))));
        }
        self.cells.clear();
        self.start_position = None;
        self.nonzero = None;
    }

    /// Forgets the values of the cells of `keys` (a balanced loop's reach),
    /// keeping the others' and the count of moves: what a loop that
    /// touches only those cells may change. Goes through the map or the
    /// keys, whichever is shorter (values at the program's start are known
    /// only by going through every key).
    fn forget_reach(&mut self, keys: Hull, tape: Hull) {
        self.nonzero = None;
        let known: Vec<i64> = if self.start_position.is_none() && (self.cells.len() as u64) <= keys.spread() {
            self.cells
                .iter()
                .filter(|(&key, value)| value.is_some() && keys.contains(key))
                .map(|(&key, _)| key)
                .collect()
        } else {
            (keys.lo..=keys.hi).filter(|&key| self.get((key - self.base) as i32, tape).is_some()).collect()
        };
        for key in known {
            self.insert(key, None);
        }
    }

    /// Whether the cell at `off` holds something other than 0.
    fn is_nonzero(&self, off: i32, tape: Hull) -> bool {
        self.nonzero == Some(self.key(off)) || self.get(off, tape).is_some_and(|v| v != 0)
    }

    /// What an `If` opened here will meet its end with.
    fn open_if(&mut self) -> Snapshot {
        self.open_ifs += 1;
        Snapshot { base: self.base, start_position: self.start_position, log_start: self.log.len() }
    }

    /// At the end of an `If` opened at `before` on cell `off`: only what
    /// holds both after its body and where it was skipped (`off` zero).
    fn close_if(&mut self, before: Snapshot, off: i32, tape: Hull) {
        self.nonzero = None;
        if self.base != before.base || self.start_position != before.start_position {
            // Where the pointer is depends on the way taken; the cell the
            // `If` tested, from where each way left the pointer, holds 0
            // where the body was skipped, and may where the body ends on
            // a zero (`[>[-]]`: bfminifier's nest of cases ends each case
            // with `>[-]`, so each level around it runs once).
            let tested = self.get(off, tape);
            self.forget();
            if tested == Some(0) {
                self.set(off, Some(0));
            }
        } else {
            // Only the cells the body changed (and the one tested) can
            // differ; each held, before, what its first change replaced.
            let mut changed: FastMap<i64, Option<Option<u8>>> = FastMap::default();
            changed.insert(before.base + off as i64, Some(Some(0)));
            for &(key, old) in &self.log[before.log_start..] {
                changed.entry(key).or_insert(old);
            }
            for (key, old) in changed {
                let skipped = match old {
                    Some(value) => value,
                    None => before.start_position.and_then(|p| tape.contains(p + key).then_some(0)),
                };
                let through = match i32::try_from(key - self.base) {
                    Ok(off) => self.get(off, tape),
                    Err(_) => None,
                };
                self.insert(key, if skipped == through { through } else { None });
            }
        }
        self.open_ifs -= 1;
        if self.open_ifs == 0 {
            self.log.clear();
        }
    }
}

/// Propagates known values; `tape` is the tape the code will run on (its
/// cells by number from where the program starts).
pub fn known_values(program: Program, tape: Hull) -> Program {
    let partner = program.block_partners();
    let balanced = crate::ir::analysis::balanced_blocks(&program);
    let reach = reaches(&program);
    let Program { insts, mut data } = program;
    let mut out: Vec<Inst> = Vec::with_capacity(insts.len());
    let mut k = Knowledge { start_position: Some(0), ..Knowledge::default() };
    let mut open: Vec<Block> = Vec::new();
    // `If`s decided true: their `EndIf` is dropped.
    let mut dropped_end = vec![false; insts.len()];
    let mut i = 0;
    while i < insts.len() {
        let inst = insts[i];
        let emit = |op: Op, out: &mut Vec<Inst>| out.push(Inst { op, ..inst });
        if let Op::Add { off, .. } | Op::Set { off, .. } | Op::AddMul { off, .. } | Op::In { off } = inst.op {
            // Written: maybe zero now (its value, where known, says).
            if k.nonzero == Some(k.key(off)) {
                k.nonzero = None;
            }
        }
        match inst.op {
            Op::Add { off, val } => match k.get(off, tape) {
                Some(x) => {
                    let v = x.wrapping_add(val);
                    k.set(off, Some(v));
                    emit(Op::Set { off, val: v }, &mut out);
                }
                None => emit(inst.op, &mut out),
            },
            Op::Set { off, val } => {
                if k.get(off, tape) != Some(val) {
                    k.set(off, Some(val));
                    emit(inst.op, &mut out);
                }
            }
            Op::AddMul { off, src, factor, if_nonzero } => match k.get(src, tape) {
                // Adds nothing and touches nothing.
                Some(0) if if_nonzero => {}
                // Adds nothing, but touches its target.
                Some(0) if k.get(off, tape).is_some() => {}
                Some(0) => emit(Op::Add { off, val: 0 }, &mut out),
                Some(x) => {
                    let add = x.wrapping_mul(factor);
                    match k.get(off, tape) {
                        Some(y) => {
                            k.set(off, Some(y.wrapping_add(add)));
                            emit(Op::Set { off, val: y.wrapping_add(add) }, &mut out);
                        }
                        None => emit(Op::Add { off, val: add }, &mut out),
                    }
                }
                None => {
                    // (A multiply by zero only touches its target.)
                    if factor != 0 {
                        k.set(off, None);
                    }
                    emit(inst.op, &mut out);
                }
            },
            Op::Move(d) => {
                k.base += d as i64;
                emit(inst.op, &mut out);
            }
            Op::Out { off } => match k.get(off, tape) {
                Some(x) => {
                    data.push(x);
                    emit(Op::Print { start: data.len() as u32 - 1, len: 1 }, &mut out);
                }
                None => emit(inst.op, &mut out),
            },
            Op::In { off } => {
                k.set(off, None);
                emit(inst.op, &mut out);
            }
            // A dump reads the cells as they are: every write is still in
            // the code (this pass drops only writes of what a cell holds).
            Op::Print { .. } | Op::Dump => emit(inst.op, &mut out),
            Op::Switch { .. } | Op::Shortcut { .. } | Op::EndShortcut => {
                unreachable!("switch_tables and shortcuts run after every other pass")
            }
            Op::Loop { off } | Op::If { off } if k.get(off, tape) == Some(0) => {
                // Never entered: skip to after the block.
                i = partner[i] + 1;
                continue;
            }
            Op::If { off } if k.is_nonzero(off, tape) => {
                // Always entered: the body runs unconditionally.
                dropped_end[partner[i]] = true;
            }
            Op::If { off } => {
                open.push(Block { start: out.len(), before: Some(k.open_if()), reach: None, off });
                emit(inst.op, &mut out);
                k.nonzero = Some(k.key(off));
            }
            Op::Loop { off } => {
                // The body may run many times. A balanced one brings the
                // pointer back to where it is now and changes only cells of
                // its reach: the others keep their values (morse.b's chain
                // of loops on one counter, each printing through another
                // cell after its inner loop has emptied the counter: at
                // the end of each body the counter is still known 0, so
                // each loop is an `if`). A reach too wide to go through
                // forgets every value, as an unbalanced loop forgets also
                // where the pointer is.
                let keys = reach[i].filter(|_| balanced[i]).map(|reach| reach.shifted(-k.base));
                match keys {
                    Some(keys) => k.forget_reach(keys, tape),
                    None if balanced[i] => k.forget_values(),
                    None => k.forget(),
                }
                open.push(Block { start: out.len(), before: None, reach: keys, off });
                emit(inst.op, &mut out);
                // Each iteration starts with the cell just tested nonzero.
                k.nonzero = Some(k.key(off));
            }
            Op::EndIf if dropped_end[i] => {}
            Op::EndIf => {
                let block = open.pop().expect("balanced IR");
                // The body was skipped only if its cell was zero.
                k.close_if(block.before.expect("an If's knowledge"), block.off, tape);
                emit(inst.op, &mut out);
            }
            Op::EndLoop => {
                let block = open.pop().expect("balanced IR");
                // A body that leaves zero in the cell the loop tests next
                // runs at most once: its own counter, or, where the body
                // moved the pointer, the cell the test meets there
                // (rule30.b's `[>>[-]]`; bfminifier.b's nest of cases,
                // each ending after an `if` that moved the pointer onto a
                // zero or not; impeccable.b's digit chain, each level
                // ending after a walk). Where the pointer has moved by an
                // amount not known here, `k` counts from where it was
                // lost, and still says what the cell under it holds.
                let off = block.off;
                if k.get(off, tape) == Some(0) {
                    out[block.start].op = Op::If { off };
                    emit(Op::EndIf, &mut out);
                } else {
                    emit(inst.op, &mut out);
                }
                match block.reach {
                    Some(keys) => k.forget_reach(keys, tape),
                    None if balanced[partner[i]] => k.forget_values(),
                    None => k.forget(),
                }
                k.set(off, Some(0));
            }
            Op::Scan { value, .. } => {
                emit(inst.op, &mut out);
                k.forget();
                k.set(0, Some(value));
            }
        }
        i += 1;
    }
    Program { insts: out, data }
}

/// The widest reach of a balanced loop whose other cells keep their values
/// through it (`Knowledge::forget_reach` goes through its cells or the map).
const MAX_REACH: u64 = 64;

/// Per loop's `[` whose reach is at most `MAX_REACH` cells: the hull of
/// the cells its body (and its test) touches, from where the `[` has the
/// pointer (meaningful for balanced loops only).
fn reaches(program: &Program) -> Vec<Option<Hull>> {
    let mut reach = vec![None; program.insts.len()];
    // Open blocks: `[`, the pointer there, the cells touched so far.
    let mut open: Vec<(usize, i64, Hull)> = Vec::new();
    let mut pos = 0i64;
    for (i, inst) in program.insts.iter().enumerate() {
        let op = inst.op;
        if let Op::Move(d) = op {
            pos += d as i64;
        } else if op.opens() {
            open.push((i, pos, Hull::EMPTY));
        } else if op.closes() {
            let (start, at, hull) = open.pop().expect("balanced IR");
            reach[start] = (hull.spread() < MAX_REACH).then_some(hull.shifted(at));
            if let Some(parent) = open.last_mut() {
                parent.2 = parent.2.join(hull);
            }
            pos = at;
        }
        if let Some(top) = open.last_mut() {
            op.cells_touched().for_each(|cell| top.2.cover(pos + cell as i64));
        }
    }
    reach
}

/// A block being walked through.
struct Block {
    /// Index of the opener in the output.
    start: usize,
    /// For an `If`: what was known before it.
    before: Option<Snapshot>,
    /// For a balanced loop: the cells it may change, by key.
    reach: Option<Hull>,
    /// The cell the block tests.
    off: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{clear_loops, combine, defer_moves};

    fn known(src: &str) -> Program {
        known_values(defer_moves(clear_loops(combine(program(src)))), Hull::tape(64, 0))
    }

    #[test]
    fn start_of_program_is_all_zero() {
        assert_eq!(ops(&known("+++>++")), vec![Op::Set { off: 0, val: 3 }, Op::Set { off: 1, val: 2 }]);
        assert!(ops(&known("[.+]")).is_empty());
    }

    #[test]
    fn but_not_off_the_tape() {
        assert_eq!(ops(&known("<+")), vec![Op::Add { off: -1, val: 1 }]);
        assert_eq!(ops(&known("<[.]")), vec![Op::Loop { off: -1 }, Op::Out { off: -1 }, Op::EndLoop]);
    }

    #[test]
    fn a_left_margin_is_zero_too() {
        let p = known_values(defer_moves(combine(program("<<+>.<<[.]"))), Hull::tape(66, 2));
        // Cell -2 is on the tape, cell -3 may not be.
        assert_eq!(
            ops(&p),
            vec![
                Op::Set { off: -2, val: 1 },
                Op::Print { start: 0, len: 1 },
                Op::Loop { off: -3 },
                Op::Out { off: -3 },
                Op::EndLoop
            ]
        );
    }

    #[test]
    fn loops_after_loops_are_dead() {
        let p = known(",[.,][.]");
        assert_eq!(
            ops(&p),
            vec![Op::In { off: 0 }, Op::Loop { off: 0 }, Op::Out { off: 0 }, Op::In { off: 0 }, Op::EndLoop]
        );
    }

    #[test]
    fn constant_output() {
        let p = known("++++++++[>++++++++<-]>+.");
        assert!(ops(&p).contains(&Op::Print { start: 0, len: 1 }) || p.data.is_empty());
        let p = known("+++.");
        assert_eq!(ops(&p), vec![Op::Set { off: 0, val: 3 }, Op::Print { start: 0, len: 1 }]);
        assert_eq!(p.data, vec![3]);
    }

    /// `known` twice: loops it finds to run at most once are ifs the second
    /// time.
    fn known_twice(src: &str) -> Program {
        known_values(known(src), Hull::tape(64, 0))
    }

    #[test]
    fn an_if_keeps_what_both_ways_through_it_agree_on() {
        // After `,[>+++<[-]]` (an if): cell 1 is 0 or 3, unknown; cell 2 is
        // 5 either way, so its output is constant; the counter is 0.
        let p = known_twice(">>+++++<<,[>+++<[-]]>>.<.<.");
        let printed: Vec<Option<u8>> = ops(&p)
            .into_iter()
            .filter_map(|op| match op {
                Op::Print { start, .. } => Some(Some(p.data[start as usize])),
                Op::Out { .. } => Some(None),
                _ => None,
            })
            .collect();
        assert_eq!(printed, vec![Some(5), None, Some(0)]);
        // Nested ifs, and a loop inside one, which forgets every value.
        let p = known_twice(">>+++++<<,[>,[>[-]+++++<[-]]<[-]]>>.");
        assert!(matches!(ops(&p).last(), Some(Op::Print { .. })), "5 whichever way");
        let p = known_twice(">>+++++<<,[>,[>[-]++++<[-]]<[-]]>>.");
        assert_eq!(ops(&p).last(), Some(&Op::Out { off: 2 }), "4 or 5");
        let p = known_twice(">>+++++<<,[>>[-<+>]<<[-]]>>.");
        assert_eq!(ops(&p).last(), Some(&Op::Out { off: 2 }), "a loop in the body");
    }

    #[test]
    fn body_that_clears_its_counter_runs_once() {
        let p = known(",[>+<[-]]");
        assert_eq!(ops(&p)[1], Op::If { off: 0 });
    }

    #[test]
    fn body_that_moves_onto_a_zero_runs_once() {
        // rule30.b's `[>>[-]]`: the next test meets the cell just cleared.
        let p = known(",[>>[-]]");
        assert_eq!(ops(&p)[1], Op::If { off: 0 }, "{p:?}");
        // Onto a cell that may be nonzero: a loop.
        for src in [",[>>[-]+]", ",[>>,]", ",[>>[-]<]"] {
            let p = known(src);
            assert!(ops(&p).contains(&Op::Loop { off: 0 }), "{src}: {p:?}");
        }
    }

    #[test]
    fn an_if_whose_body_ends_on_a_zero_leaves_a_zero_wherever_the_pointer_is() {
        // bfminifier.b's nest of cases: the innermost drops the character
        // by moving onto the copy and clearing it. Skipped, the if leaves
        // its own cell 0; taken, the cleared one: every level runs once.
        let p = known_twice(",>,<[-[-[>[-]]]]");
        let opens: Vec<Op> = ops(&p).into_iter().filter(|op| op.opens()).collect();
        assert_eq!(opens, vec![Op::If { off: 0 }; 3], "{p:?}");
        // A body that ends on a cell that may be nonzero: the loops stay.
        for src in [",>,<[-[-[>[-]+]]]", ",[-[-[>,]]]", ",>>,<<[-[-[>[-]>]]]"] {
            let p = known_twice(src);
            assert!(ops(&p).contains(&Op::Loop { off: 0 }), "{src}: {p:?}");
        }
    }

    #[test]
    fn nested_loops_on_one_counter_run_once() {
        // The digit switch of factor.b: each level ends when the level
        // inside it has emptied the counter.
        let p = known(",>,<[->+<[->+<[->+<]]]");
        let opens: Vec<Op> = ops(&p).into_iter().filter(|op| op.opens()).collect();
        assert_eq!(opens, vec![Op::If { off: 0 }, Op::If { off: 0 }, Op::Loop { off: 0 }]);
    }

    #[test]
    fn a_cell_a_loop_or_an_if_just_tested_is_not_zero() {
        // sortbytes.b's `[[>>+<<-]<]`: the copy's `if` tests the cell the
        // loop tested, not written since: always entered.
        let known = |src: &str| {
            let p = crate::opt::closed_form_loops(defer_moves(clear_loops(combine(program(src)))));
            known_values(p, Hull::tape(64, 0))
        };
        let p = known(",>,[[->>+<<]<]");
        assert!(!ops(&p).iter().any(|op| matches!(op, Op::If { .. })), "{p:?}");
        // (The loop that runs once becomes an `if` at its end, which the
        // next round sees.)
        let p = known_values(known(",[>.<[[->+<]>.<]]"), Hull::tape(64, 0));
        assert_eq!(ops(&p).iter().filter(|op| matches!(op, Op::If { .. })).count(), 1, "{p:?}");
        // Written since (or moved off): maybe zero, the `if` stays.
        for src in [",[-[->+<]]", ",[>[->+<]<]", ",[,[->+<]]"] {
            let p = known(src);
            assert!(ops(&p).contains(&Op::If { off: 0 }) || ops(&p).contains(&Op::If { off: 1 }), "{src}: {p:?}");
        }
    }

    #[test]
    fn cells_a_balanced_loop_never_touches_keep_their_values() {
        // Cell 2 is 3 after a loop that touches only cells 0 and 1.
        let p = known(">>+++<<,[>+[-]<,]>>.");
        assert!(!ops(&p).contains(&Op::Out { off: 2 }), "{p:?}");
        // Not after one that touches it, nor after an unbalanced one.
        for src in [">>+++<<,[>>+<<,]>>.", ">>+++<<,[>[>]<,]>>."] {
            assert!(ops(&known(src)).contains(&Op::Out { off: 2 }), "{src}");
        }
        // morse.b's chain: the counter, cleared, is still 0 after a loop on
        // another cell, so the loop around runs once: an `if`.
        let p = known(",>,<[[-]>[.-]<]");
        assert_eq!(ops(&p)[2], Op::If { off: 0 }, "{p:?}");
    }

    #[test]
    fn keeps_behaviour() {
        for src in [
            "+++.>++.<[-]>[<+>-]<.",
            ",[>+<[-]]>.",
            ",[.,]++.[-]",
            "<[.]",
            "+[>+<-]>[>+<-]>.",
            ",>,<[>[-]<[-]]>.",
            ",>,<[->+<[->+<[->+<]]]>.",
            ",[>,[>+<-]<[-]]>>.",
            ",>,<[[->>+<<]<]>>.",
            ",[-[->+<]>.<]>.",
            ",[>,<[[->+<]>.<]]>.",
            ">>+++<<,[>+[-]<,]>>.",
            ",>,<[[-]>[.-]<]>.",
            ">>++<<,[>[-<+>]<[>>.<<-],]>>.",
        ] {
            assert_preserves(|p| known_values(defer_moves(combine(p)), Hull::tape(64, 0)), src, b"ab");
        }
    }
}
