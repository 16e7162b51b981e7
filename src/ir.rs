//! The intermediate representation: a flat list of instructions, and its
//! printer (`--emit ir`).
//!
//! Loops are bracket instructions in the list, not nested trees, so no stage
//! needs recursion and 100,000-deep nesting costs nothing but a `Vec` of
//! indices. Cell offsets are relative to the data pointer, which only
//! `Move`, `Scan` and loop boundaries change.
//!
//! Semantics every stage agrees on: 8-bit wrapping cells; touching (reading,
//! writing or testing) a cell outside the tape is an error, moving the
//! pointer there is not.

use std::fmt::Write as _;

/// One operation. `off` fields are cell offsets from the data pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `cell[off] += val` (wrapping).
    Add { off: i32, val: u8 },
    /// `cell[off] = val`.
    Set { off: i32, val: u8 },
    /// `cell[off] += cell[src] * factor` (wrapping): one target of a
    /// multiply loop.
    AddMul { off: i32, src: i32, factor: u8 },
    /// `ptr += delta`. Touches nothing.
    Move(i32),
    /// Append `cell[off]` to the output.
    Out { off: i32 },
    /// `cell[off] =` next input byte (at end of input: see `EofMode`).
    In { off: i32 },
    /// `while cell[off] != 0 {` (tested at each iteration with the pointer
    /// as it is then). Loops whose body leaves the pointer where it was test
    /// a cell by offset, so the pointer need not move to run them.
    Loop { off: i32 },
    /// `}` of a `Loop`: tests the `Loop`'s cell again.
    EndLoop,
    /// `if cell[off] != 0 {`: a loop whose body provably runs at most once.
    If { off: i32 },
    /// `}` of an `If`.
    EndIf,
    /// `while cell[0] != 0 { ptr += stride }`.
    Scan { stride: i32 },
    /// Append `len` bytes of `Program::data` from `start` to the output:
    /// output computed at compile time.
    Print { start: u32, len: u32 },
    /// A switch on the value `v` of `cell[src]`, by tables: for each of the
    /// `cells` entries of `Program::data` at `start` (see `SwitchCell`), in
    /// order, `if touch[v] { cell[off] = (cell[off] & keep[v]) + add[v] }`.
    /// `cell[src]` is read first. What a chain of nested ifs on one counter
    /// becomes (`opt::switch_tables`, the last pass: no pass meets it).
    Switch { src: i32, start: u32, cells: u16 },
    /// `if` the `Shortcut` encoded in `Program::data` at `start` applies
    /// here (its cells are on the tape and its `zeros` hold zero): make its
    /// changes, move the pointer by its `delta` and go on after the
    /// matching `EndShortcut`; otherwise run the body, the code the
    /// shortcut stands for. What `opt::shortcuts`, the last pass, makes.
    Shortcut { start: u32 },
    /// `}` of a `Shortcut`.
    EndShortcut,
}

/// What a stretch of code does when some cells hold zero as it starts
/// (`opt::shortcuts`), as `Op::Shortcut` finds it in `Program::data`.
/// Offsets are from the pointer where the shortcut starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    /// The cells that must be zero, ascending.
    pub zeros: Vec<i32>,
    /// The lowest and the highest cell the code touches: all must be on
    /// the tape for the shortcut to apply.
    pub reach: (i32, i32),
    /// The cells it changes, ascending, each set or added to.
    pub changes: Vec<(i32, Change)>,
    /// How far it moves the pointer.
    pub delta: i32,
}

/// What a `Shortcut` does to one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Set(u8),
    Add(u8),
}

impl Shortcut {
    /// Appends the shortcut's bytes to `data` (little-endian: counts, reach,
    /// delta, zeros, then each change as offset, kind and value).
    pub fn encode(&self, data: &mut Vec<u8>) {
        data.extend((self.zeros.len() as u32).to_le_bytes());
        data.extend((self.changes.len() as u32).to_le_bytes());
        for word in [self.reach.0, self.reach.1, self.delta].into_iter().chain(self.zeros.iter().copied()) {
            data.extend(word.to_le_bytes());
        }
        for &(off, change) in &self.changes {
            data.extend(off.to_le_bytes());
            data.extend(match change {
                Change::Set(v) => [0, v],
                Change::Add(v) => [1, v],
            });
        }
    }

