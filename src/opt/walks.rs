//! Walking loops: loops that step the pointer along an array, moving a
//! cell of each element with a multiply `If` (mandelbrot's bit shifts,
//! factor.b's digit copies):
//!
//! ```text
//! loop while [p] != 0
//!   if [p+1] != 0
//!     mul  [p+10] += [p+1] * 1
//!     set  [p+1] = 0
//!   end if
//!   move p - 9
//! end loop
//! ```
//!
//! The `If` is there only so that a zero counter touches nothing: with a
//! zero counter the multiply adds zero and the set stores the zero already
//! there. Its branch is taken or not at random, element by element, and
//! mispredicted often. But from the second iteration on, the previous
//! iteration has touched cells on both sides of the target (here `[p+1]`
//! of the previous element is `[p+10]` itself), and the tape is contiguous:
//! the target is on the tape and the multiply can run unguarded. So the
//! first iteration is peeled off, guarded as before, and the loop that
//! follows runs the multiplies without the `If`:
//!
//! ```text
//! if [p] != 0
//!   (the body as it was)
//!   loop while [p] != 0
//!     set  [p+10] = 0
//!     mul  [p+10] += [p+1] * 1
//!     set  [p+1] = 0
//!     move p - 9
//!   end loop
//! end if
//! ```
//!
//! Once every iteration has a previous one, what the previous one left at
//! zero is known too: here `[p+10]` is the `[p+1]` it cleared. The `set`
//! says so; the code generator then stores the product instead of adding
//! it to a load of the store just made.
//!
//! Owns this rewrite of walking loops. Which cells are known on the tape
//! (`Hull`) is `ir::analysis`'s; how the code generator then stores the
//! product is x64's, which this pass only makes possible.

use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op, Program};

/// Bodies longer than this are left alone: peeling copies the body once.
/// A carry walk with its digit chain still a chain of `if`s (the switch
/// comes last) is 40 to 60 instructions (factorials.b, the bignum carry
/// idiom); at 32 they kept their guards.
const MAX_BODY: usize = 64;

/// Unguards the multiply `If`s of loops with flat bodies where that is
/// safe, peeling the first iteration off where it needs a previous one.
pub fn unguard_walks(program: Program) -> Program {
    let partner = program.block_partners();
    let Program { insts, data } = program;
    let mut out = Vec::with_capacity(insts.len());
    let mut i = 0;
    while i < insts.len() {
        if let Op::Loop { .. } = insts[i].op {
            let end = partner[i];
            if let Some(plan) = plan(&insts[i..=end]) {
                rewrite(&insts[i..=end], &plan, &mut out);
                i = end + 1;
                continue;
            }
        }
        out.push(insts[i]);
        i += 1;
    }
    Program { insts: out, data }
}

/// Which multiply `If`s of a loop body (by index in the body) can lose
/// their guard.
#[derive(Default)]
struct Plan {
    /// In every iteration: their targets are on the tape, or the iteration
    /// goes on to touch a cell beyond them (so it would fail anyway, with
    /// the same error and nothing observable in between).
    always: Vec<usize>,
    /// From the second iteration on: the previous one proves them.
    after_first: Vec<usize>,
    /// The multiplies (by index in the body) of those `If`s whose targets
    /// only the rest of the iteration proves: they become `if_nonzero`,
    /// since where the counter is zero the program fails at that later
    /// cell first (another command, maybe another cell).
    speculated: Vec<usize>,
}

