//! Straight-line arithmetic by what it computes: in a stretch of adds, sets
//! and multiplies, each cell ends as a constant plus multiples of the
//! cells' values before the stretch (arithmetic modulo 256 is linear). A
//! copy through a temporary, as compilers to Brainfuck and hand-written
//! programs make it (`[->+>+<<]>>[-<<+>>]`: the source moved into the copy
//! and the temporary, then the temporary moved back), leaves the source as
//! it was, the copy its value and the temporary zero:
//!
//! ```text
//! set  [p+7] = 0
//! set  [p+8] = 0
//! mul  [p+7] += [p+6] * 1         set  [p+7] = 0
//! mul  [p+8] += [p+6] * 1   ->    mul  [p+7] += [p+6] * 1
//! set  [p+6] = 0                  set  [p+8] = 0
//! mul  [p+6] += [p+8] * 1
//! set  [p+8] = 0
//! ```
//!
//! The stretch is written again from those final values, each cell once,
//! in an order that reads every cell before it is overwritten (a cycle, a
//! swap, keeps the stretch as it was), and only where that makes fewer
//! instructions. A cell the stretch leaves as it was is no longer touched,
//! and the others are touched in another order: so a stretch is rewritten
//! only where every cell it touches is proven on the tape by what ran
//! before it (`ir::analysis::OnTape`), where no access can fail.
//!
//! Serves copies through temporaries inside loops, which the code
//! generator's runs cannot drop (prime8's modulo loop keeps its cells in
//! registers and made every copy there; compiler output's statements).
//! Counts in docs/optimisations.md.
//!
//! Owns this rewrite; which cells are on the tape is `ir::analysis`'s.

use crate::ir::analysis::{Hull, OnTape};
use crate::ir::{Inst, Op, Program};

/// Instructions rewritten at a time: a long straight-line program is taken
/// in windows, keeping the rewrite linear in its length.
const WINDOW: usize = 64;

/// Cells of the values before the stretch that one final value may
/// combine: more is not a copy or a sum a compiler makes.
const MAX_TERMS: usize = 4;

/// Rewrites each stretch of arithmetic whose cells are proven on the tape
/// from the values it leaves, where that is shorter.
pub fn linear_stretches(program: Program) -> Program {
    let mut on_tape = OnTape::new(&program);
    let mut insts = Vec::with_capacity(program.insts.len());
    let mut start = 0;
    while start < program.insts.len() {
        let stretch = Stretch::take(&program, start, &mut on_tape);
        let len = stretch.insts.len();
        if len == 0 {
            on_tape.pass(&program, start, false);
            insts.push(program.insts[start]);
            start += 1;
            continue;
        }
        match rewrite_proven_tail(&stretch.insts, &stretch.proven, stretch.guards_end()) {
            Some((kept, shorter)) => {
                insts.extend_from_slice(&stretch.insts[..kept]);
                insts.extend(shorter);
            }
            None => insts.extend_from_slice(&program.insts[start..start + len]),
        }
        start += len;
    }
    Program { insts, data: program.data }
}

fn arithmetic(op: Op) -> bool {
    matches!(op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { if_nonzero: false, .. })
}

/// A stretch of arithmetic, its guarded multiplies each moved as early as
/// it may go. A guarded multiply (`mul [t] += [c] * k if [c] != 0`, a
/// moving loop whose target was not proven on the tape) changes only its
/// target and touches it only for a nonzero counter: it may go before
/// instructions that do not touch its target, write its counter or fail
/// (all their cells proven on the tape). Then what it interrupted is one
/// stretch: `[-]>[<<+>+>-]<[>+<-]`, a copy through a temporary cleared
/// first whose destination `[p-1]` is not proven, becomes the copy and the
/// clear (`mul [p-1] += [p+1] * 1 if [p+1] != 0`, `set [p] = 0`; was six
/// instructions, the rest not knowing the clear's zero). Changes the code
/// of 3 of 232 programs (the corpus, the wider set, two sweeps of public
/// programs): factorials' digit loop, two interpreters'.
struct Stretch {
    /// In their new order.
    insts: Vec<Inst>,
    /// Before each: the cells known on the tape.
    proven: Vec<Hull>,
}

