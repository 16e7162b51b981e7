//! Warnings about the parsed program: loops that never end, code that is
//! never reached, loops and commands that always run off the tape.
//!
//! Owns the judgement and the wording of each warning (its stable `code`
//! and its place); reads the program as parsed, so every position is a
//! command of the source, and changes nothing. Knows nothing of the
//! optimiser or of how the program is run; only `main.rs` prints.
//!
//! Two passes over the program, each linear in its length:
//!
//! - `Shape`, per loop from its body alone: does the body leave the pointer
//!   where it was (it moves it back, and every loop inside it does too) and
//!   never write the cell the loop tests? Then the loop never ends once
//!   entered. Positions are counted by a virtual pointer; each write knows
//!   the next write of its position.
//! - `Lint`, forward, what is known of the cells (`Fact`): at the start of
//!   the program, that all are zero; after a `]`, that the cell it tested
//!   is; at the start of a body, that its cell is not; and values written.
//!   A fact holds until its cell may be written (one comparison with the
//!   next write). A loop on a cell known zero is never entered (`[comment]`
//!   at the start, `[-][comment]`): no warning about it or inside it. A
//!   loop known to be entered that never ends makes the code after it
//!   unreachable. docs/diagnostics.md has the rules in full.

use crate::diagnostic::{Diagnostic, Level, Location};
use crate::error::Pos;
use crate::ir::analysis::Hull;
use crate::ir::{Op, Program};

/// Stable names of the warnings, for tools.
pub const ENDLESS_LOOP: &str = "endless-loop";
pub const UNREACHABLE_CODE: &str = "unreachable-code";
pub const RUNS_OFF_TAPE: &str = "runs-off-tape";

/// Warnings reported at most; the rest are counted in a note.
pub const MAX_REPORTED: usize = crate::parse::MAX_REPORTED;

/// The warnings of a parsed (unoptimised) program, in source order (the
/// first `MAX_REPORTED`, then a note of how many more); `file` and
/// `source` name and show their places, `tape` is the tape's cells by
/// number (cell 0: where the program starts).
pub fn check(file: &str, source: &[u8], program: &Program, tape: Hull) -> Vec<Diagnostic> {
    check_cells(file, source, program, tape, 8)
}

/// `check`, for cells of `cell_bits` bits (`--cell-bits`): at 16 and 32
/// bits a cell's value is known only while it stays within 0..=255 (a byte
/// of the parsed program is a signed step there, `ir::widen`).
pub fn check_cells(file: &str, source: &[u8], program: &Program, tape: Hull, cell_bits: u32) -> Vec<Diagnostic> {
    let mut lint = Lint::new(program, tape);
    lint.cell_bits = cell_bits;
    for (i, inst) in program.insts.iter().enumerate() {
        lint.step(i, inst.op);
    }
    let mut found = lint.found;
    found.sort_by_key(|f| f.at(program));
    let more = found.len().saturating_sub(MAX_REPORTED);
    let mut warnings: Vec<Diagnostic> =
        found.iter().take(MAX_REPORTED).map(|f| f.diagnostic(file, source, program)).collect();
    if more > 0 {
        let s = if more == 1 { "" } else { "s" };
        let message = format!("{more} more warning{s} not shown");
        warnings.push(Diagnostic { level: Level::Note, code: "more-warnings", message, location: None });
    }
    warnings
}

/// A warning, by instruction index.
#[derive(Debug)]
enum Finding {
    Endless {
        open: usize,
    },
    Unreachable {
        at: usize,
        after: usize,
    },
    Walks {
        open: usize,
        stride: i64,
    },
    /// `tape`: the tape's cells; `left`: `cell` is left of them.
    Touches {
        at: usize,
        cell: i64,
        tape: i64,
        left: bool,
    },
}

impl Finding {
    /// The instruction it points at.
    fn inst(&self) -> usize {
        match *self {
            Finding::Endless { open } | Finding::Walks { open, .. } => open,
            Finding::Unreachable { at, .. } | Finding::Touches { at, .. } => at,
        }
    }

    fn at(&self, program: &Program) -> u32 {
        program.insts[self.inst()].at
    }

