//! The analyses of the IR that both the optimiser (`opt`) and the code
//! generator's selection (`x64::select`) ask: which cells an instruction
//! touches, which cells are surely on the tape (`Hull`), when touching
//! cells in another order than the program did makes the same error
//! (`Hull::fails_alike_on`), and which blocks leave the pointer where
//! they found it (`balanced_blocks`).
//!
//! Owns these answers, once: a pass or a code generator that needs one asks
//! here rather than arguing it again. Reads programs, never changes them;
//! knows nothing of x86 or of any pass.

use super::{Inst, Op, Program};

impl Op {
    /// The cells a straight-line operation reads or writes, by offset. None
    /// for moves, constant output and block instructions (whose test cells
    /// the callers see to themselves). For a `Switch` only `src`: its other
    /// cells are in the program's data, and no pass runs after it is made.
    pub fn cells(self) -> impl Iterator<Item = i32> {
        let (first, second) = match self {
            Op::Add { off, .. } | Op::Set { off, .. } | Op::Out { off } | Op::In { off } => (Some(off), None),
            Op::AddMul { off, src, .. } => (Some(off), Some(src)),
            Op::Switch { src, .. } => (Some(src), None),
            _ => (None, None),
        };
        first.into_iter().chain(second)
    }

    /// `cells`, but for a target an `if_nonzero` multiply may leave
    /// untouched: the cells that are on the tape once the operation ran
    /// without a tape error.
    pub fn cells_surely_touched(self) -> impl Iterator<Item = i32> {
        let maybe = match self {
            Op::AddMul { off, if_nonzero: true, .. } => Some(off),
            _ => None,
        };
        self.cells().filter(move |&cell| Some(cell) != maybe)
    }

    /// Every cell the instruction reads or writes: `cells`, and the cell a
    /// loop or an if tests.
    pub fn cells_touched(self) -> impl Iterator<Item = i32> {
        let test = match self {
            Op::Loop { off } | Op::If { off } => Some(off),
            _ => None,
        };
        self.cells().chain(test)
    }
}

/// The range of cells from the lowest to the highest of some cells (empty
/// for none). The tape is contiguous: once two cells are known on it, so is
/// every cell of their hull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hull {
    pub lo: i64,
    pub hi: i64,
}

impl Hull {
    /// The hull of no cells.
    pub const EMPTY: Hull = Hull { lo: i64::MAX, hi: i64::MIN };

    pub fn of(cells: impl IntoIterator<Item = i64>) -> Hull {
        let mut hull = Hull::EMPTY;
        cells.into_iter().for_each(|cell| hull.cover(cell));
        hull
    }

    /// The cells of a tape of `cells` cells, by number from where the
    /// program starts (cell 0), the first `left_margin` of them left of it.
    pub fn tape(cells: usize, left_margin: usize) -> Hull {
        let lo = -(left_margin as i64);
        Hull { lo, hi: lo + cells as i64 - 1 }
    }

    /// The hull of cells given by offset.
    pub fn of_offsets(cells: impl IntoIterator<Item = i32>) -> Hull {
        Hull::of(cells.into_iter().map(i64::from))
    }

    pub fn cover(&mut self, cell: i64) {
        self.lo = self.lo.min(cell);
        self.hi = self.hi.max(cell);
    }

    pub fn contains(self, cell: i64) -> bool {
        (self.lo..=self.hi).contains(&cell)
    }

