//! Loops replaced by their closed form: a balanced loop whose body only
//! adds to and sets cells (`If`s allowed) changes each cell the same way on
//! every iteration, so `n` iterations are one multiply or set per cell.
//!
//! One iteration is run symbolically. When the counter ends it as its
//! entry value plus an odd `step`, the loop runs `n = counter * -1/step`
//! times (mod 256; an odd step reaches 0 through wrap-around from any
//! value). A cell that ends as its entry value plus `c` gains `n * c`; a
//! cell that ends at a constant holds it after any number of iterations. So
//! `[->+>++<<]` becomes `cell[1] += cell[0]; cell[2] += cell[0] * 2`, and in
//! `[->+++[->+<]>[-]<<]` the inner loop (by then an `If`) and the clear leave
//! [1] and [2] at zero whichever way the `If` goes: two sets. The replacement
//! is guarded by an `If` so that a zero counter touches nothing, as the loop
//! would.

use super::FastMap;
use crate::ir::{inverse_mod_256, Inst, Op, Program};

/// Rewrites every innermost balanced loop that has a closed form. Loops are
/// closed as their `EndLoop` is reached, so a loop whose inner loops were
/// just replaced by `If`s is tried in turn.
pub fn closed_form_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    let mut loop_starts: Vec<usize> = Vec::new();
    for inst in program.insts {
        match inst.op {
            Op::Loop { .. } => loop_starts.push(out.len()),
            Op::EndLoop => {
                if let Some(start) = loop_starts.pop() {
                    if let Some(replacement) = closed_form(&out[start..]) {
                        out.truncate(start);
                        out.extend(replacement);
                        continue;
                    }
                }
            }
            _ => {}
        }
        out.push(inst);
    }
    Program { insts: out, data: program.data }
}

/// A cell's value at some point of an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// Its value when the iteration began, plus this.
    Entry(u8),
    Const(u8),
    Unknown,
}

impl Value {
    fn add(self, val: u8) -> Value {
        match self {
            Value::Entry(c) => Value::Entry(c.wrapping_add(val)),
            Value::Const(c) => Value::Const(c.wrapping_add(val)),
            Value::Unknown => Value::Unknown,
        }
    }
}

/// A cell met in the body, in the order of first touch.
struct Cell {
    off: i32,
    value: Value,
    /// Written in the body; if not, only read or tested: it keeps its
    /// entry value whatever the analysis says.
    written: bool,
    /// Where its first touch was.
    at: u32,
    /// Where a cell first touched in an `if` (`at`) is first touched on
    /// every path, if that is another command: the replacement touches it
    /// at `at` only if the `if`'s cell, the cell met just before this one,
    /// held `entry + d` (`Value::Entry(d)`) nonzero, and then at `then_at`
    /// (`replacement`).
    then_at: Option<(u32, u8)>,
    /// For a cell first touched in an `if`: `Iteration::guard` then.
    guarded_by: Option<(usize, Value)>,
}

/// One iteration's effect on the cells it touches.
#[derive(Default)]
struct Iteration {
    cells: Vec<Cell>,
    /// Offset -> index in `cells`.
    index: FastMap<i32, usize>,
    /// The `If`s open at this point: nested touches happen on some paths only.
    depth: usize,
    /// The cell touched on some paths so far but not on all, if any.
    pending: Option<usize>,
    /// The cell the open `If` tests, where that is the only one open, and
    /// what it holds there: a cell first met inside is touched there in
    /// the first iteration exactly if that is nonzero.
    guard: Option<(usize, Value)>,
}

impl Iteration {
    fn index(&self, off: i32) -> Option<usize> {
        self.index.get(&off).copied()
    }