    /// The shortcut whose bytes start `data`.
    pub fn decode(data: &[u8]) -> Shortcut {
        let word = |at: usize| i32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        let (zeros, changes) = (word(0) as usize, word(4) as usize);
        let changes_at = 20 + 4 * zeros;
        Shortcut {
            zeros: (0..zeros).map(|k| word(20 + 4 * k)).collect(),
            reach: (word(8), word(12)),
            delta: word(16),
            changes: (0..changes)
                .map(|k| {
                    let at = changes_at + 6 * k;
                    let value = data[at + 5];
                    (word(at), if data[at + 4] == 0 { Change::Set(value) } else { Change::Add(value) })
                })
                .collect(),
        }
    }

    /// How the code tests `zeros`: loads of 1, 2, 4 or 8 cells, each
    /// `(first cell, cells, mask of the bytes that must be zero)`. Every
    /// load lies within `reach`, whose cells the code has checked are on
    /// the tape.
    pub fn zero_tests(&self) -> Vec<(i32, u32, u64)> {
        let span = (self.reach.1 as i64 - self.reach.0 as i64 + 1).clamp(1, 8) as u32;
        let size = 1u32 << (31 - span.leading_zeros());
        let mut tests = Vec::new();
        let mut rest = &self.zeros[..];
        while let Some(&first) = rest.first() {
            let at = first.min(self.reach.1 - (size as i32 - 1)).max(self.reach.0);
            let covered = rest.iter().take_while(|&&z| z < at + size as i32).count();
            let mask = rest[..covered].iter().fold(0u64, |mask, &z| mask | 0xff << (8 * (z - at)));
            tests.push((at, size, mask));
            rest = &rest[covered..];
        }
        tests
    }
}

/// One cell of an `Op::Switch` as it lies in `Program::data`: its offset
/// (little-endian `i32`) and three tables indexed by the switch value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchCell<'a> {
    pub off: i32,
    /// Nonzero where the cell is touched (as the ifs touched it).
    pub touch: &'a [u8; 256],
    /// 0x00 where the cell is set, 0xff where it is added to.
    pub keep: &'a [u8; 256],
    pub add: &'a [u8; 256],
}

impl SwitchCell<'_> {
    /// Bytes of one cell in `Program::data`.
    pub const SIZE: usize = 4 + 3 * 256;
    /// Where its tables start within those bytes.
    pub const TOUCH: usize = 4;
    pub const KEEP: usize = 4 + 256;
    pub const ADD: usize = 4 + 512;

    /// Appends the cell's bytes to `data`.
    pub fn encode(&self, data: &mut Vec<u8>) {
        data.extend(self.off.to_le_bytes());
        data.extend(self.touch);
        data.extend(self.keep);
        data.extend(self.add);
    }
}

impl Op {
    /// Opens a block that a later instruction closes.
    pub fn opens(self) -> bool {
        matches!(self, Op::Loop { .. } | Op::If { .. } | Op::Shortcut { .. })
    }

    /// Closes the innermost open block.
    pub fn closes(self) -> bool {
        matches!(self, Op::EndLoop | Op::EndIf | Op::EndShortcut)
    }

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

/// An instruction: an operation and the byte offset in the source of the
/// command it came from (the first one, when several were combined).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inst {
    pub op: Op,
    pub at: u32,
}

impl Inst {
    pub fn new(op: Op, at: u32) -> Inst {
        Inst { op, at }
    }
}

/// What `,` stores when the input is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EofMode {
    /// Leave the cell as it was.
    #[default]
    Unchanged,
    /// Store 0.
    Zero,
    /// Store 255.
    MinusOne,
}

/// A whole program. Blocks (`Loop`/`EndLoop`, `If`/`EndIf`) are balanced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Program {
    pub insts: Vec<Inst>,
    /// Bytes referenced by `Op::Print`, `Op::Switch` and `Op::Shortcut`.
    pub data: Vec<u8>,
}