impl Stretch {
    /// The stretch starting at `start` (empty if none does), `on_tape`
    /// moved past it.
    fn take(program: &Program, start: usize, on_tape: &mut OnTape) -> Stretch {
        let mut stretch = Stretch { insts: Vec::new(), proven: Vec::new() };
        for i in (start..program.insts.len()).take(WINDOW) {
            let inst = program.insts[i];
            let known = on_tape.known().unwrap_or(Hull::EMPTY);
            match inst.op {
                op if arithmetic(op) => {
                    stretch.insts.push(inst);
                    stretch.proven.push(known);
                }
                Op::AddMul { off, src, if_nonzero: true, .. } => {
                    let at = stretch.earliest(off, src);
                    // Its test touches the counter: proven for all that
                    // now comes after it.
                    for hull in &mut stretch.proven[at..] {
                        *hull = hull.join(Hull::of([src as i64]));
                    }
                    stretch.insts.insert(at, inst);
                    stretch.proven.insert(at, known);
                }
                _ => break,
            }
            on_tape.pass(program, i, false);
        }
        stretch
    }

    /// Where the instructions after the last guarded multiply start.
    fn guards_end(&self) -> usize {
        let guarded = |inst: &Inst| matches!(inst.op, Op::AddMul { if_nonzero: true, .. });
        self.insts.iter().rposition(guarded).map_or(0, |j| j + 1)
    }

    /// The earliest place for a guarded multiply into `target` from
    /// `counter`: after the last instruction it may not go before (another
    /// guarded one among them: their targets fail in order).
    fn earliest(&self, target: i32, counter: i32) -> usize {
        let passable = |(inst, proven): (&Inst, &Hull)| {
            arithmetic(inst.op)
                && inst.op.cells_touched().all(|cell| cell != target && proven.contains(cell as i64))
                && inst.op.cells().next() != Some(counter)
        };
        let blockers = self.insts.iter().zip(&self.proven).rposition(|pair| !passable(pair));
        blockers.map_or(0, |j| j + 1)
    }
}

/// A cell's value at the end of a stretch: `constant` plus each cell's
/// value before it times its coefficient (nonzero; by cell).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    constant: u8,
    terms: Vec<(i32, u8)>,
}

impl Value {
    /// What a cell the stretch has not written holds: its own value.
    fn of(cell: i32) -> Value {
        Value { constant: 0, terms: vec![(cell, 1)] }
    }

    fn coefficient(&self, cell: i32) -> u8 {
        self.terms.iter().find(|&&(c, _)| c == cell).map_or(0, |&(_, k)| k)
    }

    /// Adds `factor` times `other`.
    fn add_scaled(&mut self, other: &Value, factor: u8) {
        self.constant = self.constant.wrapping_add(other.constant.wrapping_mul(factor));
        for &(cell, k) in &other.terms {
            let k = k.wrapping_mul(factor);
            match self.terms.binary_search_by_key(&cell, |&(c, _)| c) {
                Ok(i) => self.terms[i].1 = self.terms[i].1.wrapping_add(k),
                Err(i) => self.terms.insert(i, (cell, k)),
            }
        }
        self.terms.retain(|&(_, k)| k != 0);
    }
}

/// The longest tail of the stretch `insts`, from `from` on (after its
/// guarded multiplies), whose cells are all known on the tape before it
/// (`proven`: before each instruction), written from the values it leaves
/// where that is shorter: how many instructions come before it, and its
/// new instructions. The instructions before it stay, and prove cells for
/// it (`+>+<` touches both cells first).
fn rewrite_proven_tail(insts: &[Inst], proven: &[Hull], from: usize) -> Option<(usize, Vec<Inst>)> {
    // Each cell written once, none left as it was (`add 0`, a multiply by
    // 0): the values are the instructions' own, no shorter (a long
    // program's `+>+>+>` start).
    let mut targets: Vec<i32> = insts.iter().filter_map(|inst| inst.op.cells().next()).collect();
    targets.sort_unstable();
    targets.dedup();
    let touch_only = |op: Op| matches!(op, Op::Add { val: 0, .. } | Op::AddMul { factor: 0, .. });
    if targets.len() == insts.len() && !insts.iter().any(|inst| touch_only(inst.op)) {
        return None;
    }
    // From the end, the cells the tail from each instruction touches.
    let mut touched = Hull::EMPTY;
    let mut first = None;
    for k in (from..insts.len()).rev() {
        insts[k].op.cells_touched().for_each(|c| touched.cover(c as i64));
        if proven[k].contains(touched.lo) && proven[k].contains(touched.hi) {
            first = Some(k);
        }
    }
    let first = first?;
    if insts.len() - first < 3 {
        return None;
    }
    // What the instructions before it leave in cells as constants.
    let constants = values(&insts[..first])?.into_iter().filter(|w| w.1.terms.is_empty()).map(|w| (w.0, w.1));
    rewrite(&insts[first..], constants.collect()).map(|shorter| (first, shorter))
}

