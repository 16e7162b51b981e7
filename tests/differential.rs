//! Random programs (tests/common/gen.rs) run by the reference interpreter
//! and by `bfc --jit -O0`, `--jit -O2`, `--interp` and, for one program in
//! ten, an executable: stdout, exit codes and a tape error's command and
//! cell must agree. One in eight runs
//! with a left margin (`--left-margin`), moving left of where it starts.
//!
//! Runs `BFC_DIFF_N` programs (default 1000), seeds counting up from
//! `BFC_DIFF_SEED` (default 1). A failing case is reproduced alone with
//! `BFC_DIFF_SEED=<its seed> BFC_DIFF_N=1`.

/// The carry walk's Brainfuck, as its idiom benchmark makes it.
#[path = "../benches/idioms/carry.rs"]
#[allow(dead_code)]
mod carry;
mod common;

use common::diff::{self, Verdict};
use common::gen::{self, mirror};
use common::{env_num, parallel, tempdir, workers, Mode};

#[test]
fn generated_programs_agree_with_the_interpreter() {
    let n: u64 = env_num("BFC_DIFF_N", 1000);
    let first: u64 = env_num("BFC_DIFF_SEED", 1);
    // Only this run's failures are left to look at.
    let _ = std::fs::remove_dir_all(common::target_dir().join("diff-failures"));
    let work = tempdir();
    let start = std::time::Instant::now();
    let verdicts = parallel(n as usize, workers(), |i| {
        let case = gen::case(first + i as u64);
        let verdict = diff::check(&case, work.path(), &diff::modes(case.seed, 10));
        (case, verdict)
    });
    let mut ran = 0;
    let mut failures = Vec::new();
    for (case, verdict) in &verdicts {
        match verdict {
            Verdict::Discarded => {}
            Verdict::Agreed => ran += 1,
            Verdict::Mismatch(bad) => {
                ran += 1;
                let report = diff::describe(bad);
                let path = diff::save("diff-failures", &format!("seed-{}", case.seed), case, &case.program, &report);
                failures.push(format!("  seed {} ({}):\n{report}", case.seed, path.display()));
            }
        }
    }
    eprintln!(
        "differential: {n} programs from seed {first}, {ran} compared, {} discarded (over {} steps), {} mismatches, {:.1}s",
        n - ran,
        diff::MAX_STEPS,
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {ran} generated programs disagree with the interpreter:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A generator that only makes endless programs would test nothing.
    assert!(ran * 2 >= n, "only {ran} of {n} generated programs finished within the oracle's step budget");
    // Nor one that never starts right of the tape's left end.
    let margins =
        verdicts.iter().filter(|(case, verdict)| case.left_margin > 0 && !matches!(verdict, Verdict::Discarded));
    assert!(n < 100 || margins.count() as u64 * 20 >= ran, "too few programs with a left margin");
    // Nor one that never compares wide cells.
    for bits in [16, 32] {
        let wide =
            verdicts.iter().filter(|(case, verdict)| case.cell_bits == bits && !matches!(verdict, Verdict::Discarded));
        assert!(n < 100 || wide.count() as u64 * 40 >= ran, "too few programs with {bits}-bit cells");
    }
}

/// Generated programs whose tape errors optimised code once named at
/// another command: a switch's cell (133, 160, 396), a scan back resuming
/// past the cells it skips (154) or, behind them, not resuming (948), a
/// carry loop's switch and end (328), a register loop's loads (97, 1019),
/// an if the walks pass dropped (269) or the guards pass dropped (1721),
/// a multiply whose source is off the tape after its if was dropped (72,
/// 1289; 1492 was one too until the generator put it on a longer tape), a peeled walk's loop entered after its first iteration
/// (2223, 4157, 4976), a vector scan whose blocks end at the tape's end
/// (4482); and a few more that fail in other constructs. Every
/// mode, -O2 included, must name the unoptimised program's command and
/// cell.
#[test]
fn optimised_constructs_fail_at_the_programs_own_command() {
    let work = tempdir();
    let mut failures = Vec::new();
    let mut failing = 0;
    let seeds = [
        31, 72, 97, 133, 154, 160, 269, 288, 328, 396, 948, 1019, 1289, 1721, 2223, 2380, 3739, 4157, 4482, 4976, 6657,
        13181,
    ];
    for seed in seeds {
        let case = gen::case(seed);
        let fails = matches!(diff::oracle(&case), Some((_, status)) if status != bfc::code::Status::Ok);
        failing += fails as u32;
        match diff::check(&case, work.path(), &[Mode::Jit(2), Mode::Interp, Mode::Exe(2)]) {
            Verdict::Mismatch(bad) => failures.push(format!("  seed {seed}:\n{}", diff::describe(&bad))),
            Verdict::Discarded => failures.push(format!("  seed {seed}: no longer ends")),
            Verdict::Agreed => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(failing >= 8, "the generator changed: only {failing} of these seeds still fail on the tape");
}

/// A carry walk (a loop of a switch and a move, which keeps the carried
/// counter in a register) that goes on past elements whose far cell is off
/// the tape: the checked path runs and the loop continues after it, at
/// both ends of the tape, walking either way, toward the end it is near
/// and away from it (the check of the end the walk leaves is made once,
/// and again after an iteration at the edge), with guard pages (4096
/// cells) and explicit checks (300).
#[test]
fn carry_walks_run_on_past_the_tape_ends() {
    let work = tempdir();
    // Elements of two cells, a nonzero test cell and a counter of 1, the
    // last with a zero test cell. Each counter steps the next one down or
    // up (a carry of 255 or 1) and, from 2 on, adds to a cell `far` away.
    let walk_right = |far: i32, carry: char| {
        let elements = "+>+>".repeat(6) + ">+<";
        let (to, back) = if far > 0 { (">", "<") } else { ("<", ">") };
        let (to, back) = (to.repeat(far.unsigned_abs() as usize), back.repeat(far.unsigned_abs() as usize));
        let walk = format!("[>[->>{carry}<<[-{to}+{back}[-]]]>]");
        format!("{elements}{}{walk}{}{}", "<".repeat(12), "<".repeat(12), ".>".repeat(14))
    };
    for tape in [300, 4096] {
        for far in [10, -10] {
            for carry in ['-', '+'] {
                // From the first element's test cell: walking right from
                // the tape's start and up to its end; walking left from its
                // end and down to its start.
                let right = walk_right(far, carry);
                let left = mirror(&walk_right(far, carry));
                for (base, src) in [(0, &right), (tape - 14, &right), (tape - 1, &left), (13, &left)] {
                    // Read first, so that the compiler does not run it all.
                    agree(work.path(), &format!(",[-]{}{src}", ">".repeat(base)), &[], tape);
                }
            }
        }
    }
}

/// An unrolled loop that tests its cell by loading it into eax (its body
/// reads it: `[[>>>+<<<-]<<<<]`, a copy walking left) and walks off the
/// tape: the error is its `]`'s, the command that reads the cell, in
/// either copy of the body (fuzz seed 5303847: the second copy's test
/// named the move before it). Off the start and (mirrored) the end, with
/// guard pages (4096 cells) and explicit checks (300).
#[test]
fn unrolled_loops_fail_at_their_end_where_their_test_reads_off_the_tape() {
    let work = tempdir();
    for src in [">>>>>+>>>+[[[>>>+<<<-]<<<<]+[>>>>>>><<<<<<<<<<+>>>>]+<]", ">>>>>>>>>+[[>>>+<<<-]<<<<]"] {
        for tape in [300, 4096] {
            agree(work.path(), src, &[], tape);
            agree(work.path(), &format!("+.{}{}", ">".repeat(tape - 1), mirror(src)), &[], tape);
        }
    }
}

/// A small loop entered with eax holding a cell its body adds to first
/// (an add made in al just before the loop) but leaves holding another:
/// the top, reached again from the body's end, must not take eax for that
/// cell (fuzz seed 6703902, minimised: it ran for ever).
#[test]
fn a_small_loop_takes_nothing_in_eax_from_before_it() {
    let work = tempdir();
    let src = ">>>>>>>>>[>>>>]>>>><<<<<<<<<<<<->>>>>>>>>>>>[<<<<],>>++++[<<[+[->>>+<<<<[->>>>+<<<<]><<[++++[-]]>>>++++++++<<<<[-<+++>]>>>][[>>>>>[-]<<<<[->>>>+<<<<]<<<<<],++++++[++++++++++++++>+<][-]]++[-]]++++++++++<<<<[++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++<<<<----------------------------------------------------------------------------------------------------------]>>-]+++++++++++[->>>>]++++,+++++++++++.+++++++++++++++++++++";
    agree(work.path(), src, b"\x05\x00\x06\x8c\x00\x05\xe5", 300);
}

/// A walk that carries a value along (the cell it moves into is the one
/// the next iteration moves on: kept in eax from one iteration to the
/// next, loaded before the first), walking left or right from near both
/// ends of the tape, where the load before the loop, or a later access,
/// falls off it; output made before must come out.
#[test]
fn carried_walks_fail_where_the_walk_would() {
    let work = tempdir();
    // From a test cell, walking left by 3: [p-1] = [p+2], [p+2] = 0; test
    // cells at p, p-3, p-6; the value at p+2 where it is on the tape.
    let walk = |value: bool| {
        let value = if value { ">>+++++<<" } else { "" };
        format!("+<<<+<<<+>>>>>>{value}[<[-]>>>[-<<<+>>>]<<<<<]>>.")
    };
    for tape in [300, 4096] {
        for at in [6, 7, 8, tape - 3, tape - 2, tape - 1] {
            let walk = walk(at + 2 < tape);
            agree(work.path(), &format!("+.{}{walk}", ">".repeat(at)), &[], tape);
            // The mirror image, as far from the other end: walking right.
            agree(work.path(), &format!("+.{}{}", ">".repeat(tape - 1 - at), mirror(&walk)), &[], tape);
        }
    }
    // On a tape of two cells, the walk's first access is off its start
    // and the value it carries off its end: the error is the first's.
    agree(work.path(), "+.[<[-]>>>[-<<<+>>>]<<<<<]", &[], 2);
}

/// Walks that hand cells on to the next iteration in registers
/// (`select::RegisterWalk`): Faase's counter and payload moved one 5-cell
/// frame on per iteration, the counter from input (0, a few frames, 100:
/// off a 300-cell tape), from cells near either end, walking right and
/// (mirrored) left, with guard pages (4096 cells), explicit checks (300)
/// and a tape shorter than a frame. The error is the program's, at its
/// cell and command; the output before it comes out.
#[test]
fn frame_walks_fail_where_the_walk_would() {
    let work = tempdir();
    let walk = |at: usize| format!("+.{}<+++>,[<[->>>>>+<<<<<]>[->>>>>+<<<<<]>>>>+>-]<.>.", ">".repeat(at));
    for tape in [300, 4096] {
        for at in [1, 2, 6, tape - 16, tape - 7, tape - 6, tape - 5, tape - 2, tape - 1] {
            for input in [0, 3, 100] {
                agree(work.path(), &walk(at), &[input], tape);
                // The mirror image, as far from the other end: walking left.
                let src = walk(at);
                agree(work.path(), &format!("+.{}{}", ">".repeat(tape - 1), mirror(&src[2..])), &[input], tape);
            }
        }
    }
    agree(work.path(), &walk(1), &[2], 4);
    // Run on as plain code near the start, a multiply whose source is 0
    // and whose target is off the tape makes no error (its loop would not
    // run): the next command's cell, further off, does (fuzz seed 3553003,
    // where the plain code's recoveries were lost on a guarded tape).
    for start in [4, 7, 10, 13] {
        for tape in [300, 4096] {
            agree(work.path(), &format!("{}+[>>[->++<<<<<++++>>>>]<<<<<-]", ">".repeat(start)), &[], tape);
        }
    }
}

/// Loops that count down to a branch made by a scan, many iterations made
/// at once on entry (`select::FastForward`): the comparison `[->-[>]<<]`,
/// bubblesort's (with a count and a cell the scan must find 0, which the
/// input sets), odd steps other than 1, a scan back past a cell the body
/// does not change; and mandelbrot's, whose only counter is the loop's own
/// cell (not fast forwarded: run as the program). Input values 0, equal
/// and wrapping; from cells near either end, right and (mirrored) left,
/// with guard pages (4096 cells) and explicit checks (300): the cells, the
/// output and any error are the program's.
#[test]
fn comparison_loops_count_down_as_the_program_does() {
    let work = tempdir();
    let programs = [
        ",>,<[->-[>]<<].>.>.>.",
        ",>,>,>>,[-<<<-<+>[>]>>].<.<.<.<.",
        ",>,<[--->-----[>]<<].>.>.>.",
        ",>,>,>>,[-<<-[<]>>>>].<.<.<.<.",
        ",>,>,<[-<[>>]<].>.<.<.",
    ];
    let inputs: [&[u8]; 4] = [&[3, 7, 0, 9, 0], &[7, 3, 0, 0, 5], &[0, 0, 1, 1, 200], &[200, 255, 4, 2, 201]];
    for tape in [300, 4096] {
        for at in [1, tape - 5, tape - 2] {
            for program in programs {
                for input in inputs {
                    let src = format!("{}{program}", ">".repeat(at));
                    agree(work.path(), &src, input, tape);
                    agree(work.path(), &format!("+.{}{}", ">".repeat(tape - 1), mirror(&src)), input, tape);
                }
            }
        }
    }
}

/// Straight-line code that touches a cell, then one further off the same
/// end of the tape: the error is the first's, at its command, though the
/// code makes them in another order. A run that keeps a cell it sets
/// first in a register, and stores it at its end, behind a load of the
/// next cell (fuzz seed 3708295); a copy, which loads its source before it
/// stores into the target the program cleared first. Near both ends, with
/// guard pages (4096 cells) and explicit checks (300).
#[test]
fn a_cell_off_the_tape_touched_later_by_the_code_fails_first_as_in_the_program() {
    let work = tempdir();
    let run = "++[->>[+++[-]]<<>>>[-<<<<<+++++++>>>>>]<<<<<[->>>>+<<<<]>>>[->+<]<]";
    let copy = ">>>>>>[-]>>[-<<+>>]<<[->>>+<<<]";
    for tape in [300, 4096] {
        for (code, ats) in [(run, 0..8), (copy, 0..8)] {
            for back in ats {
                let src = format!("{}{code}", ">".repeat(tape - 8 + back));
                agree(work.path(), &src, &[], tape);
                // The mirror image, from the other end.
                agree(work.path(), &format!("+.{}{}", ">".repeat(tape - 1), mirror(&src)), &[], tape);
            }
        }
    }
}

/// Add walks (`[-->]`, `<++[<++]`, `[->>>>]`), whose code makes the
/// iterations 16 bytes hold at once after its first 8
/// (`select::AddWalk`): strides 1, 2 and 4 either way, adding to the cell
/// tested, the next one (which is tested after), one behind or one
/// between; over rows of 5 to 60 cells, stopped by a cell of the row, by
/// the cell after it, or running off the tape at either end (the row laid
/// up to it), with guard pages (4096 cells) and explicit checks (300).
/// The cells around where it stopped are printed.
#[test]
fn add_walks_match_the_interpreter() {
    let work = tempdir();
    let mut cases = Vec::new();
    for tape in [300i64, 4096] {
        for stride in [1i64, 2, 4, -1, -2, -4] {
            let between = if stride.abs() > 1 { stride / 2 } else { -2 * stride };
            for (off, add) in [(0, 254u8), (stride, 2), (-stride, 13), (between, 255)] {
                for (len, stop_at) in [(5, None), (33, None), (60, Some(41)), (60, Some(12))] {
                    for near_end in [false, true] {
                        cases.push((tape, stride, off, add, len, stop_at, near_end));
                    }
                }
            }
        }
    }
    let moves = |d: i64| if d > 0 { ">".repeat(d as usize) } else { "<".repeat(-d as usize) };
    let adds = |v: u8| if v < 128 { "+".repeat(v as usize) } else { "-".repeat(256 - v as usize) };
    parallel(cases.len(), workers(), |i| {
        let (tape, stride, off, add, len, stop_at, near_end) = cases[i];
        let len = if near_end { len } else { len.min((tape / 2 - 8) / stride.abs()) };
        // The row's last cell at the tape's end the walk goes towards.
        let base = match (near_end, stride > 0) {
            (false, _) => tape / 2,
            (true, true) => tape - 1 - (len - 1) * stride,
            (true, false) => (len - 1) * -stride,
        };
        // What the walk stops at: zero, or what its add makes zero.
        let stop = if off == stride { add.wrapping_neg() } else { 0 };
        let row: String = (0..len).map(|k| adds(if Some(k) == stop_at { stop } else { 7 }) + &moves(stride)).collect();
        let walk = format!("[{}{}{}]", moves(off), adds(add), moves(stride - off));
        let around = (moves(-stride.signum()) + ".").repeat(12);
        // Read first, so that the compiler does not run it all.
        let src = format!(",[-]{}{row}{}{walk}.{around}", moves(base), moves(-stride * len));
        agree_as(i as u64, work.path(), &src, &[], tape as usize);
    });
}

/// Divmod loops (`[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]` and the one that
/// does not keep n), whose closed form is a shortcut (`opt::divmod`), in
/// either direction, at both ends of the tape (a 300-cell one, checked,
/// and a 4096-cell one, guarded) where some of their cells are off it:
/// dividends, divisors and remainders read from input, among them a
/// divisor of 1 (whose restart leaves the pointer 3 cells away: the loop
/// runs) and nonzero cells where the layout wants zeros. The cells are
/// printed after.
#[test]
fn divmod_loops_match_the_interpreter() {
    let work = tempdir();
    let loops = ["[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]", "[->-[>+>>]>[+[-<+>]>+>>]<<<<<]"];
    let inputs: [&[u8]; 6] = [
        &[200, 0, 7, 0, 0, 0, 0],
        &[255, 9, 1, 0, 0, 0, 0],
        &[13, 0, 0, 0, 0, 0, 0],
        &[9, 1, 0, 2, 3, 0, 0],
        &[77, 5, 250, 9, 1, 0, 1],
        &[0, 3, 10, 0, 0, 4, 0],
    ];
    let mut cases = Vec::new();
    for tape in [300usize, 4096] {
        for (k, src) in loops.iter().enumerate() {
            let cells = 7 - k;
            // Right of the start (ends reaching past the tape's end), and
            // mirrored, left of the end (reaching past its start).
            for at in [tape / 2, tape - cells, tape - cells + 2, tape - 1] {
                for input in inputs {
                    cases.push((tape, *src, cells, at, input, false));
                    cases.push((tape, *src, cells, tape - 1 - at, input, true));
                }
            }
        }
    }
    parallel(cases.len(), workers(), |i| {
        let (tape, src, cells, at, input, left) = cases[i];
        let (to, back) = if left { ("<", ">") } else { (">", "<") };
        // Read the cells (as many as are on the tape), back to the loop.
        let fit = if left { at + 1 } else { tape - at };
        let n = cells.min(fit);
        let reads = vec![","; n].join(to);
        let body = if left { mirror(src) } else { src.to_string() };
        let full = format!("{}{reads}{}{body}{}", ">".repeat(at), back.repeat(n - 1), format!(".{to}").repeat(n));
        agree_as(i as u64, work.path(), &full, &input[..n], tape);
    });
}

#[test]
fn register_loops_fail_where_the_loop_would() {
    let work = tempdir();
    // A loop on three cells with an if and a multiply inside, which runs in
    // registers: a counter read from input, and two cells to its right (or
    // its left), placed so that they fall off the tape's end (or start).
    let right = |at: usize| format!("{},[->->+<[>-<[-]]>[-<+++>]<<]>.>.", ">".repeat(at));
    let left = |at: usize| format!("{},[-<-<+>[<->[-]]<[->+++<]>>]<.<.", ">".repeat(at));
    for tape in [300, 4096] {
        let cases = (tape - 4..tape).map(right).chain((0..4).map(left));
        for src in cases {
            for input in [0, 7, 200] {
                agree(work.path(), &src, &[input], tape);
            }
        }
    }
}

/// Runs of arithmetic with cells in registers (a cell read after the run
/// computed it is loaded at its first read and stored at the run's end, a
/// cell set first only stored then), next to both ends of the tape, where
/// cells of the run are off it.
#[test]
fn register_runs_fail_where_the_run_would() {
    let work = tempdir();
    // The cells read from input; [p] -= 1; [p] += [p+1]; [p+1] = 0; then
    // the cells printed, or [p] set to 3 first, or [p] moved on by an if
    // right after the run (which takes it from the register); and [p] = 1;
    // [p] += [p+1]; [p] += 1, then the cells printed.
    let runs = [",>,<->[-<+>]<.>.<", ",>,<->[-<+>]<[-]+++.>.<", ",>,<->[-<+>]<[->>+<<]>>.<<.", ",>,<[-]+>[-<+>]<+.>.<"];
    for tape in [300, 4096] {
        for run in runs {
            let rights = [tape / 2, tape - 3, tape - 2, tape - 1].map(|at| (at, run.to_string()));
            let lefts = [2, 1, 0].map(|at| (at, mirror(run)));
            for (at, src) in rights.iter().chain(&lefts) {
                let src = format!("+.[-]{}{src}", ">".repeat(*at));
                for input in [[3, 5], [0, 0], [1, 255]] {
                    agree(work.path(), &src, &input, tape);
                }
            }
        }
    }
}

/// A run makes its cell's value in a register with a `lea` (5 + 253 is
/// 258 in 32 bits) and the switch after it, not known on the tape, takes
/// that cell from the register: as a byte, zero-extended, not as 258,
/// which indexed the switch's tables past the value's row (found reading
/// the code: 4 and 0 printed for 3 and 1).
#[test]
fn a_switch_after_a_run_takes_its_counter_as_a_byte() {
    let work = tempdir();
    let src = ">,>,>,<[-]+++++<[->+<]>>[-<<+>+>]<[->+<[->+<[->+<[-]>>+<<]]]>.>.";
    let firsts = [0u8, 1, 2, 100, 248, 250, 251, 252, 253, 254, 255];
    let inputs: Vec<[u8; 3]> = firsts.iter().flat_map(|&a| [[a, 1, 0], [a, 1, 2]]).collect();
    parallel(inputs.len(), workers(), |i| agree_as(i as u64, work.path(), src, &inputs[i], 4096));
}

/// Runs with temporaries (cells a run in a loop adds to first and leaves
/// 0: tested first, and where all hold 0 a copy of the run that neither
/// loads nor stores them runs): a walk over frames [d, t1, t2] that makes
/// d = 3d through both (or 4d through t2), walking right by 3 until a frame's d is 0, from a
/// frame in the middle of the tape or near its end (its temporaries, then
/// the next frames', off it), with the temporaries 0 or not; and the
/// mirror image, near the start. The test reads the temporaries before
/// the program does: off the tape, the error must still be the program's.
#[test]
fn runs_with_temporaries_fail_where_the_run_would() {
    let work = tempdir();
    // Two temporaries (tested with `movzx` and `or`), and one (`cmp`).
    let walks = ["[[->+>++<<]>[-<+>]>[-<<+>>]<<>>>]", "[[->>+++<<]>>[-<<+>>]<<>>>]"];
    for (tape, walk) in [300, 4096].into_iter().flat_map(|tape| walks.map(|walk| (tape, walk))) {
        for at in [tape / 2, tape - 7, tape - 4, tape - 3, tape - 2, tape - 1] {
            // d from input; the temporaries left 0, or set (where on the
            // tape) to 1 and 2; the next frame's d 1 (where on the tape).
            for temporaries in ["", ">+>++<<"] {
                let fits = |cells: usize| at + cells < tape;
                let set = if fits(2) { temporaries } else { "" };
                let next = if fits(3) { ">>>+<<<" } else { "" };
                // Printed from two frames back: the first frame's cells.
                let src = format!(",{set}{next}{walk}<<<<<<{}", ".>".repeat(9));
                for (start, src) in [(at, src.clone()), (tape - 1 - at, mirror(&src))] {
                    for input in [0, 1, 85] {
                        agree(work.path(), &format!("+.[-]{}{src}", ">".repeat(start)), &[input], tape);
                    }
                }
            }
        }
    }
}

/// Walks in blocks (the temporaries of up to 16 iterations tested at once,
/// then only the pointer compared with where the block ends): walks of
/// 20 frames by 1 to 4 cells (and mirrored), d moved out and back through
/// one temporary or made 3d through two, in the frame or in arrays past
/// the frames (the carry walk's layout); a frame's temporary made nonzero
/// at the first frame, the last of the first block, the first past it,
/// or none; in the
/// middle of the tape, ending 16 cells before its end (the blocks read
/// past it), and running off it; and in the middle, each iteration adding
/// to the temporary 3 frames on (a block would be stale: no blocks).
#[test]
fn walks_in_blocks_agree_with_one_iteration_at_a_time() {
    let work = tempdir();
    let tape = 4096i64;
    let frames = 20i64;
    let moves = |d: i64| if d >= 0 { ">".repeat(d as usize) } else { "<".repeat(-d as usize) };
    let mut cases = Vec::new();
    for stride in 1..=4i64 {
        let far = frames * stride + 8;
        let layouts: Vec<Vec<i64>> = match stride {
            1 => vec![vec![far], vec![far, 2 * far]],
            _ => vec![vec![stride - 1], vec![1, far]],
        };
        for temps in layouts {
            let mut body = String::from("[[-");
            for (k, &t) in temps.iter().enumerate() {
                body += &format!("{}{}{}", moves(t), "+".repeat(k + 1), moves(-t));
            }
            body += "]";
            for &t in &temps {
                body += &format!("{}[-{}+{}]{}", moves(t), moves(-t), moves(t), moves(-t));
            }
            // Each iteration adds to the temporary of the frame 3 on, or
            // does not.
            let later = temps[0] + 3 * stride;
            let bodies =
                [body.clone() + &moves(stride) + "]", format!("{body}{}+{}]", moves(later), moves(stride - later))];
            let places =
                [(&bodies[0], tape / 2), (&bodies[0], tape - 17), (&bodies[0], tape - 1), (&bodies[1], tape / 2)];
            for (body, last) in places {
                let start = last - (frames - 1) * stride;
                for nonzero in [None, Some(0), Some(15), Some(16)] {
                    let mut src = String::new();
                    for f in 0..frames {
                        src += &format!("{}+{}", moves(f * stride), moves(-f * stride));
                    }
                    if let Some(f) = nonzero.filter(|&f| start + f * stride + temps[0] < tape) {
                        let at = f * stride + temps[0];
                        src += &format!("{}+++{}", moves(at), moves(-at));
                    }
                    src += body;
                    src += &format!("<<<<<<{}", ".>".repeat(12));
                    cases.push(moves(start) + &src);
                    cases.push(moves(tape - 1 - start) + &mirror(&src));
                }
            }
        }
    }
    parallel(cases.len(), workers(), |i| {
        agree_as(i as u64, work.path(), &format!("+.[-]{}", cases[i]), &[], tape as usize)
    });
}

/// Blocks of sets (consecutive sets of neighbouring cells: stored several
/// cells at a time, and where one is off the tape, one at a time in the
/// program's order; in loops): blocks of 2 to 12 cells set in
/// increasing, decreasing and mixed order, in a loop that runs once and
/// in a walk that goes on to the tape's end, at each distance of the block
/// from the end and (mirrored) the start; and on a tape of 5 cells, off
/// both ends.
#[test]
fn blocks_of_sets_fail_at_the_programs_first_set_off_the_tape() {
    let work = tempdir();
    // Cell k of the block (from the pointer) set to k + 1, in `order`.
    let block = |order: &[usize]| -> String {
        order.iter().map(|&k| format!("{}[-]{}{}", ">".repeat(k), "+".repeat(k + 1), "<".repeat(k))).collect()
    };
    let orders: [&[usize]; 5] = [
        &[0, 1],
        &[4, 3, 2, 1, 0],
        &[3, 0, 5, 1, 4, 2],
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        &[6, 0, 11, 2, 9, 1, 10, 3, 8, 4, 7, 5],
    ];
    for tape in [300, 4096] {
        for order in orders {
            let n = order.len();
            // In a loop that runs once (left of the block; printing: not
            // in registers), the block's first two cells printed after;
            // and a walk, which sets its next test cell (the block's cell
            // 1) to 2, so it runs to the end.
            let once = format!("<+[>{}<.[-]]>.>.<", block(order));
            let walk = format!("+[{}>]", block(order));
            for at in [tape / 2, tape - n - 1, tape - n, tape - n + 1, tape - n / 2 - 1, tape - 2, tape - 1] {
                // (From the middle, the walk takes too many steps for the
                // oracle.)
                for src in [&once, &walk].into_iter().filter(|&src| at != tape / 2 || src == &once) {
                    agree(work.path(), &format!("{}{src}", ">".repeat(at)), &[], tape);
                    agree(work.path(), &format!("{}{}", ">".repeat(tape - 1 - at), mirror(src)), &[], tape);
                }
            }
        }
    }
    for order in orders {
        agree(work.path(), &format!(">>>>+[<<<<<{}>>>>>.[-]]", block(order)), &[], 5);
        agree(work.path(), &format!("+[>>>>>>{}<<<<<<.[-]]", mirror(&block(order))), &[], 5);
    }
}

/// Walks that shift a cell of each element into the next element's, which
/// the next iteration clears (mandelbrot's `[p+10] = [p+1]; [p+1] = 0;
/// p -= 9`: the clear is made once, on the way out of a loop that ran),
/// walking either way, over 0, 1 or 3 elements, in the middle of the tape,
/// running off its start and with the shifted cells near or off its end;
/// and walks that add to the next element's cell instead, which reads the
/// clear (it must stay in the loop).
#[test]
fn shifting_walks_clear_on_the_way_out() {
    let work = tempdir();
    // Walking left by 3 from a test cell: [p+4] = [p+1] (or [p+4] += 1);
    // [p+1] = 0. The first test cell read from input (0: the walk does not
    // run), the others at p-3, p-6, ... 1, each element's value (its number
    // + 2) at its test cell + 1, and 7 at p+4 before the walk (which a walk
    // that does not run leaves); the cells printed after the walk, from its
    // stop.
    let left = |elements: usize, body: &str, marked: bool| {
        let marker = if marked { ">>>>+++++++<<<<" } else { "" };
        let setup: String = (0..elements.max(1))
            .map(|k| format!("{}>{}<<<<", if k == 0 { "," } else { "+" }, "+".repeat(k + 2)))
            .collect();
        let print = ".>".repeat(3 * elements + 5);
        format!("{marker}{setup}{}[{body}<<<<]{print}", ">".repeat(3 * elements.max(1)))
    };
    for tape in [300, 4096] {
        for elements in [1, 3] {
            let off_start = [0, 2].map(|j| 3 * (elements - 1) + j);
            let places = [tape / 2, tape - 5, tape - 3].into_iter().chain(off_start);
            for at in places {
                for body in [">>>>[-]<<<[->>>+<<<]", ">>>>+<<<[-]"] {
                    // The marker only where it is on the tape.
                    let src = left(elements, body, at + 4 < tape);
                    // The mirror image, as far from the other end.
                    let cases = [(at, src.clone()), (tape - 1 - at, mirror(&src))];
                    for ((at, src), input) in cases.iter().flat_map(|case| [(case, 0), (case, 1)]) {
                        agree(work.path(), &format!("+.[-]{}{src}", ">".repeat(*at)), &[input], tape);
                    }
                }
            }
        }
    }
}

/// Strided scans (unrolled: the cells between compared at their offsets,
/// one pointer step per round) stop at the first zero cell wherever it
/// falls in the round, and fail where the scan runs off the tape: arrays
/// of 0 to 7 nonzero cells (each cell its own value, printed after the
/// scan from the cell before the stop), in the middle of the tape and
/// ending at the edge it scans towards.
#[test]
fn strided_scans_stop_at_the_first_zero() {
    let work = tempdir();
    for tape in [300, 4096] {
        for stride in [3i64, 9, -9] {
            let step = |n: i64| if n > 0 { ">".repeat(n as usize) } else { "<".repeat(-n as usize) };
            for n in 0..8i64 {
                // The array's cells, from `start`, each set to its number.
                let array: String = (1..=n).map(|k| format!("{}{}", "+".repeat(k as usize), step(stride))).collect();
                let back = step(-stride * n);
                let scan = format!("[{}]{}.", step(stride), step(-stride));
                let span = stride.abs() * n.max(1);
                let (middle, at_edge) = if stride > 0 {
                    (tape as i64 / 2 - span / 2, tape as i64 - span)
                } else {
                    (tape as i64 / 2 + span / 2, span - 1)
                };
                for start in [middle, at_edge] {
                    let src = format!(",[-]+.{}{array}{back}{scan}", ">".repeat(start as usize));
                    agree(work.path(), &src, &[], tape);
                }
            }
        }
    }
}

#[test]
fn scans_back_skip_only_what_they_may() {
    let work = tempdir();
    // An array of 1s every 3 cells (at the tape's start, near it, or at its
    // end), a scan to its end, code around the stop, and a scan back, from
    // within the array or from before it: from the tape's start the way
    // back runs off it.
    let between = [
        "+",
        "<<<-",
        "<<<<<<[-]",
        "<<<[-]+",
        ">>>+<<<",
        "<<<<<<",
        "<<<<<<<<<",
        "<<<<",
        "-<<<",
        "<<<<<<<<<<<<<<<<<<",
        "<<<<<<<<<<<<<<<<<<+",
    ];
    for tape in [300, 4096] {
        for start in [0usize, 3, 9, tape - 13] {
            for code in between {
                let array = format!("{}{}", ">".repeat(start), "+>>>".repeat(4));
                agree(work.path(), &format!(",[-]{array}<<<<<<<<<<<<[>>>]{code}[<<<]>>>."), &[1], tape);
            }
        }
    }
}

/// Shortcuts (code that builds a row of cells from zero and walks it, made
/// once at compile time and applied when the cells it assumed zero are):
/// long.b's walk on a row of 9, twice in a loop, the second time on the row
/// the first left (the shortcut does not apply); with the row's first cell
/// read from input (the shortcut does not apply the first time, and with
/// 255 the walk stops on it, short of the cell assumed zero); at both ends
/// of the tape, where cells of the shortcut (and that assumed zero first)
/// are off it, walking either way.
#[test]
fn shortcuts_apply_only_where_their_zeros_are() {
    let work = tempdir();
    // From the row's first cell: the cell before it stops the walk, the
    // cell after it (the tenth) counts.
    let walk = ",>>>>>>>>>++[-<<<<<<<<<+>+>+>+>+>+>+>+>++<[>[<+++>-]<<]>>>>>>>>>>]<[.<]";
    let options = bfc::Options { eval_steps: 0, ..bfc::Options::default() };
    let ir = bfc::front_end("walk.b", walk.as_bytes(), &options).unwrap();
    assert!(ir.ops().any(|op| matches!(op, bfc::ir::Op::Shortcut { .. })), "the walk has no shortcut");
    for tape in [300, 4096] {
        let lefts = [tape / 2, 2, 1, 0].map(|at| (at, walk.to_string()));
        let rights = [0, 8, 9, 10].map(|at| (tape - 1 - at, mirror(walk)));
        for (at, src) in lefts.iter().chain(&rights) {
            let src = format!("+.[-]{}{src}", ">".repeat(*at));
            for input in [0, 5, 255] {
                agree(work.path(), &src, &[input], tape);
            }
        }
    }
}

/// Chains of ifs on one counter whose cells lie off both ends of the tape,
/// touched in an order that depends on the counter (a counter of 1 touches
/// `[p-2]` first, 2 touches `[p+1]` first): each run stops with the error
/// of the cell it touches first, as a chain, in a carried walk, and on a
/// 4096-cell tape with cells 4200 apart. Found by an outside generator:
/// switches applied one order for every value.
#[test]
fn switch_chains_off_both_ends_fail_at_the_first_cell_they_touch() {
    let work = tempdir();
    let chain = ",[-[>+<[-]]<<+>>>+<[-]]";
    for input in [1u8, 2, 3] {
        agree(work.path(), &format!(">{chain}"), &[input], 2);
        agree(work.path(), ">,[[-[>+<[-]]<<+>>>+<[-]]>]", &[input], 2);
        let (left, right) = ("<".repeat(2100), ">".repeat(2100));
        let far = format!(",[-[{right}+{left}[-]]{left}+{right}{right}+{left}[-]]");
        agree(work.path(), &format!("{}{far}", ">".repeat(2000)), &[input], 4096);
    }
}

/// A switch between cells that the code before it touched needs no bounds
/// check (`select::switch::on_tape`): near either end of the tape those
/// touches fail first, where the program does, and elsewhere every value
/// makes what the ifs made. Chains whose cells lie on both sides of the
/// counter and on one, with guard pages (4096 cells) and explicit checks
/// (300); output before the error comes out. Where the cells before are on
/// one side only, the switch keeps its checks: without them it would touch
/// cells off the tape that some values do not.
#[test]
fn switches_between_cells_touched_before_them_agree_near_the_ends() {
    let work = tempdir();
    for tape in [300, 4096] {
        for chain in ["[-[>+<-[<<+>>-[-]]]]", "[->+<[->>+<<[-]]]"] {
            // The counter at `at`, then the cells 3 either side of it (the
            // switch's cells between), or only one of them (some not).
            for touches in ["<<<+>>>>>>+<<<", "<<<+>>>", ">>>+<<<"] {
                for at in [0, 2, 3, 6, tape - 7, tape - 4, tape - 3, tape - 1] {
                    let src = format!("+.{},{touches}{chain}.", ">".repeat(at));
                    for input in [0, 2, 4] {
                        agree(work.path(), &src, &[input], tape);
                    }
                }
            }
        }
    }
}

/// A run whose cells pass through a switch in registers (the carry walk of
/// `benches/idioms/carry.rs`: digit, carry and the switch's counter never
/// stored in between): digits that carry and that do not, a walk that
/// ends on the tape and one whose cells run off its end (the temporaries
/// first, 4 x (digits + 16) cells ahead), either way round; guard pages
/// (4096 cells) and explicit checks (300). Output before must come out.
#[test]
fn runs_through_a_switch_agree_near_the_ends() {
    let work = tempdir();
    for tape in [300, 4096] {
        for digits in [&[5u8, 5, 5][..], &[9, 0, 4, 7, 2]] {
            let len = digits.len();
            let reach = 4 * (len + 16) + len;
            let number: String = digits.iter().map(|&d| "+".repeat(d as usize + 1) + ">").collect();
            // The body but its reset of the digits, then the digits printed.
            let body = carry::bf_body(len);
            let body = body.strip_suffix(&"<[-]++++++".repeat(len)).expect("the body ends with the reset");
            let walk = format!("{number}{}{body}{}", "<".repeat(len), "<.".repeat(len));
            for start in [1, tape - reach - 1, tape - reach + 1, tape - reach / 2, tape - len - 1] {
                let src = format!("+.{}{walk}", ">".repeat(start));
                agree(work.path(), &src, &[], tape);
                agree(work.path(), &format!("+.{}{}", ">".repeat(tape - 1), mirror(&src[2..])), &[], tape);
            }
        }
    }
}

/// Cells farther apart than the smallest tape (4096 cells) but closer than
/// the tape the code is built for are touched out of order as nearer ones
/// are (`Hull::fails_alike_on`): register runs whose two cells lie 5000
/// apart, one through a digit chain's switch (`[p+5000] += [p]`, then
/// `[p] += [p+5000] >= 5`), on a 16384-cell tape, where the far cell is
/// off either end and where it is not. (Inputs stay small: the oracle
/// counts each of the 5000 moves.)
#[test]
fn cells_far_apart_on_a_long_tape_fail_where_the_program_would() {
    let work = tempdir();
    let tape = 16384;
    let far = |src: &str| src.replace('>', &">".repeat(5000)).replace('<', &"<".repeat(5000));
    let runs = [",>,<->[-<+>]<.>.<", ",>,<[-]+>[-<+>]<+.>.<", ",>,<[->+<]>[-[-[-[-[-[-]<+>]]]]]<.>.<"];
    for run in runs.map(far) {
        let rights = [tape / 2, tape - 5002, tape - 5001, tape - 3].map(|at| (at, run.clone()));
        let lefts = [5001, 4999, 0].map(|at| (at, mirror(&run)));
        for (at, src) in rights.iter().chain(&lefts) {
            let src = format!("+.[-]{}{src}", ">".repeat(*at));
            for input in [[3, 5], [7, 1]] {
                agree(work.path(), &src, &input, tape);
            }
        }
    }
}

/// Marker walks become scans for the marker value (`opt::value_scans`):
/// stride 1 (16 cells at a time while they are on the tape) and 3, finding
/// a marker near either end of the tape, or none and running off it, with
/// guard pages (4096 cells) and explicit checks (300); output before must
/// come out.
#[test]
fn marker_walks_stop_at_the_marker_or_the_tape_end() {
    let work = tempdir();
    for tape in [300, 4096] {
        for stride in [1usize, 3] {
            let walk = format!("-[+{}-]+", ">".repeat(stride));
            // Cells 2 apart hold 5, every `stride`-th from `at` the marker 1
            // where `marker` says; the walk starts at `from`.
            for (from, marker) in [(0, Some(40)), (0, None), (tape - 50, Some(tape - 2)), (tape - 50, None)] {
                let mut src = String::from("+.");
                let mut p = 0;
                let goto = |src: &mut String, p: &mut usize, cell: usize| {
                    *src += &if cell > *p { ">".repeat(cell - *p) } else { "<".repeat(*p - cell) };
                    *p = cell;
                };
                for cell in (from + 2..tape.min(from + 60)).step_by(2) {
                    goto(&mut src, &mut p, cell);
                    src += "+++++";
                }
                if let Some(m) = marker.filter(|m| (m - from) % stride == 0) {
                    goto(&mut src, &mut p, m);
                    src += "[-]+";
                }
                goto(&mut src, &mut p, from);
                src += &format!("{walk}.");
                agree(work.path(), &src, &[], tape);
                // The mirror image, from the other end.
                let mirrored = format!("+.{}{}", ">".repeat(tape - 1), mirror(&src[2..]));
                agree(work.path(), &mirrored, &[], tape);
            }
        }
    }
}

/// The bug behind the straight-line benchmark's crash under `--jit`: a
/// short constant print that filled the 64 KiB output buffer exactly left
/// it full, and the next `.` stored its byte past the buffer. Each pass
/// prints a byte not known at compile time, then 31 known ones: after 2048
/// passes a print ends at the buffer's end, and a `.` follows.
#[test]
fn a_print_that_fills_the_output_buffer_flushes_it_before_the_next_out() {
    let work = common::tempdir();
    let src = format!("+++++++++[>-[.>[-]+++{}<-]<-]", ".".repeat(31));
    agree(work.path(), &src, &[], 4096);
    agree(work.path(), &src, &[], 300);
}

/// `src`, given `input`, on a tape of `tape` cells: every mode (an
/// executable too) must agree with the interpreter, and the program must
/// end.
fn agree(work: &std::path::Path, src: &str, input: &[u8], tape: usize) {
    agree_as(0, work, src, input, tape);
}

/// `agree`, as the case of `seed`: runs in parallel need seeds of their
/// own, which name the files they write.
fn agree_as(seed: u64, work: &std::path::Path, src: &str, input: &[u8], tape: usize) {
    match diff::check(&gen::Case { seed, ..case(src, input, tape) }, work, &diff::modes(0, 1)) {
        Verdict::Agreed => {}
        Verdict::Discarded => panic!("must end: {src}"),
        Verdict::Mismatch(bad) => panic!("tape {tape}, {src}:\n{}", diff::describe(&bad)),
    }
}

/// `src` given `input` on a tape of `tape` 8-bit cells, as seed 0.
fn case(src: &str, input: &[u8], tape: usize) -> gen::Case {
    gen::Case {
        seed: 0,
        program: src.as_bytes().to_vec(),
        input: input.to_vec(),
        eof: bfc::ir::EofMode::Zero,
        tape,
        left_margin: 0,
        cell_bits: 8,
    }
}
