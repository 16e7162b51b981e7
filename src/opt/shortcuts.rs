//! Shortcuts: code that builds cells up from zero and then loops over
//! them does the same thing every time it runs on zeroed cells, so the
//! compiler runs it once and the program makes its changes in one step,
//! after checking that the cells it assumed zero are.
//!
//! long.b is built of such code: each level of its nest writes a fresh
//! row of counters to the right of its own (`>+>+>+>+>++<`) and walks back
//! over it, multiplying, until a zero cell stops the walk; the row is left
//! cleared for the next time. With the row and the cell that stops the
//! walk zero, the walk always runs the same four steps:
//!
//! ```text
//! add  [p+6] += 1                   shortcut if [p+5] .. [p+10] == 0: ..., p +1; else
//! ...                                 add  [p+6] += 1
//! add  [p+10] += 2                    ...
//! move p + 9                          add  [p+10] += 2
//! loop while [p] != 0         =>      move p + 9
//!   ...                               loop while [p] != 0
//! end loop                              ...
//! set  [p+1] = 0                      end loop
//! move p - 4                          set  [p+1] = 0
//!                                     move p - 4
//!                                   end shortcut
//! ```
//!
//! The code a shortcut stands for is a loop and the straight-line code
//! around it (adds, sets and moves), without I/O. It is run here with every
//! cell unknown: an add to an unknown cell is remembered as an add; when
//! the code reads (tests, multiplies by) an unknown cell, that cell is
//! assumed to have held zero, and joins the shortcut's `zeros`. Whatever
//! the run read is then either a cell it wrote or one assumed zero, so on
//! any tape where the `zeros` hold zero the code does exactly this. The
//! shortcut is kept only where the loop ran (it would not on a zero tested
//! cell: nothing to save), the run took long enough to be worth a test and
//! stayed small, and the code is inside a loop (code that runs once is
//! compile-time execution's, `eval.rs`).
//!
//! Where the zeros do not hold, or the cells the code touches are not all
//! on the tape, the code runs as written: so errors are the original's.
//!
//! Owns finding shortcuts and what they do. Their encoding in the data is
//! `ir::data`'s; how the code tests the zeros is x64's, of which this pass
//! knows only the limit it asks (`Shortcut::zero_tests_needed`).

use crate::ir::{Change, Inst, Op, Program, Shortcut};

/// Steps of one run: longer ones are left to run time.
const MAX_STEPS: u32 = 20_000;

/// Steps of every run of the pass together, so that a program of many
/// loops compiles in time linear in its size.
const MAX_TOTAL_STEPS: u64 = 2_000_000;

/// Steps a run must take for its shortcut to be kept: the test of the
/// zeros costs a few instructions, and where the zeros do not hold, the
/// code runs as well; below this, too little is saved when they do.
const MIN_STEPS: u32 = 32;

/// The cells a shortcut may touch, from lowest to highest.
const MAX_REACH: i64 = 256;

/// Tests of the zeros, each of up to `Shortcut::ZERO_TEST_CELLS` cells,
/// that the code may make (`Shortcut::zero_tests_needed`).
const MAX_ZERO_TESTS: usize = 2;

/// Replaces each outermost loop inside a loop (with the straight-line code
/// before and after it) that has a shortcut by the shortcut, holding the
/// code.
pub fn shortcuts(program: Program) -> Program {
    let partner = program.block_partners();
    let Program { insts, mut data } = program;
    let mut out = Vec::with_capacity(insts.len());
    let mut budget = MAX_TOTAL_STEPS;
    // Where the straight-line code before the next loop starts, in `insts`
    // and in `out`.
    let mut run_start = (0, 0);
    // For each open block, whether it is a loop; and how many are. Code
    // outside every loop runs once: nothing to save.
    let mut open = Vec::new();
    let mut loops = 0;
    let mut i = 0;
    while i < insts.len() {
        let op = insts[i].op;
        if let (Op::Loop { off }, 1..) = (op, loops) {
            let end = partner[i];
            let after = end + 1 + straight_len(&insts[end + 1..]);
            let region = &insts[run_start.0..after];
            let found = writes(&insts[run_start.0..i], off)
                .then(|| find(region, &partner[run_start.0..after], run_start.0, &mut budget))
                .flatten();
            if let Some(shortcut) = found {
                out.truncate(run_start.1);
                shortcut.wrap(region, &mut data, &mut out);
                i = after;
                run_start = (i, out.len());
                continue;
            }
        }
        if op.opens() {
            open.push(matches!(op, Op::Loop { .. }));
            loops += matches!(op, Op::Loop { .. }) as usize;
        } else if op.closes() {
            loops -= open.pop().expect("balanced IR") as usize;
        }
        out.push(insts[i]);
        i += 1;
        if !is_straight(op) {
            run_start = (i, out.len());
        }
    }
    Program { insts: out, data }
}