/// `block` runs from the `Loop` to its `EndLoop`. None: nothing to do.
fn plan(block: &[Inst]) -> Option<Plan> {
    let Op::Loop { off: test } = block[0].op else { return None };
    let body = &block[1..block.len() - 1];
    if body.len() > MAX_BODY {
        return None;
    }
    // The pointer's shift from the iteration's start before each operation.
    let mut at = Vec::with_capacity(body.len());
    let mut sure = vec![test as i64];
    let mut pos = 0i64;
    let mut depth = 0;
    for inst in body {
        at.push(pos);
        match inst.op {
            Op::Loop { .. } | Op::EndLoop | Op::Scan { .. } | Op::Dump => return None,
            Op::Move(_) if depth > 0 => return None,
            Op::Move(d) => pos += d as i64,
            Op::If { off } => {
                if depth == 0 {
                    sure.push(pos + off as i64);
                }
                depth += 1;
            }
            Op::EndIf => depth -= 1,
            op if depth == 0 => sure.extend(op.cells_surely_touched().map(|off| pos + off as i64)),
            _ => {}
        }
    }
    let stride = pos;
    // The test at the bottom belongs to the iteration that ends there.
    let end_test = stride + test as i64;
    sure.push(end_test);
    // The previous iteration's cells, seen from this one.
    let previous = Hull::of(sure.iter().map(|&cell| cell - stride));
    let later = Later { body, at: &at, end_test };

    let mut plan = Plan::default();
    let mut now = Hull::of([test as i64]);
    let mut depth = 0;
    for (i, inst) in body.iter().enumerate() {
        match inst.op {
            Op::If { off } if depth == 0 => {
                now.cover(at[i] + off as i64);
                depth += 1;
                let Some(targets) = multiply_targets(off, &body[i + 1..]) else { continue };
                let targets: Vec<i64> = targets.into_iter().map(|cell| at[i] + cell as i64).collect();
                let after = i + targets.len() + 3;
                // The multiplies whose targets only the rest of the
                // iteration proves, if it proves all that `hull` does not.
                let speculated = |hull: Hull| -> Option<Vec<usize>> {
                    let mut speculated = Vec::new();
                    for (k, &t) in targets.iter().enumerate() {
                        if !hull.contains(t) {
                            later.touches_beyond(t, hull, &targets, after).then_some(())?;
                            speculated.push(i + 1 + k);
                        }
                    }
                    Some(speculated)
                };
                if let Some(multiplies) = speculated(now) {
                    plan.always.push(i);
                    plan.speculated.extend(multiplies);
                } else if let Some(multiplies) = speculated(now.join(previous)) {
                    plan.after_first.push(i);
                    plan.speculated.extend(multiplies);
                }
            }
            Op::If { .. } => depth += 1,
            Op::EndIf => depth -= 1,
            op if depth == 0 => op.cells_surely_touched().for_each(|off| now.cover(at[i] + off as i64)),
            _ => {}
        }
    }
    (!plan.always.is_empty() || !plan.after_first.is_empty()).then_some(plan)
}

/// The rest of an iteration, to prove that it touches a cell beyond a
/// target: then the iteration fails anyway where the target is off the
/// tape, and the multiply may run unguarded as `if_nonzero` (which fails
/// at the target only where the program's loop would have run).
struct Later<'a> {
    body: &'a [Inst],
    at: &'a [i64],
    end_test: i64,
}

impl Later<'_> {
    /// From body index `from` on, with no input or output in between, the
    /// iteration surely touches a cell at or beyond `target` (seen from
    /// `hull`, the cells known on the tape), and nothing it or the `If`'s
    /// other `targets` touch before lies beyond the other side of `hull`
    /// (which would fail first, with the other error).
    fn touches_beyond(&self, target: i64, hull: Hull, targets: &[i64], from: usize) -> bool {
        let right = target > hull.hi;
        let other_side = |cell: i64| if right { cell < hull.lo } else { cell > hull.hi };
        let beyond = |cell: i64| if right { cell >= target } else { cell <= target };
        if targets.iter().any(|&cell| other_side(cell)) {
            return false;
        }
        let mut depth = 0;
        for (inst, &pos) in self.body[from..].iter().zip(&self.at[from..]) {
            let touched: Vec<i64> = match inst.op {
                Op::Out { .. } | Op::In { .. } | Op::Print { .. } => return false,
                Op::If { off } => vec![pos + off as i64],
                op => op.cells_surely_touched().map(|off| pos + off as i64).collect(),
            };
            for &cell in &touched {
                if other_side(cell) {
                    return false;
                }
                if depth == 0 && beyond(cell) {
                    return true;
                }
            }
            match inst.op {
                Op::If { .. } => depth += 1,
                Op::EndIf => depth -= 1,
                _ => {}
            }
        }
        beyond(self.end_test)
    }
}

/// When `rest` starts with the body of a multiply `If` on `counter` (only
/// multiplies by the counter, then the counter cleared): its targets.
pub(super) fn multiply_targets(counter: i32, rest: &[Inst]) -> Option<Vec<i32>> {
    let len = rest.iter().position(|inst| inst.op == Op::EndIf)?;
    let (last, multiplies) = rest[..len].split_last()?;
    if last.op != (Op::Set { off: counter, val: 0 }) {
        return None;
    }
    let target = |op: Op| match op {
        Op::AddMul { off, src, .. } if src == counter && off != counter => Some(off),
        _ => None,
    };
    multiplies.iter().map(|inst| target(inst.op)).collect()
}