    fn diagnostic(&self, file: &str, source: &[u8], program: &Program) -> Diagnostic {
        let at = |i: usize| program.insts[i].at as usize;
        let (code, message, label) = match *self {
            Finding::Endless { .. } => (
                ENDLESS_LOOP,
                "this loop never ends once entered".to_string(),
                "its body leaves the pointer here and never changes this cell".to_string(),
            ),
            Finding::Unreachable { after, .. } => {
                let Pos { line, col } = Pos::of_offset(source, at(after));
                (
                    UNREACHABLE_CODE,
                    "unreachable code".to_string(),
                    format!("never run: the loop at {line}:{col} is always entered and never ends"),
                )
            }
            Finding::Walks { stride, .. } => {
                let (end, way) = if stride > 0 { ("right", "right") } else { ("left", "left") };
                let n = stride.unsigned_abs();
                (
                    RUNS_OFF_TAPE,
                    format!("this loop always runs off the {end} end of the tape"),
                    format!("each time round it moves {way} by {n} and leaves the next cell it tests nonzero"),
                )
            }
            Finding::Touches { cell, tape, left, .. } => {
                let (what, side) = if left {
                    ("underflow", "left of the tape".to_string())
                } else {
                    ("overflow", format!("past the end of the tape of {tape} cells"))
                };
                (
                    RUNS_OFF_TAPE,
                    format!("the program always stops here with a tape {what}"),
                    format!("this touches cell {cell}, {side}"),
                )
            }
        };
        let location = Location::at(file, source, at(self.inst()), label);
        Diagnostic { level: Level::Warning, code, message, location: Some(location) }
    }
}

/// What is known of a cell, packed in a `u16`: a value (0..=255), or only
/// that it is not zero, or nothing.
type Known = u16;
const NONZERO: Known = 256;
const UNKNOWN: Known = 257;

/// "None" in the tables of instruction indices, which hold index + 1.
const NONE: u32 = 0;

/// What the first pass finds of the program's shape, before anything is
/// known of cells: where each loop ends, which loops leave the pointer
/// where they found it, and for each write the next write of the same
/// position (so that whether a cell is written between two places, or
/// anywhere in a loop, is one comparison).
struct Shape {
    /// The lowest virtual position: positions index the tables from it.
    low: i64,
    /// Per position: the first instruction that writes it.
    first_write: Vec<u32>,
    /// Per instruction: for a write, the next write of its position; for
    /// a bracket, its partner.
    next: Vec<u32>,
    /// Per `[`: its loop leaves the pointer where it found it, and every
    /// loop inside it does too.
    balanced: Vec<bool>,
    /// Per `[`: balanced, and its body never writes the cell it tests.
    endless: Vec<bool>,
}

/// The virtual pointer: moved by `<` and `>`, put back at each `]` to where
/// the `[` had it, so that inside a balanced loop it is the real pointer
/// plus a constant, and after any loop a fresh reference.
fn positions(program: &Program) -> (i64, i64) {
    let (mut pos, mut low, mut high) = (0i64, 0i64, 0i64);
    let mut open = Vec::new();
    for inst in &program.insts {
        match inst.op {
            Op::Move(d) => {
                pos += d as i64;
                low = low.min(pos);
                high = high.max(pos);
            }
            Op::Loop { .. } => open.push(pos),
            Op::EndLoop => pos = open.pop().expect("a parsed program is balanced"),
            _ => {}
        }
    }
    (low, high)
}