/// Code a shortcut may hold outside its loop.
fn is_straight(op: Op) -> bool {
    matches!(op, Op::Add { .. } | Op::Set { .. } | Op::Move(_))
}

fn straight_len(insts: &[Inst]) -> usize {
    insts.iter().take_while(|inst| is_straight(inst.op)).count()
}

/// Whether straight-line code writes the cell at `off` from where it
/// leaves the pointer. If not, the loop after it, testing that cell, would
/// not run on zeros: no need to try.
fn writes(straight: &[Inst], off: i32) -> bool {
    let mut at = off as i64;
    straight.iter().rev().any(|inst| match inst.op {
        Op::Move(d) => {
            at += d as i64;
            false
        }
        Op::Add { off, .. } | Op::Set { off, .. } => off as i64 == at,
        _ => false,
    })
}

/// The shortcut of `region` (straight-line code, a loop, straight-line
/// code), if it has one. `partner` is the program's, for the region's
/// instructions, which start at `first` in the program.
fn find(region: &[Inst], partner: &[usize], first: usize, budget: &mut u64) -> Option<Shortcut> {
    let mut run = Run::new();
    let mut steps = 0u32;
    // Counts a step; None when a budget runs out.
    let mut step = || {
        steps += 1;
        *budget = budget.checked_sub(1)?;
        (steps <= MAX_STEPS).then_some(steps)
    };
    let mut looped = false;
    let mut pc = 0;
    while pc < region.len() {
        step()?;
        match region[pc].op {
            Op::Add { off, val } => run.add(off, val)?,
            Op::Set { off, val } => run.set(off, val)?,
            // Touches its cell or not, and changes nothing: the same where
            // the shortcut applies (its cells are on the tape).
            Op::AddMul { off, factor: 0, .. } => run.add(off, 0)?,
            Op::AddMul { off, src, factor, if_nonzero } => {
                let v = run.read(src)?;
                if !(if_nonzero && v == 0) {
                    run.add(off, v.wrapping_mul(factor))?;
                }
            }
            Op::Move(d) => run.ptr += d as i64,
            Op::Loop { off } | Op::If { off } => {
                if run.read(off)? == 0 {
                    pc = partner[pc] - first;
                } else {
                    looped |= matches!(region[pc].op, Op::Loop { .. });
                }
            }
            Op::EndLoop => {
                let Op::Loop { off } = region[partner[pc] - first].op else { unreachable!("EndLoop closes a Loop") };
                if run.read(off)? != 0 {
                    pc = partner[pc] - first;
                }
            }
            Op::EndIf => {}
            Op::Scan { stride, value } => {
                while run.read(0)? != value {
                    step()?;
                    run.ptr += stride as i64;
                }
            }
            Op::Out { .. }
            | Op::In { .. }
            | Op::Print { .. }
            | Op::Switch { .. }
            | Op::Shortcut { .. }
            | Op::EndShortcut
            | Op::Dump => return None,
        }
        pc += 1;
    }
    if !looped || steps < MIN_STEPS {
        return None;
    }
    let shortcut = run.shortcut()?;
    (shortcut.zero_tests_needed() <= MAX_ZERO_TESTS).then_some(shortcut)
}

/// A cell in a run: its value, or how much was added to the unknown value
/// it held; `Untouched` until the run touches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Untouched,
    Known(u8),
    Unknown { added: u8 },
}

/// Cells a run keeps: on either side of the first cell it touches, as far
/// as it may reach.
const CELLS: usize = 2 * MAX_REACH as usize;

/// A run of a region on an unknown tape. Positions are offsets from where
/// the region starts.
struct Run {
    /// `cells[k]` is the cell at `base + k`.
    cells: [Cell; CELLS],
    base: Option<i64>,
    /// The cells assumed zero.
    zeros: Vec<i64>,
    ptr: i64,
    /// The lowest and highest cell touched.
    reach: (i64, i64),
}