/// The loop with its plan carried out: unguarded in place, or peeled as
/// `if [test] { body; loop while [test] { body, unguarded } }`.
fn rewrite(block: &[Inst], plan: &Plan, out: &mut Vec<Inst>) {
    let (first, last) = (block[0], block[block.len() - 1]);
    let Op::Loop { off: test } = first.op else { unreachable!("a loop") };
    let body = &block[1..block.len() - 1];
    let peel = !plan.after_first.is_empty();
    if peel {
        out.push(Inst::new(Op::If { off: test }, first.at));
        push_unguarded(body, &plan.always, &plan.speculated, out);
    }
    // Peeled, the loop's first test follows an iteration: the program's `]`.
    out.push(if peel { Inst::new(first.op, last.at) } else { first });
    let all: Vec<usize> = plan.always.iter().chain(&plan.after_first).copied().collect();
    let start = out.len();
    push_unguarded(body, &all, &plan.speculated, out);
    if peel {
        let unguarded = out.split_off(start);
        out.extend(with_carried_zeros(&unguarded));
    }
    out.push(last);
    if peel {
        out.push(Inst::new(Op::EndIf, last.at));
    }
}

/// A walking loop's body (behind a peeled first iteration, so that every
/// iteration has a previous one) where each multiply into a cell that the
/// previous iteration left at zero (mandelbrot's shifts: the element before
/// cleared it) is preceded by `set 0`: what it holds anyway, said so that
/// the code generator stores the product instead of adding it to a load
/// of the store just made.
fn with_carried_zeros(body: &[Inst]) -> Vec<Inst> {
    let written = |op: Op| match op {
        Op::Add { off, .. } | Op::Set { off, .. } | Op::AddMul { off, .. } | Op::In { off } => Some(off as i64),
        _ => None,
    };
    // The cells the body leaves at zero (by offset from where it starts):
    // cleared at the top level and not written after, or the counter of a
    // multiply `If` (zero whichever way it went).
    let mut zero: Vec<i64> = Vec::new();
    // For each open `If`: the cell it leaves at zero, if a multiply one.
    let mut open: Vec<Option<i64>> = Vec::new();
    let mut pos = 0i64;
    for (i, inst) in body.iter().enumerate() {
        match inst.op {
            Op::Move(d) => pos += d as i64,
            Op::If { off } => open.push(multiply_targets(off, &body[i + 1..]).map(|_| pos + off as i64)),
            Op::EndIf => zero.extend(open.pop().flatten()),
            op => {
                if let Some(cell) = written(op).map(|off| pos + off) {
                    zero.retain(|&z| z != cell);
                    if open.is_empty() && matches!(op, Op::Set { val: 0, .. }) {
                        zero.push(cell);
                    }
                }
            }
        }
    }
    // Seen from the next iteration, which starts a stride further.
    let known_zero: Vec<i64> = zero.iter().map(|cell| cell - pos).collect();
    let mut out = Vec::with_capacity(body.len() + known_zero.len());
    let mut changed: Vec<i64> = Vec::new();
    let mut pos = 0i64;
    let mut depth = 0;
    for inst in body {
        match inst.op {
            Op::Move(d) => pos += d as i64,
            Op::If { .. } => depth += 1,
            Op::EndIf => depth -= 1,
            // (Not before an `if_nonzero` one: the clear would touch its
            // target whatever the counter.)
            Op::AddMul { off, src, if_nonzero: false, .. } if depth == 0 && off != src => {
                let target = pos + off as i64;
                if known_zero.contains(&target) && !changed.contains(&target) {
                    out.push(Inst::new(Op::Set { off, val: 0 }, inst.at));
                }
            }
            _ => {}
        }
        changed.extend(written(inst.op).map(|off| pos + off));
        out.push(*inst);
    }
    out
}

/// `body` without the `If` and `EndIf` of the `If`s at `unguarded`, their
/// multiplies at `speculated` made `if_nonzero`. An instruction right
/// after a dropped `If` that touches the `If`'s cell (first) is now what
/// touches it first: it takes the `If`'s position.
fn push_unguarded(body: &[Inst], unguarded: &[usize], speculated: &[usize], out: &mut Vec<Inst>) {
    let mut inside = false;
    let mut dropped: Option<Inst> = None;
    for (i, inst) in body.iter().enumerate() {
        if unguarded.contains(&i) {
            inside = true;
            dropped = Some(*inst);
        } else if inside && inst.op == Op::EndIf {
            inside = false;
        } else {
            let inst = dropped.take().map_or(*inst, |guard| in_place_of(guard, *inst));
            out.push(if inside && speculated.contains(&i) { inst.if_nonzero() } else { inst });
        }
    }
}