impl Shape {
    fn of(program: &Program) -> Shape {
        let n = program.insts.len();
        let (low, high) = positions(program);
        let size = (high - low + 1) as usize;
        let mut shape = Shape {
            low,
            first_write: vec![NONE; size],
            next: vec![NONE; n],
            balanced: vec![false; n],
            endless: vec![false; n],
        };
        let mut last_write = vec![NONE; size];
        // The open loops: `[`, position, tainted by an unbalanced loop inside.
        let mut open: Vec<(usize, i64, bool)> = Vec::new();
        let mut pos = 0i64;
        for (i, inst) in program.insts.iter().enumerate() {
            let slot = (pos - low) as usize;
            match inst.op {
                Op::Add { .. } | Op::In { .. } => {
                    match last_write[slot] {
                        NONE => shape.first_write[slot] = i as u32 + 1,
                        w => shape.next[w as usize - 1] = i as u32 + 1,
                    }
                    last_write[slot] = i as u32 + 1;
                }
                Op::Move(d) => pos += d as i64,
                Op::Loop { .. } => open.push((i, pos, false)),
                Op::EndLoop => {
                    let (start, at, tainted) = open.pop().expect("a parsed program is balanced");
                    let balanced = pos == at && !tainted;
                    if !balanced {
                        if let Some(parent) = open.last_mut() {
                            parent.2 = true;
                        }
                    }
                    shape.balanced[start] = balanced;
                    shape.endless[start] = balanced && last_write[(at - low) as usize] <= start as u32;
                    (shape.next[start], shape.next[i]) = (i as u32 + 1, start as u32 + 1);
                    pos = at;
                }
                _ => {}
            }
        }
        shape
    }
}

/// What is known of one position, and since when: the instruction it was
/// learnt at (index + 1; 0 for the start of the program), how many loops
/// were open there, and the next write of the position after it.
#[derive(Debug, Clone, Copy, Default)]
struct Fact {
    /// Valid where it equals `Lint::generation`.
    stamp: u32,
    value: Known,
    since: u32,
    depth: u32,
    next_write: u32,
}

/// Is the loop entered when reached?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Its cell is known zero, or it is never reached.
    Never,
    Always,
    Maybe,
}

/// An open loop.
struct Frame {
    open: usize,
    /// The virtual pointer at the `[`.
    pos: i64,
    entry: Entry,
    /// A loop inside (the body is not straight-line).
    nested: bool,
    /// The body reads input.
    input: bool,
    /// For a straight-line body: its additions, by virtual position.
    adds: Vec<(i64, u8)>,
    /// At the start of the program, where all cells but those written so
    /// far are zero: the lowest and highest written.
    written: Option<(i64, i64)>,
}

struct Lint {
    shape: Shape,
    /// Bits of a cell.
    cell_bits: u32,
    tape: Hull,
    pos: i64,
    /// Per position, what is known.
    facts: Vec<Fact>,
    /// Forgetting everything is one increment.
    generation: u32,
    /// Per position, the last instruction so far that writes it.
    last_write: Vec<u32>,
    /// Per loop depth, the last `]` that closed a loop at that depth: what
    /// was learnt inside a loop since closed is forgotten.
    closed: Vec<u32>,
    /// The virtual pointer is the real one, and the cells no fact is known
    /// of are zero unless written: from the start of the program until the
    /// first loop that leaves the pointer elsewhere.
    concrete: bool,
    /// The lowest and highest cell written while `concrete`.
    written: (i64, i64),
    /// The code here is never reached (after a loop that never ends, or a
    /// certain tape error).
    dead: bool,
    /// The frame depth of a loop never entered, while inside it: what is
    /// known is left as at its `[`.
    skipping: Option<usize>,
    /// The positions written in it: writes that never run.
    skipped_writes: Vec<i64>,
    /// The loop (its `[`) after which the next command is unreachable.
    pending: Option<usize>,
    frames: Vec<Frame>,
    found: Vec<Finding>,
}

impl Lint {
    fn new(program: &Program, tape: Hull) -> Lint {
        let shape = Shape::of(program);
        let size = shape.first_write.len();
        Lint {
            shape,
            cell_bits: 8,
            tape,
            pos: 0,
            facts: vec![Fact::default(); size],
            generation: 1,
            last_write: vec![NONE; size],
            closed: vec![NONE],
            concrete: true,
            written: (i64::MAX, i64::MIN),
            dead: false,
            skipping: None,
            skipped_writes: Vec::new(),
            pending: None,
            frames: Vec::new(),
            found: Vec::new(),
        }
    }

    fn slot(&self, pos: i64) -> usize {
        (pos - self.shape.low) as usize
    }

    fn live(&self) -> bool {
        !self.dead && self.skipping.is_none()
    }