impl Program {
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.insts.iter().map(|i| i.op)
    }

    /// The cells of the `Op::Switch` whose tables start at `start`.
    pub fn switch_cells(&self, start: u32, cells: u16) -> impl Iterator<Item = SwitchCell<'_>> {
        let bytes = &self.data[start as usize..start as usize + cells as usize * SwitchCell::SIZE];
        bytes.chunks_exact(SwitchCell::SIZE).map(|b| {
            let table = |at: usize| b[at..at + 256].try_into().expect("256 bytes");
            SwitchCell {
                off: i32::from_le_bytes(b[..4].try_into().expect("4 bytes")),
                touch: table(SwitchCell::TOUCH),
                keep: table(SwitchCell::KEEP),
                add: table(SwitchCell::ADD),
            }
        })
    }

    /// The `Op::Shortcut` whose bytes start at `start`.
    pub fn shortcut(&self, start: u32) -> Shortcut {
        Shortcut::decode(&self.data[start as usize..])
    }

    /// For every instruction that opens or closes a block, the index of its
    /// partner; `usize::MAX` elsewhere.
    pub fn block_partners(&self) -> Vec<usize> {
        let mut partner = vec![usize::MAX; self.insts.len()];
        let mut open = Vec::new();
        for (i, inst) in self.insts.iter().enumerate() {
            if inst.op.opens() {
                open.push(i);
            } else if inst.op.closes() {
                let start = open.pop().expect("unbalanced IR");
                partner[start] = i;
                partner[i] = start;
            }
        }
        assert!(open.is_empty(), "unbalanced IR");
        partner
    }

    /// Human-readable listing: one instruction a line, indented by nesting,
    /// with the source position it came from.
    pub fn display(&self, source: &[u8]) -> String {
        let mut out = String::new();
        let mut depth = 0usize;
        // Start offsets of the lines, for positions by binary search.
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(source.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1))
            .collect();
        let position = |at: usize| {
            let line = line_starts.partition_point(|&start| start <= at);
            (line, at - line_starts[line - 1] + 1)
        };
        for inst in &self.insts {
            if inst.op.closes() {
                depth = depth.saturating_sub(1);
            }
            let text = self.op_text(inst.op);
            let (l, c) = position(inst.at as usize);
            let indent = 2 * depth.min(40);
            let _ = writeln!(out, "{:indent$}{text:<width$} ; {l}:{c}", "", width = 32usize.saturating_sub(indent));
            if inst.op.opens() {
                depth += 1;
            }
        }
        out
    }

    fn op_text(&self, op: Op) -> String {
        let cell = |off: i32| if off == 0 { "[p]".to_string() } else { format!("[p{off:+}]") };
        match op {
            Op::Add { off, val } => format!("add  {}", added(&cell(off), val)),
            Op::Set { off, val } => format!("set  {} = {val}", cell(off)),
            Op::AddMul { off, src, factor } => format!("mul  {} += {} * {factor}", cell(off), cell(src)),
            Op::Move(d) => format!("move p {} {}", if d < 0 { '-' } else { '+' }, d.unsigned_abs()),
            Op::Out { off } => format!("out  {}", cell(off)),
            Op::In { off } => format!("in   {}", cell(off)),
            Op::Loop { off } => format!("loop while {} != 0", cell(off)),
            Op::EndLoop => "end loop".to_string(),
            Op::If { off } => format!("if {} != 0", cell(off)),
            Op::EndIf => "end if".to_string(),
            Op::Scan { stride } => format!("scan p {:+} until [p] == 0", stride),
            Op::Print { start, len } => {
                let bytes = &self.data[start as usize..(start + len) as usize];
                let shown: String =
                    bytes.iter().take(40).flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
                let more = if len > 40 { "..." } else { "" };
                format!("print {len} bytes \"{shown}{more}\"")
            }
            Op::Switch { src, start, cells } => {
                let targets: Vec<String> = self.switch_cells(start, cells).map(|c| cell(c.off)).collect();
                format!("switch on {}: {} by table", cell(src), targets.join(" "))
            }
            Op::Shortcut { start } => {
                let shortcut = self.shortcut(start);
                let zeros: Vec<String> = shortcut.zeros.iter().map(|&off| cell(off)).collect();
                let mut changes: Vec<String> = shortcut
                    .changes
                    .iter()
                    .map(|&(off, change)| match change {
                        Change::Set(v) => format!("{} = {v}", cell(off)),
                        Change::Add(v) => added(&cell(off), v),
                    })
                    .collect();
                if shortcut.delta != 0 {
                    changes.push(format!("p {:+}", shortcut.delta));
                }
                let changes = if changes.is_empty() { "nothing".to_string() } else { changes.join(", ") };
                format!("shortcut if {} == 0: {changes}; else", zeros.join(" "))
            }
            Op::EndShortcut => "end shortcut".to_string(),
        }
    }
}

