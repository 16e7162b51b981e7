//! The intermediate representation: a flat list of instructions (`Op`,
//! `Inst`, `Program`) and what every stage agrees they mean.
//!
//! Owns the types and their meaning. The printer is `display.rs`, the
//! layout of shortcuts and switch tables in `Program::data` is `data.rs`,
//! and the analyses that both the optimiser and the code generator ask
//! (cells touched, tape safety, balanced blocks) are `analysis.rs`. Knows
//! nothing of any pass or of x86.
//!
//! Loops are bracket instructions in the list, not nested trees, so no stage
//! needs recursion and 100,000-deep nesting costs nothing but a `Vec` of
//! indices. Cell offsets are relative to the data pointer, which only
//! `Move`, `Scan` and loop boundaries change.
//!
//! Semantics every stage agrees on: wrapping cells of 8 bits (or 16 or 32
//! with `--cell-bits`); touching (reading, writing or testing) a cell
//! outside the tape is an error, moving the pointer there is not.
//!
//! The values an instruction carries (`Add`'s `val`, `Set`'s, `AddMul`'s
//! `factor`, `Scan`'s `value`) are bytes, read as signed (`widen`) and
//! taken modulo 2^width: at 8 bits that is the byte itself, at 16 and 32
//! bits `Add { val: 255 }` is `-1`. Only passes that keep their values
//! within -128..=127 run at wider cells (`opt::passes`).

pub mod analysis;
mod data;
mod display;

pub use data::{Change, DivMod, Shortcut, SwitchCell};

/// The cell widths bfc compiles for (`--cell-bits`).
pub const CELL_BITS: [u32; 3] = [8, 16, 32];

/// An instruction's byte value as the cell value it stands for at any
/// width: sign-extended, then taken modulo 2^width by `cell_mask`.
#[inline]
pub fn widen(val: u8) -> u32 {
    val as i8 as i32 as u32
}

/// The bits a cell of `cell_bits` holds.
pub fn cell_mask(cell_bits: u32) -> u32 {
    u32::MAX >> (32 - cell_bits)
}

/// The inverse of an odd number modulo 256: how many times a loop adding
/// `odd` to its counter runs is `-x * inverse_mod_256(odd)`.
pub fn inverse_mod_256(odd: u8) -> u8 {
    // Newton's iteration doubles the correct low bits each step: 3 -> 6 -> 12.
    let mut x = odd;
    for _ in 0..3 {
        x = x.wrapping_mul(2u8.wrapping_sub(odd.wrapping_mul(x)));
    }
    x
}

/// One operation. `off` fields are cell offsets from the data pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `cell[off] += val` (wrapping).
    Add { off: i32, val: u8 },
    /// `cell[off] = val`.
    Set { off: i32, val: u8 },
    /// `cell[off] += cell[src] * factor` (wrapping): one target of a
    /// multiply loop. With `if_nonzero`, a zero `cell[src]` leaves
    /// `cell[off]` untouched, as the loop would (no tape error there): the
    /// multiply of a loop's iteration whose `If` `opt::walks` dropped,
    /// which code runs unguarded and skips where it faults on a zero
    /// source (docs/diagnostics.md).
    AddMul { off: i32, src: i32, factor: u8, if_nonzero: bool },
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
    /// `while cell[0] != value { ptr += stride }`: `[>]` and `[<<]` scan for
    /// 0; marker walks (`-[+>-]+`) for other values (`opt::value_scans`).
    Scan { stride: i32, value: u8 },
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
    /// `#` with `--hash-dump`: writes the pointer's cell number and the
    /// cells around it to stderr (`host::dump_line`), after the output
    /// before it. A barrier to every pass: the tape and the pointer here
    /// are the unoptimised program's (no move is deferred across it, no
    /// known value is left unwritten, no compile-time execution runs it),
    /// and a block holding one is not `balanced`.
    Dump,
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
}

/// An instruction: an operation and the byte offset in the source of the
/// command it came from (the first one, when several were combined).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inst {
    pub op: Op,
    pub at: u32,
    /// The command of the instruction's other touches, where they are not
    /// `at`'s: for a `Scan`, the command that touches each cell after the
    /// first (the `]` of `[>]`; the `-` of `-[+>-]`); for an `AddMul`, the
    /// one that reads `src` (the multiply loop's `[`, which tests it before
    /// the body touches the target at `at`). `at` elsewhere.
    pub next_at: u32,
}

impl Inst {
    pub fn new(op: Op, at: u32) -> Inst {
        Inst { op, at, next_at: at }
    }

    /// A scan whose first cell is touched at `at`, the others at `next_at`.
    pub fn scan(stride: i32, value: u8, at: u32, next_at: u32) -> Inst {
        Inst { op: Op::Scan { stride, value }, at, next_at }
    }

    /// `cell[off] += cell[src] * factor`, the target touched at `at`, the
    /// source read at `src_at`.
    pub fn multiply(off: i32, src: i32, factor: u8, at: u32, src_at: u32) -> Inst {
        Inst { op: Op::AddMul { off, src, factor, if_nonzero: false }, at, next_at: src_at }
    }

    /// This multiply, `if_nonzero`: its target touched only for a nonzero
    /// source. Other instructions as they are.
    pub fn if_nonzero(mut self) -> Inst {
        if let Op::AddMul { ref mut if_nonzero, .. } = self.op {
            *if_nonzero = true;
        }
        self
    }

    /// Each cell the instruction touches (`Op::cells_touched`), in the
    /// order it touches them, with the command that touches it first: a
    /// multiply reads its source before it writes its target.
    pub fn touches(self) -> impl Iterator<Item = (i32, u32)> {
        let read = match self.op {
            Op::AddMul { src, .. } => Some((src, self.next_at)),
            _ => None,
        };
        let rest = self.op.cells_touched().filter(move |&off| read.is_none_or(|(src, _)| off != src));
        read.into_iter().chain(rest.map(move |off| (off, self.at)))
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
    /// Store 255 (2^width - 1: all ones, at any width).
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverses() {
        for odd in (1..=255u8).step_by(2) {
            assert_eq!(odd.wrapping_mul(inverse_mod_256(odd)), 1, "{odd}");
        }
    }

    #[test]
    fn partners_match_nested_blocks() {
        let ops = [Op::Loop { off: 0 }, Op::If { off: 1 }, Op::EndIf, Op::EndLoop, Op::Loop { off: 0 }, Op::EndLoop];
        let p = Program { insts: ops.iter().map(|&op| Inst::new(op, 0)).collect(), data: vec![] };
        assert_eq!(p.block_partners(), vec![3, 2, 1, 0, 5, 4]);
    }

    #[test]
    fn a_multiply_touches_its_source_first_at_its_own_command() {
        let touches = |inst: Inst| inst.touches().collect::<Vec<_>>();
        assert_eq!(touches(Inst::multiply(3, -1, 2, 9, 4)), [(-1, 4), (3, 9)]);
        assert_eq!(touches(Inst::multiply(0, 0, 2, 9, 4)), [(0, 4)]);
        assert_eq!(touches(Inst::new(Op::If { off: 2 }, 7)), [(2, 7)]);
        assert_eq!(touches(Inst::new(Op::Move(2), 7)), []);
    }
}