    /// The first write of `pos` after the instructions seen so far.
    fn next_write(&self, pos: i64) -> u32 {
        let slot = self.slot(pos);
        match self.last_write[slot] {
            NONE => self.shape.first_write[slot],
            w => self.shape.next[w as usize - 1],
        }
    }

    /// What is known of the cell at `pos` when instruction `i` runs.
    fn get(&self, i: usize, pos: i64) -> Known {
        let slot = self.slot(pos);
        let fact = self.facts[slot];
        let fact = if fact.stamp == self.generation {
            fact
        } else if self.concrete {
            Fact { stamp: self.generation, value: 0, since: NONE, depth: 0, next_write: self.shape.first_write[slot] }
        } else {
            return UNKNOWN;
        };
        // Learnt inside a loop that has ended since.
        if self.closed.get(fact.depth as usize).is_some_and(|&closed| closed > fact.since) {
            return UNKNOWN;
        }
        // Written after it was learnt and before here, or anywhere in a loop
        // entered since that holds here (it may run again).
        let entered_since = self.frames.partition_point(|f| (f.open as u32) < fact.since);
        let horizon = match self.frames.get(entered_since) {
            Some(frame) => self.shape.next[frame.open],
            None => i as u32 + 1,
        };
        if fact.next_write != NONE && fact.next_write < horizon {
            return UNKNOWN;
        }
        fact.value
    }

    /// Learns `value` of the cell at `pos` at instruction `i`.
    fn set(&mut self, i: usize, pos: i64, value: Known) {
        let fact = Fact {
            stamp: self.generation,
            value,
            since: i as u32 + 1,
            depth: self.frames.len() as u32,
            next_write: self.next_write(pos),
        };
        let slot = self.slot(pos);
        self.facts[slot] = fact;
    }

    /// Forgets everything: the pointer is no longer where it was thought.
    fn forget(&mut self) {
        self.generation += 1;
        self.concrete = false;
    }

    /// The current cell is touched: off the tape, the program always stops
    /// here (where the cell's number is known and the code surely runs).
    /// False if it does.
    fn touch(&mut self, i: usize) -> bool {
        if self.concrete && self.frames.is_empty() && !self.tape.contains(self.pos) {
            let (tape, left) = (self.tape.spread() as i64 + 1, self.pos < self.tape.lo);
            self.found.push(Finding::Touches { at: i, cell: self.pos, tape, left });
            self.dead = true;
            return false;
        }
        true
    }

    fn write(&mut self, i: usize, value: Known) {
        let slot = self.slot(self.pos);
        self.last_write[slot] = i as u32 + 1;
        if self.concrete {
            self.written = (self.written.0.min(self.pos), self.written.1.max(self.pos));
        }
        if self.skipping.is_some() {
            self.skipped_writes.push(self.pos);
        } else if self.live() && self.touch(i) {
            self.set(i, self.pos, value);
        }
    }

    fn step(&mut self, i: usize, op: Op) {
        if let Some(after) = self.pending.take() {
            if op != Op::EndLoop {
                self.found.push(Finding::Unreachable { at: i, after });
            }
        }
        match op {
            Op::Add { val, .. } => {
                let pos = self.pos;
                let old = if self.live() { self.get(i, pos) } else { UNKNOWN };
                let new = match old {
                    256.. => UNKNOWN,
                    _ if self.cell_bits == 8 => (old as u8).wrapping_add(val) as Known,
                    _ => Known::try_from(old as i32 + val as i8 as i32).ok().filter(|&v| v < 256).unwrap_or(UNKNOWN),
                };
                if let Some(frame) = self.frames.last_mut().filter(|f| !f.nested) {
                    frame.adds.push((pos, val));
                }
                self.write(i, new);
            }
            Op::In { .. } => {
                if let Some(frame) = self.frames.last_mut() {
                    frame.input = true;
                }
                self.write(i, UNKNOWN);
            }
            Op::Out { .. } => {
                if self.live() {
                    self.touch(i);
                }
            }
            Op::Move(d) => self.pos += d as i64,
            // Reads only cells on the tape, never fails.
            Op::Dump => {}
            Op::Loop { .. } => self.open(i),
            Op::EndLoop => self.close(i),
            _ => unreachable!("a parsed program has only the eight commands"),
        }
    }

