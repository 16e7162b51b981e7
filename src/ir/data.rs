//! The encoded data of `Op::Shortcut` and `Op::Switch`: how a shortcut
//! and a switch's tables lie in `Program::data`, written by the passes that
//! make them (`opt::shortcuts`, `opt::switch_tables`) and read by everyone
//! else. Every offset into those bytes is named here.
//!
//! Owns the layout only: what a shortcut or a switch means is said at
//! `Op`; how the code generator tests a shortcut's zeros is x64's choice
//! (`x64::select`), and this file knows nothing of it beyond the widest
//! load it may make (`Shortcut::ZERO_TEST_CELLS`).

use super::{Inst, Op, Program};

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
    /// A divmod loop's closed form, made as well as the changes
    /// (`opt::divmod`).
    pub divmod: Option<DivMod>,
}

/// The closed form of the divmod loop of esolangs' algorithm,
/// `[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]` on `n 0 d 0 0 0 0`: each of its
/// `n` iterations (the loop's cell, offset 0) adds 1 to `copy` (if any)
/// and steps a counter that runs `count` down and `rest` up and, when
/// `count` reaches 0, starts it again at `rest + 1`, clears `rest` and adds
/// 1 to `quotient`. `count + rest` stays the same (S); with S = 1 (mod 256)
/// the restart would leave the pointer elsewhere, so the closed form
/// applies only where no restart comes or S is not 1 (else the loop runs).
/// Offsets from the loop's cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DivMod {
    pub copy: Option<i32>,
    pub count: i32,
    pub rest: i32,
    pub quotient: i32,
}

impl DivMod {
    /// What `n` iterations leave in (`count`, `rest`) and add to
    /// `quotient`, from `count` and `rest`; None where the loop does not
    /// run as the closed form says (a restart with S = 1).
    pub fn run(n: u8, count: u8, rest: u8) -> Option<(u8, u8, u8)> {
        let n = u32::from(n);
        // Iterations to the first restart, and between restarts.
        let first = if count == 0 { 256 } else { u32::from(count) };
        let sum = count.wrapping_add(rest);
        let period = if sum == 0 { 256 } else { u32::from(sum) };
        if n < first {
            return Some((count.wrapping_sub(n as u8), rest.wrapping_add(n as u8), 0));
        }
        if sum == 1 {
            return None;
        }
        let (restarts, after) = (1 + (n - first) / period, (n - first) % period);
        Some(((period - after) as u8, after as u8, restarts as u8))
    }
}

/// What a `Shortcut` does to one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Set(u8),
    Add(u8),
}

/// Where the fields of a shortcut lie in its bytes: a header of five
/// little-endian words, the zeros (a word each), then the changes.
mod layout {
    pub const ZEROS_COUNT: usize = 0;
    pub const CHANGES_COUNT: usize = 4;
    pub const REACH_LO: usize = 8;
    pub const REACH_HI: usize = 12;
    pub const DELTA: usize = 16;
    /// A divmod's form: a word saying whether there is one, then its copy
    /// (`NO_CELL` for none), count, rest and quotient.
    pub const DIVMOD: usize = 20;
    pub const NO_CELL: i32 = i32::MIN;
    /// The first zero; each takes a word.
    pub const ZEROS: usize = 40;
    pub const ZERO_SIZE: usize = 4;
    /// A change: its cell (a word), its kind (`SET` or `ADD`), its value.
    pub const CHANGE_SIZE: usize = 6;
    pub const CHANGE_KIND: usize = 4;
    pub const CHANGE_VALUE: usize = 5;
    pub const SET: u8 = 0;
    pub const ADD: u8 = 1;
}

impl Shortcut {
    /// The most cells one test of the zeros may cover: code tests them
    /// with loads of 1, 2, 4 or 8 cells.
    pub const ZERO_TEST_CELLS: u32 = 8;

    /// `code` (whole blocks, and straight-line code) held by the
    /// shortcut, its form added to `data`: `Shortcut`, the code,
    /// `EndShortcut`, at the commands of the code's first and last
    /// instructions.
    pub fn wrap(&self, code: &[Inst], data: &mut Vec<u8>, out: &mut Vec<Inst>) {
        let start = u32::try_from(data.len()).expect("program data under 4 GiB");
        self.encode(data);
        out.push(Inst::new(Op::Shortcut { start }, code[0].at));
        out.extend_from_slice(code);
        out.push(Inst::new(Op::EndShortcut, code[code.len() - 1].at));
    }

