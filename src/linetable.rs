//! The line table: which source position each piece of generated code
//! comes from, as rows `(code offset, source offset, line:column)` in
//! address order.
//!
//! Made from what the code generator already tells: where the code of
//! each command starts (`CompiledCode::positions`, which tape errors are
//! reported from too). Debug info (`dwarf`) writes it
//! as DWARF; anything else that turns a code address into a source place
//! can search it too ([`LineTable::row_at`]). Positions (`LineStarts`) are
//! shared with perf's map (`perfmap`). Knows neither DWARF nor x86.

use crate::code::{CodePosition, NO_POSITION};
use crate::error::Pos;

/// Where each line of a source starts, to find positions by binary search
/// (a position at a time from the start would be quadratic). Lines and
/// columns as in diagnostics (`Pos`): 1-based, in bytes, only LF ends a
/// line.
#[derive(Debug, Clone)]
pub struct LineStarts(Vec<usize>);

impl LineStarts {
    pub fn new(source: &[u8]) -> LineStarts {
        let after_newlines = source.iter().enumerate().filter(|&(_, &b)| b == b'\n').map(|(i, _)| i + 1);
        LineStarts(std::iter::once(0).chain(after_newlines).collect())
    }

    /// The position of byte `offset`.
    pub fn pos(&self, offset: usize) -> Pos {
        let line = self.0.partition_point(|&start| start <= offset);
        Pos { line, col: offset - self.0[line - 1] + 1 }
    }

    /// Line `line` (1-based) holds byte `offset`.
    fn holds(&self, line: usize, offset: usize) -> bool {
        line <= self.0.len() && self.0[line - 1] <= offset && self.0.get(line).is_none_or(|&next| offset < next)
    }
}

/// `LineStarts::pos` for offsets that mostly come in source order, as
/// the code's commands do: the line of the offset before is tried first,
/// then the one after it, before a search of all lines (which, for each
/// command of a big program, was a fifteenth of making its object).
pub struct LineCursor<'a> {
    lines: &'a LineStarts,
    line: usize,
}

impl<'a> LineCursor<'a> {
    pub fn new(lines: &'a LineStarts) -> LineCursor<'a> {
        LineCursor { lines, line: 1 }
    }

    /// The position of byte `offset`.
    pub fn pos(&mut self, offset: usize) -> Pos {
        if !self.lines.holds(self.line, offset) {
            self.line = match self.lines.holds(self.line + 1, offset) {
                true => self.line + 1,
                false => self.lines.0.partition_point(|&start| start <= offset),
            };
        }
        Pos { line: self.line, col: offset - self.lines.0[self.line - 1] + 1 }
    }
}

/// From `address` (an offset in the code) on, the code is the command at
/// byte `offset` of the source, at `pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub address: usize,
    pub offset: usize,
    pub pos: Pos,
}

/// The rows of a program's code, in increasing address order, and where
/// the code of no instruction starts (`end`: the exits and helpers after
/// the last instruction, which belong to no command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTable {
    pub rows: Vec<Row>,
    pub end: usize,
}

impl LineTable {
    /// The table of code whose commands start where `positions` (the code
    /// generator's `CompiledCode::positions`: in address order, one per
    /// address, copies of unrolled bodies and scans' later steps included)
    /// say; the first with `NO_POSITION` starts the exits (`end`). A row
    /// that would say again what the one before says is left out.
    pub fn new(positions: &[CodePosition], source: &[u8]) -> LineTable {
        let lines = LineStarts::new(source);
        let mut cursor = LineCursor::new(&lines);
        let mut rows: Vec<Row> = Vec::with_capacity(positions.len());
        let mut end = positions.last().map_or(0, |p| p.code as usize);
        for p in positions {
            if p.at == NO_POSITION {
                end = p.code as usize;
                break;
            }
            let (address, offset) = (p.code as usize, p.at as usize);
            let pos = cursor.pos(offset);
            if rows.last().is_none_or(|last| last.pos != pos) {
                rows.push(Row { address, offset, pos });
            }
        }
        LineTable { rows, end }
    }