    fn open(&mut self, i: usize) {
        if let Some(parent) = self.frames.last_mut() {
            parent.nested = true;
            parent.adds = Vec::new();
        }
        let entry = if !self.live() || !self.touch(i) {
            Entry::Never
        } else {
            match self.get(i, self.pos) {
                0 => Entry::Never,
                UNKNOWN => Entry::Maybe,
                _ => Entry::Always,
            }
        };
        let written = self.concrete.then_some(self.written);
        self.frames.push(Frame {
            open: i,
            pos: self.pos,
            entry,
            nested: false,
            input: false,
            adds: Vec::new(),
            written,
        });
        match entry {
            Entry::Never if self.live() => self.skipping = Some(self.frames.len()),
            Entry::Never => {}
            Entry::Always | Entry::Maybe => {
                if !self.shape.balanced[i] {
                    self.forget();
                }
                self.set(i, self.pos, NONZERO);
            }
        }
    }

    fn close(&mut self, i: usize) {
        let depth = self.frames.len();
        let frame = self.frames.pop().expect("a parsed program is balanced");
        if self.closed.len() <= depth {
            self.closed.resize(depth + 1, NONE);
        }
        self.closed[depth] = i as u32 + 1;
        let stride = self.pos - frame.pos;
        self.pos = frame.pos;
        if frame.entry == Entry::Never {
            if self.skipping == Some(depth) {
                self.skipping = None;
                self.skip_writes(frame.open);
            }
            return;
        }
        // The body never gets back here: it reaches a loop that never ends.
        let body_dead = self.dead;
        let endless = self.shape.endless[frame.open];
        let balanced = self.shape.balanced[frame.open];
        let walks = !balanced && self.walks(&frame, stride);
        if endless && !body_dead {
            self.found.push(Finding::Endless { open: frame.open });
        }
        if walks {
            self.found.push(Finding::Walks { open: frame.open, stride });
        }
        self.dead = false;
        if (endless || walks || body_dead) && frame.entry == Entry::Always {
            self.dead = true;
            if !walks {
                self.pending = Some(frame.open);
            }
        } else {
            if !balanced {
                self.forget();
            }
            self.set(i, frame.pos, 0);
        }
    }

    /// After a loop never entered (from `open`): its writes never run, so
    /// what was known before it still holds after it, until the next write
    /// that may run.
    fn skip_writes(&mut self, open: usize) {
        for pos in std::mem::take(&mut self.skipped_writes) {
            let slot = self.slot(pos);
            let mut fact = self.facts[slot];
            if fact.stamp != self.generation {
                if !self.concrete {
                    continue;
                }
                let first_write = self.shape.first_write[slot];
                fact = Fact { stamp: self.generation, value: 0, since: NONE, depth: 0, next_write: first_write };
            }
            if fact.next_write > open as u32 {
                fact.next_write = self.next_write(pos);
                self.facts[slot] = fact;
            }
        }
    }

