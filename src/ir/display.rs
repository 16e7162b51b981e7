//! The IR's printer (`--emit ir`, `--emit passes`, and the notes of
//! `--emit asm`): one instruction a line, indented by nesting, with the
//! source position it came from.
//!
//! Owns only the text: it reads a program and never changes or judges it.

use std::fmt::Write as _;

use super::{Change, Op, Program};

impl Program {
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
            let _ = write!(out, "{:indent$}{text:<width$} ; {l}:{c}", "", width = 32usize.saturating_sub(indent));
            if matches!(inst.op, Op::Scan { .. }) && inst.next_at != inst.at {
                // Where the scan's later steps touch their cells. (A
                // multiply's read of its source is not shown: its `[`.)
                let (l, c) = position(inst.next_at as usize);
                let _ = write!(out, " then {l}:{c}");
            }
            out.push('\n');
            if inst.op.opens() {
                depth += 1;
            }
        }
        out
    }

    fn op_text(&self, op: Op) -> String {
        match op {
            Op::Add { off, val } => format!("add  {}", added(&cell(off), val)),
            Op::Set { off, val } => format!("set  {} = {val}", cell(off)),
            Op::AddMul { off, src, factor, if_nonzero } => {
                let guard = if if_nonzero { format!(" if {} != 0", cell(src)) } else { String::new() };
                format!("mul  {} += {} * {factor}{guard}", cell(off), cell(src))
            }
            Op::Move(d) => format!("move p {} {}", if d < 0 { '-' } else { '+' }, d.unsigned_abs()),
            Op::Out { off } => format!("out  {}", cell(off)),
            Op::In { off } => format!("in   {}", cell(off)),
            Op::Loop { off } => format!("loop while {} != 0", cell(off)),
            Op::EndLoop => "end loop".to_string(),
            Op::If { off } => format!("if {} != 0", cell(off)),
            Op::EndIf => "end if".to_string(),
            Op::Scan { stride, value } => format!("scan p {stride:+} until [p] == {value}"),
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
            Op::Shortcut { start } => self.shortcut_text(start),
            Op::EndShortcut => "end shortcut".to_string(),
            Op::Dump => "dump the tape to stderr".to_string(),
        }
    }

    fn shortcut_text(&self, start: u32) -> String {
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
        if let Some(d) = shortcut.divmod {
            let copy = d.copy.map(|off| format!(", {} += [p]", cell(off))).unwrap_or_default();
            let (count, rest, quotient) = (cell(d.count), cell(d.rest), cell(d.quotient));
            changes.push(format!("divmod [p] times{copy}, {count} down, {rest} up, restarts into {quotient}"));
        }
        let changes = if changes.is_empty() { "nothing".to_string() } else { changes.join(", ") };
        format!("shortcut if {} == 0: {changes}; else", zeros.join(" "))
    }
}

/// A cell by its offset from the pointer: `[p]`, `[p+3]`, `[p-1]`.
fn cell(off: i32) -> String {
    if off == 0 {
        "[p]".to_string()
    } else {
        format!("[p{off:+}]")
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
    use crate::ir::{Inst, Op, Program};

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