/// `cell += val`, or `cell -= 256 - val` where that is shorter.
fn added(cell: &str, val: u8) -> String {
    if val < 128 {
        format!("{cell} += {val}")
    } else {
        format!("{cell} -= {}", 256 - val as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_match_nested_blocks() {
        let ops = [Op::Loop { off: 0 }, Op::If { off: 1 }, Op::EndIf, Op::EndLoop, Op::Loop { off: 0 }, Op::EndLoop];
        let p = Program { insts: ops.iter().map(|&op| Inst::new(op, 0)).collect(), data: vec![] };
        assert_eq!(p.block_partners(), vec![3, 2, 1, 0, 5, 4]);
    }

    #[test]
    fn shortcuts_round_trip_through_the_data() {
        let shortcut = Shortcut {
            zeros: vec![-3, 0, 7],
            reach: (-4, 9),
            changes: vec![(-4, Change::Add(255)), (2, Change::Set(202))],
            delta: -2,
        };
        let mut data = vec![1, 2, 3];
        shortcut.encode(&mut data);
        let p = Program { insts: vec![Inst::new(Op::Shortcut { start: 3 }, 0), Inst::new(Op::EndShortcut, 0)], data };
        assert_eq!(p.shortcut(3), shortcut);
        assert!(p.display(b"").starts_with("shortcut if [p-3] [p] [p+7] == 0: [p-4] -= 1, [p+2] = 202, p -2; else"));
    }

    #[test]
    fn zeros_are_tested_by_the_widest_loads_that_stay_within_reach() {
        let tests =
            |zeros: &[i32], reach| Shortcut { zeros: zeros.to_vec(), reach, changes: vec![], delta: 0 }.zero_tests();
        // Sixteen cells: two loads of 8.
        assert_eq!(tests(&(5..21).collect::<Vec<_>>(), (-1, 20)), [(5, 8, u64::MAX), (13, 8, u64::MAX)]);
        // A reach of 7: loads of 4, the second moved back to end in reach.
        assert_eq!(tests(&[1, 2, 3, 4, 5, 6], (0, 6)), [(1, 4, 0xffff_ffff), (3, 4, 0xffff_0000)]);
        // Only the bytes of the zeros are tested.
        assert_eq!(tests(&[0, 9], (0, 9)), [(0, 8, 0xff), (2, 8, 0xff << 56)]);
        assert_eq!(tests(&[0], (0, 0)), [(0, 1, 0xff)]);
    }

    #[test]
    fn display_indents_and_locates() {
        let src = b"+\n[-]";
        let p = Program {
            insts: vec![
                Inst::new(Op::Add { off: 0, val: 1 }, 0),
                Inst::new(Op::Loop { off: 0 }, 2),
                Inst::new(Op::Add { off: 0, val: 255 }, 3),
                Inst::new(Op::EndLoop, 4),
            ],
            data: vec![],
        };
        let text = p.display(src);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("add  [p] += 1") && lines[0].ends_with("; 1:1"));
        assert!(lines[2].starts_with("  add  [p] -= 1") && lines[2].ends_with("; 2:2"));
        assert!(lines[3].starts_with("end loop"));
    }
}