    /// Appends the shortcut's bytes to `data` (see `layout`).
    pub fn encode(&self, data: &mut Vec<u8>) {
        data.extend((self.zeros.len() as u32).to_le_bytes());
        data.extend((self.changes.len() as u32).to_le_bytes());
        let divmod = match self.divmod {
            Some(d) => [1, d.copy.unwrap_or(layout::NO_CELL), d.count, d.rest, d.quotient],
            None => [0; 5],
        };
        let header = [self.reach.0, self.reach.1, self.delta].into_iter().chain(divmod);
        for word in header.chain(self.zeros.iter().copied()) {
            data.extend(word.to_le_bytes());
        }
        for &(off, change) in &self.changes {
            data.extend(off.to_le_bytes());
            data.extend(match change {
                Change::Set(v) => [layout::SET, v],
                Change::Add(v) => [layout::ADD, v],
            });
        }
    }

    /// The shortcut whose bytes start `data`.
    pub fn decode(data: &[u8]) -> Shortcut {
        use layout::*;
        let word = |at: usize| i32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        let (zeros, changes) = (word(ZEROS_COUNT) as usize, word(CHANGES_COUNT) as usize);
        let changes_at = ZEROS + ZERO_SIZE * zeros;
        let divmod = (word(DIVMOD) != 0).then(|| DivMod {
            copy: Some(word(DIVMOD + 4)).filter(|&cell| cell != NO_CELL),
            count: word(DIVMOD + 8),
            rest: word(DIVMOD + 12),
            quotient: word(DIVMOD + 16),
        });
        Shortcut {
            zeros: (0..zeros).map(|k| word(ZEROS + ZERO_SIZE * k)).collect(),
            reach: (word(REACH_LO), word(REACH_HI)),
            delta: word(DELTA),
            divmod,
            changes: (0..changes)
                .map(|k| {
                    let at = changes_at + CHANGE_SIZE * k;
                    let value = data[at + CHANGE_VALUE];
                    let change = if data[at + CHANGE_KIND] == SET { Change::Set(value) } else { Change::Add(value) };
                    (word(at), change)
                })
                .collect(),
        }
    }

    /// How many cells one test of the zeros covers: the most, a power of
    /// two up to `ZERO_TEST_CELLS`, that fit within `reach` (a test may
    /// load only cells the code has checked are on the tape).
    pub fn zero_test_width(&self) -> u32 {
        let span = (self.reach.1 as i64 - self.reach.0 as i64 + 1).clamp(1, Self::ZERO_TEST_CELLS as i64) as u32;
        1 << (31 - span.leading_zeros())
    }