    /// The row that covers code offset `address`: the last one at or
    /// before it, if `address` is in an instruction's code.
    pub fn row_at(&self, address: usize) -> Option<&Row> {
        if address >= self.end {
            return None;
        }
        let after = self.rows.partition_point(|row| row.address <= address);
        after.checked_sub(1).map(|i| &self.rows[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The positions of instructions at source offsets `ats` whose code
    /// starts at `marks` (then the exits), as the code generator notes
    /// them: the last of those at one address has it.
    fn positions(ats: &[u32], marks: &[usize]) -> Vec<CodePosition> {
        let mut out: Vec<CodePosition> = Vec::new();
        for (&at, &code) in ats.iter().chain([&NO_POSITION]).zip(marks) {
            match out.last_mut() {
                Some(last) if last.code as usize == code => last.at = at,
                _ => out.push(CodePosition { code: code as u32, at }),
            }
        }
        out
    }

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn positions_are_one_based_and_only_lf_ends_a_line() {
        let lines = LineStarts::new(b"ab\ncd\r\n\nx");
        let got: Vec<Pos> = [0, 1, 3, 5, 6, 7, 8].iter().map(|&o| lines.pos(o)).collect();
        assert_eq!(got, [pos(1, 1), pos(1, 2), pos(2, 1), pos(2, 3), pos(2, 4), pos(3, 1), pos(4, 1)]);
        assert_eq!(lines.pos(0), Pos::of_offset(b"ab\ncd\r\n\nx", 0));
        assert_eq!(lines.pos(8), Pos::of_offset(b"ab\ncd\r\n\nx", 8));
    }

    #[test]
    fn the_cursor_finds_what_a_search_finds_in_any_order() {
        let source = b"ab\ncd\r\n\n\nx\nlast line";
        let lines = LineStarts::new(source);
        let mut cursor = LineCursor::new(&lines);
        // In order, back, forward by one line, by several, to the end.
        let offsets = (0..source.len()).chain([3, 0, 8, 9, 2, 10, 12, 1, 20, 4]);
        for offset in offsets {
            assert_eq!(cursor.pos(offset), lines.pos(offset), "{offset}");
        }
    }

    #[test]
    fn one_row_per_instruction_at_its_mark() {
        let source = b"+>\n-<";
        let table = LineTable::new(&positions(&[0, 1, 3, 4], &[10, 14, 20, 24, 30]), source);
        let want = [
            Row { address: 10, offset: 0, pos: pos(1, 1) },
            Row { address: 14, offset: 1, pos: pos(1, 2) },
            Row { address: 20, offset: 3, pos: pos(2, 1) },
            Row { address: 24, offset: 4, pos: pos(2, 2) },
        ];
        assert_eq!(table, LineTable { rows: want.to_vec(), end: 30 });
    }

    #[test]
    fn instructions_without_code_leave_the_address_to_the_one_with_code() {
        // The second and third instructions made no code.
        let table = LineTable::new(&positions(&[0, 5, 7, 9], &[0, 4, 4, 4, 8]), b"+....>.>.>");
        let addresses: Vec<(usize, usize)> = table.rows.iter().map(|r| (r.address, r.offset)).collect();
        assert_eq!(addresses, [(0, 0), (4, 9)]);
    }

    #[test]
    fn a_row_that_repeats_the_position_before_is_left_out() {
        // Two instructions from one command (a switch and its table, say).
        let table = LineTable::new(&positions(&[2, 2, 3], &[0, 4, 9, 12]), b"  +>");
        let addresses: Vec<usize> = table.rows.iter().map(|r| r.address).collect();
        assert_eq!(addresses, [0, 9]);
    }

    #[test]
    fn addresses_find_the_row_that_covers_them() {
        let table = LineTable::new(&positions(&[0, 3], &[5, 9, 20]), b"+\n\n>");
        assert_eq!(table.row_at(4), None, "before the first instruction");
        assert_eq!(table.row_at(5).map(|r| r.offset), Some(0));
        assert_eq!(table.row_at(8).map(|r| r.offset), Some(0));
        assert_eq!(table.row_at(19).map(|r| r.pos), Some(pos(3, 1)));
        assert_eq!(table.row_at(20), None, "the exits after the last instruction");
    }

    #[test]
    fn an_empty_program_has_no_rows() {
        assert_eq!(LineTable::new(&positions(&[], &[40]), b""), LineTable { rows: vec![], end: 40 });
    }
}