    /// Does a loop always entered walk off the tape: a straight-line body,
    /// reading no input, that moves the pointer by `stride`, writes only
    /// cells between where it starts and where it ends (each iteration its
    /// own), all zero at the start, and leaves the cell it ends on nonzero?
    fn walks(&self, frame: &Frame, stride: i64) -> bool {
        let Some((lo, hi)) = frame.written else { return false };
        if frame.entry != Entry::Always || frame.nested || frame.input || frame.adds.is_empty() {
            return false;
        }
        let ahead = |&&(pos, _): &&(i64, u8)| {
            let r = pos - frame.pos;
            if stride > 0 {
                0 < r && r <= stride
            } else {
                stride <= r && r < 0
            }
        };
        let first =
            |pos: i64| frame.adds.iter().map(|&(p, _)| p).fold(pos, if stride > 0 { i64::min } else { i64::max });
        let untouched = if stride > 0 { hi < first(i64::MAX) } else { lo > first(i64::MIN) };
        let end = frame.pos + stride;
        // The sum of the adds modulo 2^bits: signed steps (`ir::widen`).
        let sum = frame.adds.iter().filter(|&&(pos, _)| pos == end).map(|&(_, v)| crate::ir::widen(v) as i32 as i64);
        let sum = sum.sum::<i64>().rem_euclid(1 << self.cell_bits);
        frame.adds.iter().all(|a| ahead(&a)) && untouched && sum != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    /// Each warning's code, line and column.
    fn warnings(src: &str) -> Vec<(&'static str, usize, usize)> {
        let program = parse("t.b", src.as_bytes()).unwrap();
        check("t.b", src.as_bytes(), &program, Hull::tape(65536, 0))
            .iter()
            .map(|d| {
                let at = d.location.as_ref().unwrap();
                (d.code, at.pos.line, at.pos.col)
            })
            .collect()
    }

    #[test]
    fn loops_that_never_end_once_entered() {
        assert_eq!(warnings(",[]"), [(ENDLESS_LOOP, 1, 2)]);
        assert_eq!(warnings(",[.]"), [(ENDLESS_LOOP, 1, 2)]);
        assert_eq!(warnings(",[>+<]"), [(ENDLESS_LOOP, 1, 2)]);
        assert_eq!(warnings(",[>[-]<]"), [(ENDLESS_LOOP, 1, 2)]);
        assert_eq!(warnings(",[>,<<+>]"), [(ENDLESS_LOOP, 1, 2)]);
        // Inside another loop too.
        assert_eq!(warnings(",[>,[.]<-]"), [(ENDLESS_LOOP, 1, 5)]);
    }

    /// 256 `+` leave 0 at 8 bits (a loop never entered), 256 at 16.
    #[test]
    fn wide_cells_do_not_wrap_at_256() {
        let src = format!("{}[]", "+".repeat(256));
        let at =
            |bits| check_cells("t.b", src.as_bytes(), &parse("t.b", src.as_bytes()).unwrap(), Hull::tape(64, 0), bits);
        assert!(at(8).is_empty());
        assert_eq!(at(16).iter().map(|d| d.code).collect::<Vec<_>>(), [ENDLESS_LOOP]);
    }

    #[test]
    fn loops_that_end_or_may_end_are_fine() {
        for ok in [",[-]", ",[,]", ",[>]", ",[>-<[-]]", ",[[-]]", ",[>[<->-]<]", ",[>[<]+<-]"] {
            assert_eq!(warnings(ok), [], "{ok}");
        }
    }

    #[test]
    fn loops_never_entered_are_comments() {
        assert_eq!(warnings("[comment, with . and ,]+."), []);
        assert_eq!(warnings(",[-][comment.]"), []);
        assert_eq!(warnings("[-][.]"), []);
        assert_eq!(warnings("[-]>>+<<[+,>+<][.]>>[-]<[.]"), []);
        assert_eq!(warnings(",[>[-][.]<]"), [(ENDLESS_LOOP, 1, 2)]);
        // Known entered: the outer loop's body never ends.
        assert_eq!(warnings(",[>[-]<[.]]"), [(ENDLESS_LOOP, 1, 8)]);
        // What a loop does not write, it leaves known.
        assert_eq!(warnings(",[-]>>>[-]<<<[]"), []);
        assert_eq!(warnings("++[>+<-]>>[c]<<[c]"), []);
        assert_eq!(warnings("++[>+<-]>[-]>+<[c]"), []);
        assert_eq!(warnings("++[>+<-]>[c]"), [(ENDLESS_LOOP, 1, 10)]);
        assert_eq!(warnings(",[>>+<<[-]]>>[c]"), [(ENDLESS_LOOP, 1, 14)]);
        // Nor after a loop that leaves the pointer elsewhere.
        assert_eq!(warnings(",[<]>>>[c]"), [(ENDLESS_LOOP, 1, 8)]);
        // Not after a write or a move to a cell not known zero.
        assert_eq!(warnings(",[-]+[]"), [(ENDLESS_LOOP, 1, 6)]);
        assert_eq!(warnings(",[-]>>,<[.]"), []);
        assert_eq!(warnings(",[-]>>,[.]"), [(ENDLESS_LOOP, 1, 8)]);
        assert_eq!(warnings(",[-],[.]"), [(ENDLESS_LOOP, 1, 6)]);
        assert_eq!(warnings(",[>]>[.]"), [(ENDLESS_LOOP, 1, 6)]);
    }

    #[test]
    fn code_after_a_loop_always_entered_that_never_ends_is_unreachable() {
        assert_eq!(warnings("+[]>."), [(ENDLESS_LOOP, 1, 2), (UNREACHABLE_CODE, 1, 4)]);
        assert_eq!(warnings("+[]"), [(ENDLESS_LOOP, 1, 2)]);
        assert_eq!(warnings(",[-]+[>+<]\n-"), [(ENDLESS_LOOP, 1, 6), (UNREACHABLE_CODE, 2, 1)]);
        // Nothing more is said of the unreachable code.
        assert_eq!(warnings("+[]>[]<<+."), [(ENDLESS_LOOP, 1, 2), (UNREACHABLE_CODE, 1, 4)]);
        // A loop whose body always reaches one never ends either.
        assert_eq!(warnings("+[>+<[]]."), [(ENDLESS_LOOP, 1, 6), (UNREACHABLE_CODE, 1, 9)]);
        // Maybe entered: what follows may run.
        assert_eq!(warnings(",[].+"), [(ENDLESS_LOOP, 1, 2)]);
    }

    #[test]
    fn loops_that_walk_off_the_tape() {
        assert_eq!(warnings("+[>+]"), [(RUNS_OFF_TAPE, 1, 2)]);
        assert_eq!(warnings("+>>+<<[>>>-.]"), [(RUNS_OFF_TAPE, 1, 7)]);
        assert_eq!(warnings("[c]>+[<+]"), [(RUNS_OFF_TAPE, 1, 6)]);
        // Cells ahead written before: no claim.
        assert_eq!(warnings("+>>-<<[>+]"), []);
        // The next cell may be left zero, or the body reads.
        assert_eq!(warnings("+[>+-]"), []);
        assert_eq!(warnings("+[>,]"), []);
        assert_eq!(warnings(",[>+]"), []);
    }

    #[test]
    fn commands_that_always_touch_off_the_tape() {
        assert_eq!(warnings("<+"), [(RUNS_OFF_TAPE, 1, 2)]);
        assert_eq!(warnings("[comment]<<>.>."), [(RUNS_OFF_TAPE, 1, 13)]);
        assert_eq!(warnings("<>+<<[]"), [(RUNS_OFF_TAPE, 1, 6)]);
        let far = ">".repeat(65536) + "+";
        assert_eq!(warnings(&far), [(RUNS_OFF_TAPE, 1, 65537)]);
        assert_eq!(warnings(&far[1..]), []);
        // Not once the pointer is unknown.
        assert_eq!(warnings(",[<]<+"), []);
    }

    #[test]
    fn warnings_stop_at_the_limit_and_count_the_rest() {
        let src = ",[]".repeat(MAX_REPORTED + 3);
        let program = parse("t.b", src.as_bytes()).unwrap();
        let all = check("t.b", src.as_bytes(), &program, Hull::tape(65536, 0));
        assert_eq!(all.len(), MAX_REPORTED + 1);
        assert_eq!(
            (all[MAX_REPORTED].level, all[MAX_REPORTED].message.as_str()),
            (Level::Note, "3 more warnings not shown")
        );
    }

    #[test]
    fn the_texts() {
        let src = b"+[]\n>.";
        let program = parse("p.b", src).unwrap();
        let text: String = check("p.b", src, &program, Hull::tape(65536, 0))
            .iter()
            .map(|d| d.render(crate::diagnostic::Format::Human { colour: false }))
            .collect();
        assert_eq!(
            text,
            "p.b:1:2: warning: this loop never ends once entered\n  |\n1 | +[]\n  |  ^ its body leaves the pointer here and never changes this cell\n\
             p.b:2:1: warning: unreachable code\n  |\n2 | >.\n  | ^ never run: the loop at 1:2 is always entered and never ends\n"
        );
    }
}