    /// How many tests of `zero_test_width` cells the zeros need: the limit
    /// a pass asks to keep a shortcut's test short.
    pub fn zero_tests_needed(&self) -> usize {
        let width = self.zero_test_width() as i64;
        let mut tests = 0;
        let mut covered_to = i64::MIN;
        for &zero in &self.zeros {
            if zero as i64 >= covered_to {
                tests += 1;
                covered_to = zero as i64 + width;
            }
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
    /// The source offset of the command of the chain that touches the cell
    /// first (in the text), where a tape error at the cell is reported.
    pub at: u32,
}

impl SwitchCell<'_> {
    /// Bytes of one cell in `Program::data`.
    pub const SIZE: usize = 4 + 3 * 256 + 4;
    /// Where its tables start within those bytes.
    pub const TOUCH: usize = 4;
    pub const KEEP: usize = 4 + 256;
    pub const ADD: usize = 4 + 512;
    pub const AT: usize = 4 + 768;

    /// Appends the cell's bytes to `data`.
    pub fn encode(&self, data: &mut Vec<u8>) {
        data.extend(self.off.to_le_bytes());
        data.extend(self.touch);
        data.extend(self.keep);
        data.extend(self.add);
        data.extend(self.at.to_le_bytes());
    }

    /// Whether the switch touches the cell and sets it (keeps nothing of
    /// its value) for every value of its counter.
    pub fn set_for_every_value(&self) -> bool {
        self.touch.iter().all(|&t| t != 0) && self.keep.iter().all(|&k| k == 0)
    }
}

impl<'a> SwitchCell<'a> {
    /// The cell whose `SIZE` bytes start `bytes`.
    pub fn decode(bytes: &'a [u8]) -> SwitchCell<'a> {
        let table = |at: usize| bytes[at..at + 256].try_into().expect("256 bytes");
        SwitchCell {
            off: i32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")),
            touch: table(SwitchCell::TOUCH),
            keep: table(SwitchCell::KEEP),
            add: table(SwitchCell::ADD),
            at: u32::from_le_bytes(bytes[SwitchCell::AT..SwitchCell::SIZE].try_into().expect("4 bytes")),
        }
    }

    /// The cells of the `Op::Switch` whose `cells` cells' tables start at
    /// `start` in `data` (`Program::data`).
    pub fn all_in(data: &'a [u8], start: u32, cells: u16) -> impl Iterator<Item = SwitchCell<'a>> {
        let bytes = &data[start as usize..start as usize + cells as usize * SwitchCell::SIZE];
        bytes.chunks_exact(SwitchCell::SIZE).map(SwitchCell::decode)
    }
}

impl Program {
    /// The cells of the `Op::Switch` whose tables start at `start`.
    pub fn switch_cells(&self, start: u32, cells: u16) -> impl Iterator<Item = SwitchCell<'_>> {
        SwitchCell::all_in(&self.data, start, cells)
    }

    /// The `Op::Shortcut` whose bytes start at `start`.
    pub fn shortcut(&self, start: u32) -> Shortcut {
        Shortcut::decode(&self.data[start as usize..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Inst, Op};

    #[test]
    fn shortcuts_round_trip_through_the_data() {
        let shortcut = Shortcut {
            zeros: vec![-3, 0, 7],
            reach: (-4, 9),
            changes: vec![(-4, Change::Add(255)), (2, Change::Set(202))],
            delta: -2,
            divmod: None,
        };
        let mut data = vec![1, 2, 3];
        shortcut.encode(&mut data);
        let p = Program { insts: vec![Inst::new(Op::Shortcut { start: 3 }, 0), Inst::new(Op::EndShortcut, 0)], data };
        assert_eq!(p.shortcut(3), shortcut);
        // A divmod's cells, with and without the copy.
        for copy in [Some(-1), None] {
            let divmod =
                Shortcut { divmod: Some(DivMod { copy, count: -2, rest: -3, quotient: -4 }), ..shortcut.clone() };
            let mut data = Vec::new();
            divmod.encode(&mut data);
            assert_eq!(Shortcut::decode(&data), divmod);
        }
        assert!(p.display(b"").starts_with("shortcut if [p-3] [p] [p+7] == 0: [p-4] -= 1, [p+2] = 202, p -2; else"));
    }

    /// The closed form against the loop's step, one iteration at a time,
    /// for every counter and remainder and dividends up to 255.
    #[test]
    fn a_divmod_is_its_steps() {
        for count in 0..=255u8 {
            for rest in 0..=255u8 {
                let (mut c, mut r, mut q, mut fails) = (count, rest, 0u8, false);
                for n in 0..=255u8 {
                    let closed = DivMod::run(n, count, rest);
                    assert_eq!(closed, (!fails).then_some((c, r, q)), "n {n} count {count} rest {rest}");
                    // One more iteration: the counter down, the rest up, or
                    // a restart from the rest (none from a rest of 0).
                    c = c.wrapping_sub(1);
                    if c != 0 {
                        r = r.wrapping_add(1);
                    } else if r == 0 {
                        fails = true;
                    } else {
                        (c, r, q) = (r.wrapping_add(1), 0, q.wrapping_add(1));
                    }
                }
            }
        }
    }

    #[test]
    fn zeros_are_tested_in_windows_as_wide_as_the_reach_allows() {
        let shortcut =
            |zeros: &[i32], reach| Shortcut { zeros: zeros.to_vec(), reach, changes: vec![], delta: 0, divmod: None };
        let needed = |zeros: &[i32], reach| shortcut(zeros, reach).zero_tests_needed();
        // Sixteen cells: two windows of 8.
        assert_eq!(shortcut(&[5], (-1, 20)).zero_test_width(), 8);
        assert_eq!(needed(&(5..21).collect::<Vec<_>>(), (-1, 20)), 2);
        // A reach of 7: windows of 4.
        assert_eq!(shortcut(&[1], (0, 6)).zero_test_width(), 4);
        assert_eq!(needed(&[1, 2, 3, 4, 5, 6], (0, 6)), 2);
        assert_eq!(needed(&[0, 9], (0, 9)), 2);
        assert_eq!(needed(&[0, 7], (0, 9)), 1);
        assert_eq!(needed(&[0, 8, 16], (0, 16)), 3);
        assert_eq!(needed(&[0], (0, 0)), 1);
        assert_eq!(needed(&[], (0, 0)), 0);
    }
}