/// Each cell `insts` write, with its value at their end in terms of the
/// values before them (or the constants `before` gives), and the
/// instruction that wrote it last; None where a value grows past
/// `MAX_TERMS`.
fn values_from(insts: &[Inst], before: &[(i32, Value)]) -> Option<Vec<(i32, Value, usize)>> {
    let mut written: Vec<(i32, Value, usize)> = Vec::new();
    let value = |written: &[(i32, Value, usize)], cell: i32| match written.iter().find(|w| w.0 == cell) {
        Some(w) => w.1.clone(),
        None => before.iter().find(|b| b.0 == cell).map_or_else(|| Value::of(cell), |b| b.1.clone()),
    };
    for (i, inst) in insts.iter().enumerate() {
        let (cell, new) = match inst.op {
            Op::Add { off, val } => {
                let mut v = value(&written, off);
                v.constant = v.constant.wrapping_add(val);
                (off, v)
            }
            Op::Set { off, val } => (off, Value { constant: val, terms: Vec::new() }),
            Op::AddMul { off, src, factor, .. } => {
                let mut v = value(&written, off);
                v.add_scaled(&value(&written, src), factor);
                (off, v)
            }
            _ => unreachable!("a stretch of arithmetic"),
        };
        if new.terms.len() > MAX_TERMS {
            return None;
        }
        match written.iter_mut().find(|w| w.0 == cell) {
            Some(w) => (w.1, w.2) = (new, i),
            None => written.push((cell, new, i)),
        }
    }
    Some(written)
}

fn values(insts: &[Inst]) -> Option<Vec<(i32, Value, usize)>> {
    values_from(insts, &[])
}