impl Run {
    fn new() -> Run {
        Run { cells: [Cell::Untouched; CELLS], base: None, zeros: Vec::new(), ptr: 0, reach: (0, 0) }
    }

    /// The index in `cells` of the cell at `off`; None when the run reaches
    /// too far.
    fn touch(&mut self, off: i32) -> Option<usize> {
        let at = self.ptr + off as i64;
        let base = *self.base.get_or_insert_with(|| {
            self.reach = (at, at);
            at - MAX_REACH
        });
        self.reach = (self.reach.0.min(at), self.reach.1.max(at));
        if self.reach.1 - self.reach.0 >= MAX_REACH {
            return None;
        }
        Some((at - base) as usize)
    }

    fn read(&mut self, off: i32) -> Option<u8> {
        let k = self.touch(off)?;
        match self.cells[k] {
            Cell::Known(v) => Some(v),
            // Assumed to have held zero: now it holds what was added.
            Cell::Unknown { added } => self.assume_zero(k, added),
            Cell::Untouched => self.assume_zero(k, 0),
        }
    }

    fn assume_zero(&mut self, k: usize, value: u8) -> Option<u8> {
        self.zeros.push(self.base? + k as i64);
        self.cells[k] = Cell::Known(value);
        Some(value)
    }

    fn set(&mut self, off: i32, val: u8) -> Option<()> {
        let k = self.touch(off)?;
        self.cells[k] = Cell::Known(val);
        Some(())
    }

    fn add(&mut self, off: i32, val: u8) -> Option<()> {
        let k = self.touch(off)?;
        self.cells[k] = match self.cells[k] {
            Cell::Known(v) => Cell::Known(v.wrapping_add(val)),
            Cell::Unknown { added } => Cell::Unknown { added: added.wrapping_add(val) },
            Cell::Untouched => Cell::Unknown { added: val },
        };
        Some(())
    }

