//! Compile-time execution: the part of the program that runs before it
//! first reads input is run here, with the reference interpreter and a step
//! budget, and replaced by what it did: its output as one `Print`, the tape
//! it left as `Set`s, and a `Move` to where the pointer was.
//!
//! Execution goes one top-level instruction (a whole outer loop) at a time;
//! one that does not finish within the budget, reads input or fails on the
//! tape (or dumps the tape, `#`, which shows at run time) is undone and
//! left, with everything after it, for run time. So the
//! program that remains behaves exactly as the original from that point:
//! the same output, the same errors.

use crate::interp::{Cells, Config, Machine, Output, Stop};
use crate::ir::{EofMode, Inst, Op, Program};

/// Precomputed output is kept in the code: beyond this, the rest is left
/// to run time rather than bloat the executable.
const MAX_PRINTED: usize = 1 << 24;

/// Cells compile-time execution may use (each side of cell 0): a program
/// that walks further is left to run time, whose tape is mapped lazily.
const MAX_TAPE: usize = 1 << 24;

/// Runs the input-free start of `program` within `budget` steps, on a tape
/// of `tape_cells` cells that starts where the program does.
pub fn evaluate_prefix(program: Program, tape_cells: usize, budget: u64) -> Program {
    evaluate(program, tape_cells, 0, budget).0
}

/// `evaluate_prefix` on a tape whose first `left_margin` cells are left of
/// the start, and whether anything ran (if not, the program is returned as it was).
pub(crate) fn evaluate(program: Program, tape_cells: usize, left_margin: usize, budget: u64) -> (Program, bool) {
    if budget == 0 || program.insts.is_empty() {
        return (program, false);
    }
    let config = Config { tape_cells, left_margin, eof: EofMode::Unchanged, max_steps: Some(budget), cell_bits: 8 };
    let mut printed = Vec::new();
    let (done, tape, ptr) = {
        // 8-bit cells only (`opt::passes`).
        let mut machine = Machine::<u8>::new(&program, &config);
        machine.grow_limit = MAX_TAPE;
        let partner = program.block_partners();
        let mut done = 0;
        while done < program.insts.len() {
            let block = program.insts[done].op.opens();
            let end = if block { partner[done] + 1 } else { done + 1 };
            // A single instruction that stops (input, a tape error) does so
            // before changing a cell (a scan may have moved: it is run again
            // whole, so its error is its own later step's); a block may stop
            // half way, so what it can change is saved first.
            let before = block.then(|| machine.tape.clone());
            let ptr_before = machine.ptr;
            let printed_before = printed.len();
            let mut out = Output::new(&mut printed);
            let stop = machine.execute(done..end, None, &mut out);
            let flushed = out.flush().is_ok();
            if stop != Stop::End || !flushed || printed.len() > MAX_PRINTED {
                if let Some(tape) = before {
                    machine.tape = tape;
                }
                machine.ptr = ptr_before;
                printed.truncate(printed_before);
                break;
            }
            done = end;
        }
        (done, machine.tape, machine.ptr)
    };
    if done == 0 {
        return (program, false);
    }
    (residual(program, done, &printed, &tape, ptr), true)
}

/// What is left to run after the first `done` instructions ran with this
/// result.
fn residual(program: Program, done: usize, printed: &[u8], tape: &Cells<u8>, ptr: i64) -> Program {
    let Program { insts, mut data } = program;
    let at = insts.get(done).map_or_else(|| insts[done - 1].at, |i| i.at);
    let mut out = Vec::with_capacity(insts.len() - done + tape.right.len() + tape.left.len() + 2);
    if !printed.is_empty() {
        let start = data.len() as u32;
        data.extend_from_slice(printed);
        out.push(Inst::new(Op::Print { start, len: printed.len() as u32 }, at));
    }
    // Every other cell holds zero, as at the start.
    // (Each side is at most `MAX_TAPE` cells: offsets fit.)
    let right = tape.right.iter().enumerate().map(|(i, &value)| (i as i32, value));
    let left = tape.left.iter().enumerate().map(|(i, &value)| (-1 - i as i32, value));
    for (off, value) in left.rev().chain(right) {
        if value != 0 {
            out.push(Inst::new(Op::Set { off, val: value }, at));
        }
    }
    if ptr != 0 {
        out.push(Inst::new(Op::Move(ptr as i32), at));
    }
    out.extend_from_slice(&insts[done..]);
    Program { insts: out, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;

    #[test]
    fn input_free_programs_become_their_output() {
        let p = evaluate_prefix(program("++++++++[>++++++++<-]>+.+."), 64, 10_000);
        assert_eq!(ops(&p), vec![Op::Print { start: 0, len: 2 }, Op::Set { off: 1, val: 66 }, Op::Move(1)]);
        assert_eq!(p.data, b"AB");
    }

    #[test]
    fn stops_before_input_and_keeps_the_rest() {
        let p = evaluate_prefix(program("+++.>,[.,]"), 64, 10_000);
        assert_eq!(ops(&p)[..3], [Op::Print { start: 0, len: 1 }, Op::Set { off: 0, val: 3 }, Op::Move(1)]);
        assert_eq!(ops(&p)[3], Op::In { off: 0 });
    }

    #[test]
    fn an_unfinished_loop_is_undone() {
        // The second loop never ends: it is left for run time, whole.
        let p = evaluate_prefix(program("+.+[]"), 64, 1000);
        assert_eq!(ops(&p)[..2], [Op::Print { start: 0, len: 1 }, Op::Set { off: 0, val: 2 }]);
        assert_eq!(ops(&p)[2..], [Op::Loop { off: 0 }, Op::EndLoop]);
    }

    #[test]
    fn tape_errors_are_left_for_run_time() {
        let p = evaluate_prefix(program("+.<+"), 64, 1000);
        assert_eq!(behaviour(&p, b""), behaviour(&program("+.<+"), b""));
    }

    #[test]
    fn keeps_behaviour() {
        for src in ["+[->+++<]>[-<+>]<.", ",.", "++[>+<-]>.<<+", ">+[<+>-]<.[.>]"] {
            assert_preserves(|p| evaluate_prefix(p, 64, 1000), src, b"in");
            assert_preserves(|p| evaluate_prefix(p, 64, 7), src, b"in");
        }
    }
}