    pub fn join(self, other: Hull) -> Hull {
        Hull { lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }

    /// The same cells, seen from a pointer moved by `delta`.
    pub fn shifted(self, delta: i64) -> Hull {
        Hull { lo: self.lo - delta, hi: self.hi - delta }
    }

    /// How far apart its ends are (0 when empty).
    pub fn spread(self) -> u64 {
        if self.lo > self.hi {
            0
        } else {
            self.hi.abs_diff(self.lo)
        }
    }

    /// Whether its cells are closer together than a tape of `tape_cells`
    /// cells is long: then two of them cannot be off opposite ends, so code
    /// that touches them in another order than the program did, with
    /// nothing observable between, makes the same tape error. Code is built
    /// for one tape size (`x64::Target`), and run on it or on a longer one
    /// (where the argument holds all the more): a program whose arrays lie
    /// 4 x 4112 cells apart is reordered on the 2^18-cell tape it asks for,
    /// not on the 4096-cell tape it could not run on.
    pub fn fails_alike_on(self, tape_cells: usize) -> bool {
        self.spread() < tape_cells as u64
    }
}

/// How far back `touched_before` looks.
const LOOK_BACK: usize = 64;

/// The cells surely on the tape once the straight-line code that ends
/// `before` has run, seen from the pointer after it: the hull of the cells
/// its instructions surely touched, back to the nearest block instruction,
/// scan or dump (or `LOOK_BACK` instructions). Straight-line code runs
/// whole: each of those touches came before the instruction after
/// `before`, and did not fail.
pub fn touched_before(before: &[Inst]) -> Hull {
    let mut hull = Hull::EMPTY;
    // The pointer after `before`, less the pointer at the instruction seen.
    let mut moved = 0i64;
    for inst in before.iter().rev().take(LOOK_BACK) {
        match inst.op {
            Op::Move(d) => moved += d as i64,
            op if op.opens() || op.closes() || matches!(op, Op::Scan { .. } | Op::Dump) => break,
            op => op.cells_surely_touched().for_each(|cell| hull.cover(cell as i64 - moved)),
        }
    }
    hull
}

/// For each block opener and closer: does the block leave the pointer where
/// it found it, whatever path it takes? True when its own moves add up to
/// zero, it holds no scan, and every block inside it is balanced too.
pub fn balanced_blocks(program: &Program) -> Vec<bool> {
    let mut balanced = vec![false; program.insts.len()];
    // Open blocks: (opener index, sum of moves so far, nothing unbalanced).
    let mut open: Vec<(usize, i64, bool)> = Vec::new();
    for (i, inst) in program.insts.iter().enumerate() {
        match inst.op {
            Op::Move(d) => {
                if let Some(top) = open.last_mut() {
                    top.1 += d as i64;
                }
            }
            // A dump needs the pointer real (`opt::defer_moves`): its
            // blocks are not folded through.
            Op::Scan { .. } | Op::Dump => {
                if let Some(top) = open.last_mut() {
                    top.2 = false;
                }
            }
            op if op.opens() => open.push((i, 0, true)),
            op if op.closes() => {
                let (start, sum, ok) = open.pop().expect("balanced IR");
                let is_balanced = ok && sum == 0;
                balanced[start] = is_balanced;
                balanced[i] = is_balanced;
                if !is_balanced {
                    if let Some(parent) = open.last_mut() {
                        parent.2 = false;
                    }
                }
            }
            _ => {}
        }
    }
    balanced
}

/// The cells known to be on the tape as a program runs, seen from the
/// pointer: the cells it surely touched and every cell between two of them
/// (the tape is contiguous). Fed the program's instructions in order
/// (`pass`); `known` is what holds before the next one.
pub struct OnTape {
    partner: Vec<usize>,
    balanced: Vec<bool>,
    known: Option<Hull>,
    /// For each open block: what was known at its start.
    at_open: Vec<Option<Hull>>,
}

impl OnTape {
    pub fn new(program: &Program) -> OnTape {
        OnTape {
            partner: program.block_partners(),
            balanced: balanced_blocks(program),
            known: None,
            at_open: Vec::new(),
        }
    }

    /// The cells known on the tape; None: none.
    pub fn known(&self) -> Option<Hull> {
        self.known
    }

    /// Whether the cell at `off` is known on the tape.
    pub fn proves(&self, off: i64) -> bool {
        self.known.is_some_and(|hull| hull.contains(off))
    }

    /// Goes past the instructions of `range` (straight-line code, or whole
    /// blocks), noting in `before` the cells known before each
    /// (`Hull::EMPTY`: none).
    pub fn pass_noting(&mut self, program: &Program, range: std::ops::Range<usize>, before: &mut Vec<Hull>) {
        for i in range {
            before.push(self.known.unwrap_or(Hull::EMPTY));
            self.pass(program, i, false);
        }
    }

    fn cover(&mut self, cell: i32) {
        match &mut self.known {
            Some(hull) => hull.cover(cell as i64),
            None => self.known = Some(Hull::of([cell as i64])),
        }
    }