    /// What the run did, as a shortcut: None if its offsets do not fit.
    fn shortcut(mut self) -> Option<Shortcut> {
        let narrow = |v: i64| i32::try_from(v).ok();
        let base = self.base?;
        self.zeros.sort_unstable();
        let zeros = &self.zeros;
        let changes = (self.cells.iter().enumerate())
            .filter_map(|(k, &cell)| {
                let at = base + k as i64;
                let change = match cell {
                    Cell::Known(0) if zeros.binary_search(&at).is_ok() => return None,
                    Cell::Known(v) => Change::Set(v),
                    Cell::Untouched | Cell::Unknown { added: 0 } => return None,
                    Cell::Unknown { added } => Change::Add(added),
                };
                Some(narrow(at).map(|at| (at, change)))
            })
            .collect::<Option<_>>()?;
        Some(Shortcut {
            zeros: zeros.iter().map(|&at| narrow(at)).collect::<Option<_>>()?,
            reach: (narrow(self.reach.0)?, narrow(self.reach.1)?),
            changes,
            delta: narrow(self.ptr)?,
            divmod: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Status;
    use crate::interp;
    use crate::ir::EofMode;
    use crate::opt::testing::*;
    use crate::opt::{optimise, Config, Level};

    /// The program as the other passes leave it.
    fn optimised(src: &str) -> Program {
        optimised_program(program(src))
    }

    fn shortcuts_of(p: &Program) -> Vec<Shortcut> {
        p.ops().filter_map(|op| if let Op::Shortcut { start } = op { Some(p.shortcut(start)) } else { None }).collect()
    }

    #[test]
    fn a_row_built_from_zero_and_walked_becomes_its_result() {
        // long.b's walk on one row, in a loop: cell 0 counts, cell 1 is
        // the gap, cells 2-6 are built (1, 1, 1, 1, 2), then walked from
        // cell 5 back down to the zero at cell 1, each step adding three
        // times the cell after to the cell before it and clearing it.
        let p = shortcuts(program("+[->>+>+>+>+>++<[>[<+++>-]<<]<]"));
        let found = shortcuts_of(&p);
        assert_eq!(found.len(), 1, "{:?}", ops(&p));
        // 1 + 3*2 = 7, 1 + 3*7 = 22, 1 + 3*22 = 67, 1 + 3*67 = 202.
        let expected = Shortcut {
            zeros: vec![1, 2, 3, 4, 5, 6],
            reach: (0, 6),
            changes: vec![(0, Change::Add(255)), (2, Change::Set(202))],
            delta: 0,
            divmod: None,
        };
        assert_eq!(found[0], expected);
        // The loop's body is the shortcut and its code.
        let ops = ops(&p);
        assert_eq!(ops[..3], [Op::Add { off: 0, val: 1 }, Op::Loop { off: 0 }, Op::Shortcut { start: 0 }]);
        assert_eq!(ops[ops.len() - 2..], [Op::EndShortcut, Op::EndLoop]);
    }

    #[test]
    fn code_outside_loops_runs_once_and_has_none() {
        // Compile-time execution of the program's start is `eval`'s work.
        assert!(shortcuts_of(&shortcuts(program(">+>+>+>+>++<[>[<+++>-]<<]"))).is_empty());
    }

    #[test]
    fn keeps_behaviour_whether_the_zeros_hold_or_not() {
        let row = "+[->+>+>+>+>++<[>[<+++>-]<<]]";
        let programs = [
            format!("{row}>."),
            // The same code again where the row is no longer zero.
            format!("++[>{row}>+<<-]>>."),
            // The cell assumed zero that stops the walk is not.
            format!(">+{row}<."),
            format!("+{row}<."),
            // Near the tape's ends: cells of the shortcut off the tape.
            format!("{}{row}", ">".repeat(59)),
            format!("{}{row}", ">".repeat(58)),
            format!("<{row}"),
            row[1..].to_string(),
        ];
        for src in &programs {
            assert_preserves(shortcuts, src, b"");
            assert_preserves(optimised_program, src, b"");
        }
    }

    fn optimised_program(p: Program) -> Program {
        optimise(p, Config { level: Level::O2, tape_cells: 64, left_margin: 0, eval_steps: 0, cell_bits: 8 })
    }

    #[test]
    fn loops_that_do_not_run_on_zeros_have_none() {
        // The loop's cell is not written first: on zeros it does not run.
        assert!(shortcuts_of(&shortcuts(program(">>[->+<]"))).is_empty());
        assert!(shortcuts_of(&shortcuts(program("+>[<->-]"))).is_empty());
    }

    #[test]
    fn io_and_endless_loops_have_none() {
        assert!(shortcuts_of(&shortcuts(program("+[.-]"))).is_empty());
        assert!(shortcuts_of(&shortcuts(program("+[,]"))).is_empty());
        assert!(shortcuts_of(&shortcuts(program("+[]"))).is_empty());
        assert!(shortcuts_of(&shortcuts(program("+[>+]"))).is_empty());
    }

    #[test]
    fn adds_to_unread_cells_stay_adds() {
        let p = shortcuts(program("+[<+++>>++++++++++[-<++>]<-]"));
        let found = shortcuts_of(&p);
        assert_eq!(found.len(), 1, "{:?}", ops(&p));
        assert_eq!(found[0].zeros, vec![1]);
        assert_eq!(found[0].changes, vec![(-1, Change::Add(3)), (0, Change::Add(19))]);
        assert_eq!((found[0].reach, found[0].delta), ((-1, 1), 0));
    }

    #[test]
    fn long_b_loses_its_inner_levels() {
        let level = |inner: &str| format!(">>>>>>+>+>+>+>++<[>[<+++>-{inner}]<<]>[-]<<<<<");
        let src = format!(">+>+>+>+>++<[>[<+++>-{}]<<]>.", level(&level("")));
        let p = optimised(&src);
        assert!(!shortcuts_of(&p).is_empty());
        // Too long a run for `assert_preserves`' budget.
        let run = |p: &Program| {
            let mut out = Vec::new();
            let config = interp::Config {
                tape_cells: 64,
                left_margin: 0,
                eof: EofMode::Zero,
                max_steps: Some(100_000_000),
                cell_bits: 8,
            };
            (interp::run(p, &config, &mut &b""[..], &mut out), out)
        };
        let (outcome, printed) = run(&program(&src));
        assert_eq!(outcome, interp::Outcome::Finished(Status::Ok));
        assert_eq!(run(&p), (outcome, printed));
    }
}