/// `inst`, right after the dropped `If` `guard`: if it touches the `If`'s
/// cell (first), it is now what touches it first, and takes the `If`'s
/// position for that touch (a multiply's read of its source).
pub(super) fn in_place_of(guard: Inst, inst: Inst) -> Inst {
    let Op::If { off: tested } = guard.op else { return inst };
    match inst.op {
        Op::Set { off, .. } | Op::Add { off, .. } if off == tested => Inst::new(inst.op, guard.at),
        Op::AddMul { src, .. } if src == tested => Inst { next_at: guard.at, ..inst },
        _ => inst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{closed_form_loops, combine, counter_last, defer_moves};

    fn walks(src: &str) -> Program {
        unguard_walks(counter_last(closed_form_loops(defer_moves(combine(program(src))))))
    }

    #[test]
    fn mandelbrot_shift_runs_unguarded_after_the_first_element() {
        let p = walks("[>[->>>>>>>>>+<<<<<<<<<]<<<<<<<<<<]");
        let guarded =
            [Op::AddMul { off: 10, src: 1, factor: 1, if_nonzero: false }, Op::Set { off: 1, val: 0 }, Op::EndIf];
        let mut expected = vec![Op::If { off: 0 }, Op::If { off: 1 }];
        expected.extend(guarded);
        expected.extend([Op::Move(-9), Op::Loop { off: 0 }]);
        // The previous element cleared the target: said so, for the code
        // generator to store the product.
        expected.push(Op::Set { off: 10, val: 0 });
        expected.extend(&guarded[..2]);
        expected.extend([Op::Move(-9), Op::EndLoop, Op::EndIf]);
        assert_eq!(ops(&p), expected);
    }

    #[test]
    fn a_peeled_loop_is_entered_at_the_programs_end_of_loop() {
        // After the peeled first iteration, the loop's test is the `]`.
        let p = walks("[>[->>>>>>>>>+<<<<<<<<<]<<<<<<<<<<]");
        let entry = p.insts.iter().find(|inst| matches!(inst.op, Op::Loop { .. })).expect("the loop");
        assert_eq!(entry.at, 34);
        assert_eq!(p.insts[0].at, 0);
    }

    #[test]
    fn only_cells_the_previous_iteration_left_at_zero_are_said_zero() {
        let ir = |ops: &[Op]| ops.iter().map(|&op| Inst::new(op, 0)).collect::<Vec<_>>();
        let copy = |off| Op::AddMul { off, src: 1, factor: 1, if_nonzero: false };
        let clear = Op::Set { off: 1, val: 0 };
        let said = |body: &[Op]| ops(&Program { insts: with_carried_zeros(&ir(body)), data: vec![] });
        assert_eq!(said(&[copy(10), clear, Op::Move(-9)])[0], Op::Set { off: 10, val: 0 });
        // Changed after the clear, or before the multiply: nothing said.
        for body in [
            &[copy(10), clear, Op::Add { off: 1, val: 1 }, Op::Move(-9)][..],
            &[Op::Add { off: 10, val: 1 }, copy(10), clear, Op::Move(-9)],
            &[copy(11), clear, Op::Move(-9)],
        ] {
            assert_eq!(said(body), body.to_vec());
        }
        // A multiply `If` leaves its counter at zero, whichever way it went.
        let mul_if = [Op::If { off: 1 }, copy(5), clear, Op::EndIf];
        let body =
            [&[Op::AddMul { off: 10, src: 2, factor: 3, if_nonzero: false }], &mul_if[..], &[Op::Move(-9)]].concat();
        assert_eq!(said(&body)[0], Op::Set { off: 10, val: 0 });
    }

    #[test]
    fn targets_not_proven_stay_guarded() {
        // The target is beyond anything the previous element touched.
        for src in ["[>[->>>>>>>>>>>+<<<<<<<<<<<]<<<<<<<<<<]", "[>[-<<<<+>>>>]>]", "[>[->+<]>[>]]"] {
            let before = counter_last(closed_form_loops(defer_moves(combine(program(src)))));
            assert_eq!(walks(src), before, "{src}");
        }
    }

    #[test]
    fn a_cell_touched_beyond_the_target_later_unguards_in_place() {
        // [p+2] is set at the end of every iteration: no peeling needed.
        let p = walks("[.>[->+<]>[-]<<-]");
        assert_eq!(ops(&p)[0], Op::Loop { off: 0 });
        assert!(!ops(&p).iter().any(|op| matches!(op, Op::If { .. })));
        // Walking right, the next element's test is beyond the target.
        let p = walks("[>[->>+<<]>>>]");
        assert!(!ops(&p).iter().any(|op| matches!(op, Op::If { .. })));
    }

    #[test]
    fn but_not_past_output_or_a_cell_on_the_other_side() {
        for src in ["[>[->+<]<.>>[-]<<-]", "[>[->+<]<<<->>>>[-]<<-]"] {
            let p = walks(src);
            assert!(ops(&p).contains(&Op::If { off: 1 }), "{src}");
        }
    }

    #[test]
    fn keeps_behaviour() {
        // The tests' tape has 64 cells: these start near its right end.
        let near_end = ">".repeat(58);
        for src in [
            // Walks left over a stride-3 array, shifting one cell right.
            "+>+>>+>+>>+>+>>+>+[>[->>>+<<<]<<<<]>>>>>>>>>>>>.>.<<<.".to_string(),
            // The first element's target is past the end, its counter zero.
            format!("{near_end}+>+>>+<<<[>[->>>+<<<]<<<<]>>>>>>>."),
            // ... and with a counter: the program fails.
            format!("{near_end}+>+>>+>+<<<<[>[->>>+<<<]<<<<]"),
            // Walking right, the target behind: off the tape at first.
            "+[>[-<<+>>]>>]+.".to_string(),
            "+>+[>[-<<+>>]>>]+.".to_string(),
            "++>+>+>+>+>+<[-[->+<]<]>>>>>.".to_string(),
            // Fails at the end of the tape: the same error, the same output.
            format!("{near_end}.+>+>+>+<<<[.>[->+<]>>>]"),
            format!("{near_end}+>+>+>+<<<[>[->+<]<.>>[-]<<-]"),
            format!(">+<{near_end}+>+>+>+<<<[>[->+<]<<<->>>>[-]<<-]"),
        ] {
            assert_preserves(|p| unguard_walks(closed_form_loops(defer_moves(combine(p)))), &src, b"");
        }
    }

    #[test]
    fn a_target_only_a_later_cell_proves_is_touched_only_if_nonzero() {
        // [p+2] is beyond the cells known on the tape when the multiply
        // runs; the clear after it proves it: the multiply is `if_nonzero`.
        let p = walks("[.>[->+<]>[-]<<-]");
        assert!(ops(&p).contains(&Op::AddMul { off: 2, src: 1, factor: 1, if_nonzero: true }), "{p:?}");
        // The previous element proves the shift's target: a plain multiply.
        let p = walks("[>[->>>>>>>>>+<<<<<<<<<]<<<<<<<<<<]");
        assert!(!ops(&p).iter().any(|op| matches!(op, Op::AddMul { if_nonzero: true, .. })));
    }

    /// Random walking loops over random arrays, anywhere on the tape
    /// (off both ends too): the pass must change nothing observable, the
    /// command and cell of a tape error included.
    #[test]
    fn random_walks_keep_behaviour() {
        let mut next = random(0x5eed_u64);
        let mut unguarded = 0;
        for _ in 0..3000 {
            let mut src = moves(next(64) as i64);
            for _ in 0..next(12) {
                src += &"+".repeat(next(3) as usize);
                src += &moves(next(7) as i64 - 3);
            }
            let stride = next(9) as i64 - 4;
            src += "[";
            let mut pos = 0;
            for _ in 0..1 + next(3) {
                let at = next(5) as i64 - 2;
                let target = next(13) as i64 - 6;
                src += &moves(at - pos);
                src += &format!("[-{}+{}]", moves(target), moves(-target));
                pos = at;
                match next(6) {
                    0 => src += ".",
                    1 => src += &format!("{}+{}", moves(target + 1), moves(-target - 1)),
                    _ => {}
                }
            }
            src += &moves(stride - pos);
            src += "]>.<<.";
            let p = defer_moves(combine(program(&src)));
            let before = closed_form_loops(p.clone());
            let after = unguard_walks(before.clone());
            unguarded += (after != before) as usize;
            let (b, a) = (behaviour_located(&before, b""), behaviour_located(&after, b""));
            if b.1 != crate::interp::Outcome::OutOfSteps {
                assert_eq!(b, a, "{src}");
            }
        }
        // The generator must reach the pass often enough to mean something.
        assert!(unguarded > 300, "only {unguarded} programs changed");
    }
}