    /// Goes past `program`'s instruction `i`. At a block's end,
    /// `body_ran`: its body surely ran (an `If` a pass dropped).
    pub fn pass(&mut self, program: &Program, i: usize, body_ran: bool) {
        match program.insts[i].op {
            Op::Move(d) => self.known = self.known.map(|hull| hull.shifted(d as i64)),
            // It stops on a cell it read.
            Op::Scan { .. } => self.known = Some(Hull::of([0])),
            Op::Loop { off } => {
                self.cover(off);
                self.at_open.push(self.known);
                if !self.balanced[i] {
                    // Each iteration starts elsewhere: only the test is sure.
                    self.known = Some(Hull::of([off as i64]));
                }
            }
            Op::If { off } => {
                self.cover(off);
                self.at_open.push(self.known);
            }
            Op::Shortcut { .. } => {
                self.at_open.push(self.known);
                self.known = None;
            }
            Op::EndLoop | Op::EndIf | Op::EndShortcut => {
                let before = self.at_open.pop().expect("balanced IR");
                self.known = if body_ran {
                    self.known
                } else if self.balanced[i] {
                    before
                } else {
                    // The pointer may be anywhere; a loop stops on its test.
                    // An `if` skipped leaves it where its test touched the
                    // cell, so where the body ends with that cell known on
                    // the tape too, the cell is (known-values' `if`s that
                    // were loops ending on a zero: bfminifier's nest).
                    match program.insts[self.partner[i]].op {
                        Op::Loop { off } => Some(Hull::of([off as i64])),
                        Op::If { off } if self.known.is_some_and(|hull| hull.contains(off as i64)) => {
                            Some(Hull::of([off as i64]))
                        }
                        _ => None,
                    }
                };
            }
            op => op.cells_surely_touched().for_each(|cell| self.cover(cell)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Inst;

    #[test]
    fn instructions_name_the_cells_they_touch() {
        let cells = |op: Op| op.cells_touched().collect::<Vec<_>>();
        assert_eq!(cells(Op::AddMul { off: 3, src: -1, factor: 2, if_nonzero: false }), [3, -1]);
        assert_eq!(cells(Op::If { off: 4 }), [4]);
        assert_eq!(Op::If { off: 4 }.cells().count(), 0);
        assert_eq!(cells(Op::Move(5)), [0i32; 0]);
        assert_eq!(cells(Op::Print { start: 0, len: 1 }), [0i32; 0]);
    }

    #[test]
    fn cells_closer_than_the_tape_fail_alike_in_any_order() {
        let within = |cells: &[i32], tape: usize| Hull::of_offsets(cells.iter().copied()).fails_alike_on(tape);
        assert!(within(&[], 4096));
        assert!(within(&[-5, 7, 100], 4096));
        assert!(within(&[0, 4095], 4096));
        assert!(!within(&[0, 4096], 4096));
        // On a longer tape, farther apart.
        assert!(within(&[0, 4096], 8192));
        assert!(!within(&[-4096, 4096], 8192));
        assert!(!within(&[i32::MIN, i32::MAX], 1 << 30));
        // A walk's cells and the next iteration's: the hull grows by the stride.
        let now = Hull::of_offsets([1, 10]);
        assert_eq!(now.join(now.shifted(-9)).spread(), 18);
        assert!(Hull::of([2, 8]).contains(5) && !Hull::EMPTY.contains(0));
    }

    #[test]
    fn straight_code_before_an_instruction_proves_the_cells_it_touched() {
        let insts = |ops: &[Op]| ops.iter().map(|&op| Inst::new(op, 0)).collect::<Vec<_>>();
        // Seen from the pointer after it: a move shifts what came before.
        let before = insts(&[Op::Add { off: -3, val: 1 }, Op::Move(2), Op::Set { off: 4, val: 0 }]);
        assert_eq!(touched_before(&before), Hull { lo: -5, hi: 4 });
        // Back to the nearest block instruction; an `if_nonzero` multiply's
        // target is not sure, its source is.
        let multiply = Op::AddMul { off: 7, src: 1, factor: 1, if_nonzero: true };
        assert_eq!(touched_before(&insts(&[Op::Add { off: -9, val: 1 }, Op::EndLoop, multiply])), Hull::of([1]));
        assert_eq!(touched_before(&insts(&[Op::Out { off: 2 }, Op::Scan { stride: 1, value: 0 }])), Hull::EMPTY);
        assert_eq!(touched_before(&[]), Hull::EMPTY);
    }

    #[test]
    fn after_an_if_that_moved_the_pointer_its_cell_is_on_the_tape_where_its_body_ends_on_it() {
        // `if [p+1] { move -2; set [p+1] = 0 }`: skipped, the pointer is
        // where the test touched [p+1]; taken, the body ends having set
        // [p+1] from where it moved to.
        let after = |body: &[Op]| {
            let ops = [&[Op::If { off: 1 }, Op::Move(-2)][..], body, &[Op::EndIf]].concat();
            let program = Program { insts: ops.iter().map(|&op| Inst::new(op, 0)).collect(), data: vec![] };
            let mut on_tape = OnTape::new(&program);
            (0..ops.len()).for_each(|i| on_tape.pass(&program, i, false));
            on_tape.known()
        };
        assert_eq!(after(&[Op::Set { off: 1, val: 0 }]), Some(Hull::of([1])));
        // Ending with cells known past it only: nothing is known.
        assert_eq!(after(&[Op::Set { off: 5, val: 0 }]), None);
    }

    #[test]
    fn blocks_that_move_or_scan_are_not_balanced() {
        let p = |ops: &[Op]| Program { insts: ops.iter().map(|&op| Inst::new(op, 0)).collect(), data: vec![] };
        let (open, close) = (Op::Loop { off: 0 }, Op::EndLoop);
        assert_eq!(balanced_blocks(&p(&[open, Op::Move(1), Op::Move(-1), close])), [true, false, false, true]);
        assert_eq!(balanced_blocks(&p(&[open, Op::Move(1), close])), [false, false, false]);
        let inner = [open, Op::If { off: 0 }, Op::Scan { stride: 1, value: 0 }, Op::EndIf, close];
        assert_eq!(balanced_blocks(&p(&inner)), [false; 5]);
    }
}