/// The stretch `insts` written from the values it leaves, if that takes
/// fewer instructions; `before`: cells known to hold constants before it.
fn rewrite(insts: &[Inst], before: Vec<(i32, Value)>) -> Option<Vec<Inst>> {
    let mut written = values_from(insts, &before)?;
    // Cells that end as they were need nothing; the others in the order
    // they were last written (a loop's counter stays last: `counter-last`),
    // each after the cells that read its old value.
    let was = |cell: i32| before.iter().find(|b| b.0 == cell).map_or_else(|| Value::of(cell), |b| b.1.clone());
    written.retain(|(cell, v, _)| *v != was(*cell));
    written.sort_by_key(|w| w.2);
    // For each, how many others read its old value, and which it reads.
    let index = |cell: i32| written.iter().position(|w| w.0 == cell);
    let mut readers = vec![0usize; written.len()];
    let reads: Vec<Vec<usize>> = written
        .iter()
        .map(|(cell, v, _)| v.terms.iter().filter(|t| t.0 != *cell).filter_map(|t| index(t.0)).collect())
        .collect();
    reads.iter().flatten().for_each(|&j| readers[j] += 1);
    let mut order = Vec::with_capacity(written.len());
    let mut done = vec![false; written.len()];
    while order.len() < written.len() {
        // The first not yet made whose old value no other one left reads.
        let next = (0..written.len()).find(|&j| !done[j] && readers[j] == 0)?;
        done[next] = true;
        reads[next].iter().for_each(|&j| readers[j] -= 1);
        order.push(next);
    }
    let mut out = Vec::new();
    for j in order {
        let (cell, ref v, last) = written[j];
        let at = insts[last].at;
        // Added to where it keeps its value (or holds a known one), else set.
        let held = was(cell);
        let kept = match (v.coefficient(cell), held.terms.is_empty()) {
            (1, _) => Some(0),
            (0, true) => Some(held.constant),
            (0, false) => None,
            _ => return None,
        };
        match kept {
            Some(k) if v.constant != k => {
                out.push(Inst::new(Op::Add { off: cell, val: v.constant.wrapping_sub(k) }, at))
            }
            Some(_) => {}
            None => out.push(Inst::new(Op::Set { off: cell, val: v.constant }, at)),
        }
        for &(src, k) in v.terms.iter().filter(|&&(src, _)| src != cell) {
            out.push(Inst::multiply(cell, src, k, at, at));
        }
    }
    (out.len() < insts.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::{add, behaviour_located, ir, moves, mul, ops, program, random, random_stretch, set};

    /// Cells 0 to 9 touched first: all proven on the tape.
    fn proven() -> Vec<Op> {
        vec![add(0, 0), add(9, 0)]
    }

    #[test]
    fn a_copy_through_a_temporary_is_a_copy() {
        let copy = [set(7, 0), set(8, 0), mul(7, 6, 1), mul(8, 6, 1), set(6, 0), mul(6, 8, 1), set(8, 0)];
        let p = linear_stretches(ir(&[proven(), copy.to_vec()].concat()));
        assert_eq!(ops(&p)[2..], [set(7, 0), mul(7, 6, 1), set(8, 0)]);
    }

    #[test]
    fn cells_not_proven_on_the_tape_wait_for_the_first_touch() {
        let copy = [set(7, 0), set(8, 0), mul(7, 6, 1), mul(8, 6, 1), set(6, 0), mul(6, 8, 1), set(8, 0)];
        // Only cells 0 to 7 proven: [p+8] might be off the tape. Its first
        // touch stays first; from there on the cells are proven, and the
        // tail starts from the zeros set before it.
        let p = linear_stretches(ir(&[vec![add(0, 0), add(7, 0)], copy.to_vec()].concat()));
        assert_eq!(ops(&p)[2..], [set(7, 0), set(8, 0), mul(7, 6, 1)]);
        // Nothing proven before: nothing changes until both ends are touched.
        let p = ir(&copy[1..]);
        assert_eq!(ops(&linear_stretches(p))[..2], [set(8, 0), mul(7, 6, 1)]);
    }

    /// `mul [t] += [c] * 1 if [c] != 0`: a move loop's closed form
    /// whose target is not proven on the tape.
    fn guarded(target: i32, counter: i32) -> Op {
        Op::AddMul { off: target, src: counter, factor: 1, if_nonzero: true }
    }

    #[test]
    fn a_guarded_multiply_goes_first_and_the_rest_is_one_stretch() {
        // `[-]>[<<+>+>-]<[>+<-]` at cell 1 with only cells 1 and 2
        // proven: the copy into [p] (cell 0, maybe off the tape) stays
        // guarded, the temporary's round trip and the clears go.
        let copy = [set(1, 0), guarded(0, 2), mul(1, 2, 1), set(2, 0), mul(2, 1, 1), set(1, 0)];
        let p = linear_stretches(ir(&[vec![add(1, 0), add(2, 0)], copy.to_vec()].concat()));
        assert_eq!(ops(&p)[2..], [guarded(0, 2), set(1, 0)]);
    }

    #[test]
    fn a_guarded_multiply_stays_after_what_it_cannot_pass() {
        // Before it, an instruction that reads its target, one that
        // writes its counter, one that may fail (cell 5 not proven).
        for before in [mul(1, 0, 1), set(2, 3), add(5, 1)] {
            let stretch = [before, guarded(0, 2), mul(1, 2, 1), set(2, 0), mul(2, 1, 1), set(1, 0)];
            let p = linear_stretches(ir(&[vec![add(1, 0), add(2, 0)], stretch.to_vec()].concat()));
            assert_eq!(ops(&p)[2..4], [before, guarded(0, 2)], "{before:?}");
        }
    }

    #[test]
    fn a_swap_or_a_stretch_no_shorter_stays() {
        // [p+1], [p+2] swapped through [p+3]: each reads the other's old value.
        let swap = [mul(3, 1, 1), set(1, 0), mul(1, 2, 1), set(2, 0), mul(2, 3, 1), set(3, 0)];
        let p = ir(&[proven(), swap.to_vec()].concat());
        assert_eq!(linear_stretches(p.clone()), p);
        let plain = [add(1, 1), mul(2, 1, 3), set(4, 0)];
        let p = ir(&[proven(), plain.to_vec()].concat());
        assert_eq!(linear_stretches(p.clone()), p);
    }

    #[test]
    fn a_cell_read_is_written_after_its_readers() {
        // [p+2] = [p+1] * 2 and [p+1] = 5: the multiply first.
        let p =
            linear_stretches(ir(&[proven(), vec![set(1, 5), set(2, 0), mul(2, 1, 1), add(2, 3), set(2, 0)]].concat()));
        assert_eq!(ops(&p)[2..], [set(1, 5), set(2, 0)]);
        let stretch = [set(2, 0), mul(2, 1, 2), set(1, 0), add(1, 5), mul(3, 4, 0), set(4, 1)];
        let p = linear_stretches(ir(&[proven(), stretch.to_vec()].concat()));
        assert_eq!(ops(&p)[2..], [set(2, 0), mul(2, 1, 2), set(1, 5), set(4, 1)]);
    }

    /// Random stretches of adds, sets and multiplies among a few cells,
    /// after moves that prove some of them on the tape, anywhere on a
    /// 64-cell tape: output, outcome and a tape error's command and cell
    /// the same.
    #[test]
    fn random_stretches_keep_behaviour() {
        let mut next = random(0x11ea_u64);
        let mut changed = 0;
        for _ in 0..4000 {
            let mut src = moves(next(64) as i64 - 4) + ",>,>,>,<<<";
            if next(2) == 0 {
                src += ">>>>>>+-<<<<<<";
            }
            let pieces = 3 + next(12);
            let (stretch, pos) = random_stretch(&mut next, pieces, -1, 7, false);
            src += &stretch;
            src += &moves(-pos);
            src += ".>.>.>.>.>.";
            let p = crate::opt::to_fixed_point(program(&src), &crate::opt::passes(crate::opt::testing::o2()));
            let after = linear_stretches(p.clone());
            changed += usize::from(after != p);
            assert_eq!(behaviour_located(&p, b"\x07\x03\x05"), behaviour_located(&after, b"\x07\x03\x05"), "{src}");
        }
        assert!(changed > 200, "{changed}");
    }

    /// Random stretches with guarded multiplies among cells -2 to 3,
    /// anywhere on a 64-cell tape, some cells read or touched before:
    /// output, outcome and a tape error's instruction and cell the same.
    #[test]
    fn random_stretches_with_guarded_multiplies_keep_behaviour() {
        let mut next = random(0x9a4d_u64);
        let cell = |next: &mut dyn FnMut(u64) -> u64| next(6) as i32 - 2;
        let (mut changed, mut moved) = (0, 0);
        for _ in 0..4000 {
            let mut ops = vec![Op::Move(next(64) as i32)];
            for _ in 0..next(4) {
                ops.push(if next(2) == 0 { Op::In { off: cell(&mut next) } } else { add(cell(&mut next), 0) });
            }
            for _ in 0..3 + next(12) {
                let (target, counter) = (cell(&mut next), cell(&mut next));
                ops.push(match next(6) {
                    0 => add(target, 1 + next(255) as u8),
                    1 => set(target, next(3) as u8),
                    2 | 3 if target != counter => mul(target, counter, next(4) as u8),
                    _ if target != counter => {
                        Op::AddMul { off: target, src: counter, factor: next(3) as u8, if_nonzero: true }
                    }
                    _ => set(target, 0),
                });
            }
            ops.extend((-2..=3).map(|off| Op::Out { off }));
            let p = Program {
                insts: ops.iter().enumerate().map(|(i, &op)| Inst::new(op, i as u32)).collect(),
                data: vec![],
            };
            let after = linear_stretches(p.clone());
            changed += usize::from(after != p);
            // A guarded multiply now nearer the start.
            let guarded =
                |p: &Program| p.insts.iter().position(|inst| matches!(inst.op, Op::AddMul { if_nonzero: true, .. }));
            moved += usize::from(guarded(&after) < guarded(&p));
            let input = b"\x07\x03\x05\x02";
            assert_eq!(behaviour_located(&p, input), behaviour_located(&after, input), "{p:?}");
        }
        assert!(changed > 400 && moved > 100, "{changed} {moved}");
    }
}