    /// Records a touch of `off`; None if the loop must stay.
    ///
    /// Where a cell is touched on some paths only, the replacement either
    /// touches it where the taken path does or where the skipped path does,
    /// and a different order of first touches could change which tape error
    /// the program stops with. So no other cell may be touched for the first
    /// time between a cell's first touch on some path and its first touch on
    /// all of them: then every path first touches the cells in one order.
    /// Where those two touches are different commands, the first iteration
    /// says which comes first: only a guard the replacement can test then
    /// (`Iteration::guard`, met just before the cell) keeps the loop out.
    fn touch(&mut self, off: i32, at: u32) -> Option<usize> {
        let surely = self.depth == 0;
        match self.index(off) {
            Some(i) => {
                if surely && self.pending == Some(i) {
                    let cell = &mut self.cells[i];
                    if cell.at != at {
                        match cell.guarded_by? {
                            // The first iteration takes the `if`: first touched there.
                            (_, Value::Const(v)) if v != 0 => {}
                            // ... or skips it: first touched here.
                            (_, Value::Const(_)) => cell.at = at,
                            (cond, Value::Entry(d)) if cond + 1 == i => cell.then_at = Some((at, d)),
                            _ => return None,
                        }
                    }
                    self.pending = None;
                }
                Some(i)
            }
            None if self.pending.is_none() => {
                let i = self.cells.len();
                self.index.insert(off, i);
                let guarded_by = if surely { None } else { self.guard };
                self.cells.push(Cell { off, value: Value::Entry(0), written: false, at, then_at: None, guarded_by });
                self.pending = (!surely).then_some(i);
                Some(i)
            }
            None => None,
        }
    }

    fn write(&mut self, off: i32, at: u32, value: impl FnOnce(Value) -> Value) -> Option<()> {
        let i = self.touch(off, at)?;
        let cell = &mut self.cells[i];
        cell.value = value(cell.value);
        cell.written = true;
        Some(())
    }

    /// The values after an `If` whose body may or may not have run: what
    /// both paths agree on. Cells first met inside held their entry value
    /// on the skipped path.
    fn meet(&mut self, skipped: &[Value]) {
        for (i, cell) in self.cells.iter_mut().enumerate() {
            let other = skipped.get(i).copied().unwrap_or(Value::Entry(0));
            if cell.value != other {
                cell.value = Value::Unknown;
            }
        }
    }
}

/// `body` starts with the `Loop`; the `EndLoop` is not part of it.
fn closed_form(body: &[Inst]) -> Option<Vec<Inst>> {
    let Op::Loop { off: counter } = body[0].op else { return None };
    let at = body[0].at;
    let mut it = Iteration::default();
    it.touch(counter, at)?;
    // For each open `If`: its cell, and the values when it was reached.
    let mut open: Vec<(i32, Vec<Value>)> = Vec::new();
    for inst in &body[1..] {
        match inst.op {
            Op::Add { off, val } => it.write(off, inst.at, |v| v.add(val))?,
            Op::Set { off, val } => it.write(off, inst.at, |_| Value::Const(val))?,
            // A touch of `off` where `src` is nonzero (what this pass makes
            // of a cell first touched in an `if`): as that `if`.
            Op::AddMul { off, src, factor: 0, if_nonzero: true } => {
                let i = it.touch(src, inst.next_at)?;
                let outer = it.guard.take();
                if it.depth == 0 {
                    it.guard = Some((i, it.cells[i].value));
                }
                it.depth += 1;
                it.touch(off, inst.at)?;
                it.depth -= 1;
                it.guard = outer;
            }
            // Touches its target or not by value: no closed form argued.
            Op::AddMul { if_nonzero: true, .. } => return None,
            Op::AddMul { off, src, factor, .. } => {
                let i = it.touch(src, inst.next_at)?;
                let source = it.cells[i].value;
                it.write(off, inst.at, |v| match source {
                    Value::Const(x) => v.add(x.wrapping_mul(factor)),
                    _ if factor == 0 => v,
                    // A product of values that differ by iteration.
                    _ => Value::Unknown,
                })?;
            }
            Op::If { off } => {
                let i = it.touch(off, inst.at)?;
                open.push((off, it.cells.iter().map(|c| c.value).collect()));
                it.guard = (it.depth == 0).then_some((i, it.cells[i].value));
                it.depth += 1;
            }
            Op::EndIf => {
                let (tested, mut skipped) = open.pop()?;
                it.depth -= 1;
                if it.depth == 0 {
                    it.guard = None;
                }
                // The body was skipped only if its cell was zero.
                let i = it.index(tested)?;
                skipped[i] = Value::Const(0);
                it.meet(&skipped);
            }
            _ => return None,
        }
    }
    // A cell touched on some paths only may be off the tape on the others.
    if it.pending.is_some() {
        return None;
    }
    replacement(counter, at, &it.cells)
}

