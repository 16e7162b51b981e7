//! `--perf-map`: perf's map of the JIT's code, so that `perf report`
//! names the program and its loops instead of showing bare addresses.
//!
//! perf reads `/tmp/perf-PID.map`, a line `START SIZE name` (hex, START
//! the code's address in memory) a symbol, when it meets samples in
//! anonymous executable memory. Symbols should not overlap (perf keeps the
//! first of two that do), so the code is cut into pieces, each named by
//! the innermost loop that holds it (`bf:prog.b:12:7 loop`, the place of
//! its `[`), the rest by the program (`bf:prog.b`).
//!
//! Owns the names and the file; takes the code's layout from the code
//! generator's marks (`x64::compile_marked`) and its address from the JIT.
//! Knows nothing of how either is made.

use std::io;
use std::path::PathBuf;

use crate::error::Pos;
use crate::ir::{Op, Program};
use crate::linetable::LineStarts;

/// A named piece of code; `start` is an offset in the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub start: usize,
    pub size: usize,
    pub name: String,
}

/// The pieces of the code of `program` (`marks`: where each instruction's
/// code starts, then where the code after them does; `code_len`: the
/// length of the code without its data), non-overlapping and in order;
/// `file` and `source` give the names.
pub fn symbols(program: &Program, marks: &[usize], code_len: usize, file: &str, source: &[u8]) -> Vec<Symbol> {
    let lines = LineStarts::new(source);
    let partner = program.block_partners();
    let end_of = |i: usize| marks.get(i + 1).copied().unwrap_or(code_len);
    // Each loop's code, outer before inner.
    let mut loops: Vec<(usize, usize, u32)> = Vec::new();
    for (i, inst) in program.insts.iter().enumerate() {
        let last = match inst.op {
            op if op.opens() => partner[i],
            Op::Scan { .. } => i,
            _ => continue,
        };
        loops.push((marks[i], end_of(last), inst.at));
    }
    loops.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));

    let whole = format!("bf:{file}");
    let mut pieces = Pieces { out: Vec::new(), cursor: 0 };
    // The pieces still open: where each ends, its name.
    let mut open: Vec<(usize, String)> = vec![(code_len, whole)];
    for (start, end, at) in loops {
        if start >= end {
            continue;
        }
        while open.last().is_some_and(|&(end, _)| end <= start) {
            let (end, name) = open.pop().expect("checked");
            pieces.up_to(end, &name);
        }
        let Some((outer_end, outer)) = open.last() else { break };
        if end > *outer_end {
            continue; // not nested: never made by the code generator
        }
        pieces.up_to(start, outer);
        let Pos { line, col } = lines.pos(at as usize);
        open.push((end, format!("bf:{file}:{line}:{col} loop")));
    }
    while let Some((end, name)) = open.pop() {
        pieces.up_to(end, &name);
    }
    pieces.out
}

/// The pieces made so far and where the next starts.
struct Pieces {
    out: Vec<Symbol>,
    cursor: usize,
}

impl Pieces {
    /// The code from the cursor to `end`, if any, is `name`'s.
    fn up_to(&mut self, end: usize, name: &str) {
        if end > self.cursor {
            self.out.push(Symbol { start: self.cursor, size: end - self.cursor, name: name.to_string() });
            self.cursor = end;
        }
    }
}

/// The map's text for code at address `base`.
pub fn render(symbols: &[Symbol], base: usize) -> String {
    symbols.iter().map(|s| format!("{:x} {:x} {}\n", base + s.start, s.size, s.name)).collect()
}

/// Where perf looks for this process's map.
pub fn path() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// Writes the map of code at address `base` to `path()`, replacing any.
pub fn write(symbols: &[Symbol], base: usize) -> io::Result<()> {
    std::fs::write(path(), render(symbols, base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Inst;

    fn program(ops: &[(Op, u32)]) -> Program {
        Program { insts: ops.iter().map(|&(op, at)| Inst::new(op, at)).collect(), data: vec![] }
    }

    #[test]
    fn pieces_are_named_by_the_innermost_loop() {
        // +[>[-]<] at offsets 0..8 of "+[>[-]<]\n[<]".
        let source = b"+[>[-]<]\n[<]";
        let p = program(&[
            (Op::Add { off: 0, val: 1 }, 0),
            (Op::Loop { off: 0 }, 1),
            (Op::Move(1), 2),
            (Op::Set { off: 0, val: 0 }, 3),
            (Op::Move(-1), 6),
            (Op::EndLoop, 7),
            (Op::Scan { stride: -1, value: 0 }, 9),
        ]);
        let marks = [10, 12, 20, 22, 30, 32, 40, 50];
        let got: Vec<(usize, usize, String)> =
            symbols(&p, &marks, 60, "p.b", source).into_iter().map(|s| (s.start, s.size, s.name)).collect();
        let want = [(0, 12, "bf:p.b"), (12, 28, "bf:p.b:1:2 loop"), (40, 10, "bf:p.b:2:1 loop"), (50, 10, "bf:p.b")];
        assert_eq!(got, want.map(|(s, n, name)| (s, n, name.to_string())));
        let text = render(&symbols(&p, &marks, 60, "p.b", source), 0x1000);
        assert_eq!(text.lines().next(), Some("1000 c bf:p.b"));
    }

    #[test]
    fn nested_loops_split_their_outer_loop() {
        let source = b"[[]]";
        let p = program(&[(Op::Loop { off: 0 }, 0), (Op::Loop { off: 0 }, 1), (Op::EndLoop, 2), (Op::EndLoop, 3)]);
        let got: Vec<(usize, usize, String)> =
            symbols(&p, &[0, 4, 8, 12, 16], 20, "p.b", source).into_iter().map(|s| (s.start, s.size, s.name)).collect();
        let want =
            [(0, 4, "bf:p.b:1:1 loop"), (4, 8, "bf:p.b:1:2 loop"), (12, 4, "bf:p.b:1:1 loop"), (16, 4, "bf:p.b")];
        assert_eq!(got, want.map(|(s, n, name)| (s, n, name.to_string())));
    }
}