/// The closed form of a loop whose iteration does `cells`, the counter
/// first; None if some cell has none.
fn replacement(counter: i32, at: u32, cells: &[Cell]) -> Option<Vec<Inst>> {
    let Value::Entry(step) = cells[0].value else { return None };
    if step % 2 == 0 {
        return None;
    }
    // The loop runs n times with x + n*step = 0 (mod 256): n = x * -1/step.
    let per_unit = inverse_mod_256(step).wrapping_neg();
    let mut ops = vec![Inst::new(Op::If { off: counter }, at)];
    for (k, cell) in cells.iter().enumerate() {
        // The next cell is first touched in an `if` on this one: touched
        // there only if this one, `d` on from its entry value as the first
        // iteration tests it, is nonzero (tested before this one changes).
        if let Some((_, d)) = cells.get(k + 1).and_then(|next| next.then_at) {
            let next = &cells[k + 1];
            let shifted = |d: u8| Inst::new(Op::Add { off: cell.off, val: d }, cell.at);
            if d != 0 {
                ops.push(shifted(d));
            }
            // A touch by a multiply by zero, if nonzero: straight-line code
            // for the passes after this one (an `If` would stop them).
            ops.push(Inst::multiply(next.off, cell.off, 0, next.at, cell.at).if_nonzero());
            if d != 0 {
                ops.push(shifted(d.wrapping_neg()));
            }
        }
        if k == 0 {
            // The counter: cleared last.
            continue;
        }
        // Where every path touches it first.
        let first = cell.then_at.map_or(cell.at, |(at, _)| at);
        ops.push(match cell.value {
            // Read, or written back as it was: touched all the same, as
            // the loop touches it.
            _ if !cell.written || cell.value == Value::Entry(0) => Inst::new(Op::Add { off: cell.off, val: 0 }, first),
            // The counter is read where the loop first tests it: what
            // fails first if a pass drops the `If` and the counter is off
            // the tape.
            Value::Entry(c) => Inst::multiply(cell.off, counter, c.wrapping_mul(per_unit), first, at),
            Value::Const(val) => Inst::new(Op::Set { off: cell.off, val }, first),
            Value::Unknown => return None,
        });
    }
    ops.push(Inst::new(Op::Set { off: counter, val: 0 }, at));
    ops.push(Inst::new(Op::EndIf, at));
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{clear_loops, combine, defer_moves, known_values};

    /// The passes that run before this one: folded runs, offsets, clears.
    fn local_of(p: Program) -> Program {
        defer_moves(clear_loops(combine(p)))
    }

    fn local(src: &str) -> Program {
        local_of(program(src))
    }

    fn closed(src: &str) -> Vec<Op> {
        ops(&closed_form_loops(local(src)))
    }

    /// `[-` body `]` on cell 0, as IR.
    fn counted_loop(body: &[Op]) -> Program {
        let ops = [&[Op::Loop { off: 0 }, Op::Add { off: 0, val: 255 }], body, &[Op::EndLoop]].concat();
        Program { insts: ops.into_iter().map(|op| Inst::new(op, 0)).collect(), data: vec![] }
    }

    fn stays(p: Program) {
        assert_eq!(closed_form_loops(p.clone()), p);
    }

    #[test]
    fn copy_loop_becomes_guarded_multiplies() {
        assert_eq!(
            closed("[->+>+++<<]"),
            vec![
                Op::If { off: 0 },
                Op::AddMul { off: 1, src: 0, factor: 1, if_nonzero: false },
                Op::AddMul { off: 2, src: 0, factor: 3, if_nonzero: false },
                Op::Set { off: 0, val: 0 },
                Op::EndIf,
            ]
        );
    }

    #[test]
    fn a_multiply_reads_its_source_where_the_loop_tests_it() {
        // `>>[-<+<++>>]`: the targets' `+`s at 5 and 7, the `[` at 2.
        let p = closed_form_loops(local(">>[-<+<++>>]"));
        let muls: Vec<(u32, u32)> =
            p.insts.iter().filter(|i| matches!(i.op, Op::AddMul { .. })).map(|i| (i.at, i.next_at)).collect();
        assert_eq!(muls, [(5, 2), (7, 2)]);
    }

    #[test]
    fn counting_up_negates_the_factor() {
        assert_eq!(closed("[+>++<]")[1], Op::AddMul { off: 1, src: 0, factor: 254, if_nonzero: false });
    }

    #[test]
    fn sets_in_the_body_are_done_once() {
        assert_eq!(
            closed("[->[-]+<]"),
            vec![Op::If { off: 0 }, Op::Set { off: 1, val: 1 }, Op::Set { off: 0, val: 0 }, Op::EndIf]
        );
    }

    #[test]
    fn inner_multiply_loop_with_known_end() {
        // The hot loop of long.b: the inner loop becomes an `If` that leaves
        // [6] at zero whichever way it goes, and [7] is cleared after it.
        assert_eq!(
            closed(">>>>>>+++[->+++++<]>[-]"),
            vec![
                Op::Add { off: 6, val: 3 },
                Op::If { off: 6 },
                Op::AddMul { off: 7, src: 6, factor: 5, if_nonzero: false },
                Op::Set { off: 6, val: 0 },
                Op::EndIf,
                Op::Set { off: 7, val: 0 },
            ]
        );
        assert_eq!(
            closed(">[<+++>->>>>>+++[->+++++<]>[-]<<<<<<]"),
            vec![
                Op::If { off: 1 },
                Op::AddMul { off: 0, src: 1, factor: 3, if_nonzero: false },
                // [7] is first touched in the inner `if`, which the first
                // time round runs where [6] + 3 is not zero; else at `[-]`.
                Op::Add { off: 6, val: 3 },
                Op::AddMul { off: 7, src: 6, factor: 0, if_nonzero: true },
                Op::Add { off: 6, val: 253 },
                Op::Set { off: 6, val: 0 },
                Op::Set { off: 7, val: 0 },
                Op::Set { off: 1, val: 0 },
                Op::EndIf,
            ]
        );
    }

    #[test]
    fn values_both_paths_agree_on_survive_the_if() {
        let p = counted_loop(&[
            Op::Set { off: 2, val: 4 },
            Op::If { off: 1 },
            Op::Set { off: 1, val: 0 },
            Op::Set { off: 2, val: 4 },
            Op::EndIf,
            Op::Add { off: 3, val: 2 },
        ]);
        assert_eq!(
            ops(&closed_form_loops(p)),
            vec![
                Op::If { off: 0 },
                Op::Set { off: 2, val: 4 },
                Op::Set { off: 1, val: 0 },
                Op::AddMul { off: 3, src: 0, factor: 2, if_nonzero: false },
                Op::Set { off: 0, val: 0 },
                Op::EndIf,
            ]
        );
    }

    #[test]
    fn cells_only_read_are_still_touched() {
        // [1] is tested inside the body and never written.
        let p = counted_loop(&[Op::If { off: 1 }, Op::Set { off: 2, val: 9 }, Op::EndIf, Op::Set { off: 2, val: 9 }]);
        assert_eq!(ops(&closed_form_loops(p))[1..3], [Op::Add { off: 1, val: 0 }, Op::Set { off: 2, val: 9 }]);
    }

    #[test]
    fn loops_without_a_closed_form_stay() {
        // Unbalanced, even step, I/O, two steps, no step, an inner loop, a
        // counter that ends at a constant.
        for src in ["[->+<<]", "[-->+<]", "[->.<]", "[->,<]", "[->+<+]", "[>+<]", "[->[<]]", "[->+<[-]]"] {
            let p = local(src);
            assert_eq!(closed_form_loops(p.clone()), p, "{src}");
        }
        // The inner loop (closed to an `If`) adds [1] to [2] on the first
        // pass only: [2] ends unknown.
        let inner_closed = closed_form_loops(local("[->[>+<-]<]"));
        assert_eq!(ops(&inner_closed)[2], Op::If { off: 1 });
        stays(inner_closed);
    }

    #[test]
    fn cells_touched_on_some_paths_only_keep_the_loop() {
        // [2] is tested only when [1] is not zero.
        stays(counted_loop(&[Op::If { off: 1 }, Op::If { off: 2 }, Op::EndIf, Op::Set { off: 1, val: 0 }, Op::EndIf]));
        // [-1] is touched on all paths, but only after [3] on the path that
        // skips the `If`: which end of the tape fails first depends on [1].
        stays(counted_loop(&[
            Op::If { off: 1 },
            Op::Set { off: -1, val: 0 },
            Op::Set { off: 1, val: 0 },
            Op::EndIf,
            Op::Set { off: 3, val: 0 },
            Op::Set { off: -1, val: 0 },
        ]));
    }

    #[test]
    fn keeps_behaviour() {
        let pipeline = |p| closed_form_loops(known_values(local_of(p), crate::ir::analysis::Hull::tape(64, 0)));
        for src in [
            "+++++[->++>+++<<]>.>.",
            "+++[--->+<]>.",
            "+++++++[+>+<]>.",
            "++[->+>[-]+<<]>.>.",
            // Wrapping counters and sums.
            ",[--->+++++++<]>.",
            ",>,<[->[->+<]<]>>.",
            ",>,[->+++[->+++++<]>[-]<<<+++>]<.>>.",
            // Counter away from the pointer.
            ",>,>,<[<+++>->>+<<]<.>.>.",
            ",>,<[>[>+++<[-]]>[-]<<-]>.>.",
            // A zero counter must not touch a target off the tape.
            "[-<+>]+.",
            "+++>++[-<<+>>]",
            // Tape errors: off the left end, off the right end (R and L walk
            // the whole tape), and which comes first when both would.
            "+.[<+>-]",
            "+.[>R+L<-]",
            "+.[-R+L<+>]",
            "+.[-<+>R+L]",
            // [-1] touched only when [1] is not zero (the loop stays), and
            // then also after it: where the first iteration touches it
            // first depends on [1] (1, unknown, 3 on from unknown).
            ",>+<[->[<<+>>[-]]>[-]<<]",
            ",>+<[->[<<+>>[-]]<<[-]>]",
            ",>,<[->[<<+>>[-]]<<[-]>]",
            ",>,<[->+++[<<+>>[-]]<<[-]>]",
            ",>,<[->>[<<<+>>>-]<<<[-]>]",
        ] {
            let src = src.replace('R', &">".repeat(64)).replace('L', &"<".repeat(64));
            for input in [&b"\x05\x03\x07"[..], b"\xfe\x00\x01", b"\x00\x09\x00", b"\x01\x00", b"\x01\xfd"] {
                // The same output and end, the command and cell of a tape
                // error included.
                let p = program(&src);
                let before = behaviour_located(&p, input);
                assert_ne!(before.1, crate::interp::Outcome::OutOfSteps, "{src}");
                assert_eq!(behaviour_located(&pipeline(p), input), before, "{src} on {input:?}");
            }
        }
    }

    #[test]
    fn a_cell_first_touched_in_an_if_is_touched_there_if_the_if_runs() {
        // `[-` then `if [1] { [-1] += 1; [1] = 0 }`, then `[-1] = 0`, each
        // instruction at its index: [-1] is first touched at 3 where the
        // `if` runs the first time round, else at 6.
        let closed = |shift: u8| {
            let ops = [
                Op::Loop { off: 0 },
                Op::Add { off: 0, val: 255 },
                Op::Add { off: 1, val: shift },
                Op::If { off: 1 },
                Op::Add { off: -1, val: 1 },
                Op::Set { off: 1, val: 0 },
                Op::EndIf,
                Op::Set { off: -1, val: 0 },
                Op::EndLoop,
            ];
            let insts = ops.iter().enumerate().map(|(i, &op)| Inst::new(op, i as u32)).collect();
            let p = closed_form_loops(Program { insts, data: vec![] });
            p.insts.iter().map(|inst| (inst.op, inst.at)).collect::<Vec<_>>()
        };
        let touch = (Op::AddMul { off: -1, src: 1, factor: 0, if_nonzero: true }, 4);
        let p = closed(0);
        assert!(p.contains(&touch) && p.contains(&(Op::Set { off: -1, val: 0 }, 7)), "{p:?}");
        // Tested as the first iteration tests it: 3 on.
        let p = closed(3);
        let at = p.iter().position(|&op| op == touch).expect("the touch");
        assert_eq!(p[at - 1].0, Op::Add { off: 1, val: 3 });
        assert_eq!(p[at + 1].0, Op::Add { off: 1, val: 253 });
    }
}
