//! Source bytes -> `ir::Program`, one instruction per command.
//!
//! Every byte other than `+-<>[].,` is a comment. Brackets are matched here,
//! so later stages can assume balanced blocks; an unmatched bracket is an
//! error at its position. Folding is left to the passes: at `-O0` the
//! code generator sees exactly the commands of the source.

use crate::error::{Error, Pos, Result, Snippet};
use crate::ir::{Inst, Op, Program};

/// Parses `source`; `file` names it in errors.
pub fn parse(file: &str, source: &[u8]) -> Result<Program> {
    if source.len() > i32::MAX as usize {
        return Err(Error::SourceTooLarge { file: file.to_string(), len: source.len() });
    }
    // At most one instruction a byte; pages never written cost nothing.
    let mut insts = Vec::with_capacity(source.len());
    let mut open: Vec<usize> = Vec::new();
    for (at, &byte) in source.iter().enumerate() {
        let op = match byte {
            b'+' => Op::Add { off: 0, val: 1 },
            b'-' => Op::Add { off: 0, val: 255 },
            b'>' => Op::Move(1),
            b'<' => Op::Move(-1),
            b'.' => Op::Out { off: 0 },
            b',' => Op::In { off: 0 },
            b'[' => {
                open.push(at);
                Op::Loop { off: 0 }
            }
            b']' => {
                if open.pop().is_none() {
                    return Err(unmatched(']', file, source, at));
                }
                Op::EndLoop
            }
            _ => continue,
        };
        insts.push(Inst::new(op, at as u32));
    }
    // Of several unclosed loops, the innermost is reported: it is the one
    // nearest to where the author most likely forgot the `]`.
    if let Some(&at) = open.last() {
        return Err(unmatched('[', file, source, at));
    }
    Ok(Program { insts, data: Vec::new() })
}

fn unmatched(bracket: char, file: &str, source: &[u8], at: usize) -> Error {
    Error::Unmatched {
        bracket,
        file: file.to_string(),
        pos: Pos::of_offset(source, at),
        snippet: Snippet::at(source, at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(src: &[u8]) -> Vec<Op> {
        parse("t.b", src).unwrap().ops().collect()
    }

    fn error_at(src: &[u8]) -> (char, usize, usize) {
        match parse("t.b", src) {
            Err(Error::Unmatched { bracket, pos, .. }) => (bracket, pos.line, pos.col),
            other => panic!("expected unmatched bracket, got {other:?}"),
        }
    }

    #[test]
    fn every_other_byte_is_a_comment() {
        assert_eq!(
            ops(b"a+\0\xff-\r\n>x<.,"),
            vec![
                Op::Add { off: 0, val: 1 },
                Op::Add { off: 0, val: 255 },
                Op::Move(1),
                Op::Move(-1),
                Op::Out { off: 0 },
                Op::In { off: 0 },
            ]
        );
        assert!(ops(b"").is_empty());
        assert!(ops(b"hello world\n").is_empty());
    }

    #[test]
    fn instructions_remember_their_source_offset() {
        let p = parse("t.b", b"ab+[c]").unwrap();
        let at: Vec<u32> = p.insts.iter().map(|i| i.at).collect();
        assert_eq!(at, vec![2, 3, 5]);
    }

    #[test]
    fn unmatched_close_reports_the_first() {
        assert_eq!(error_at(b"+\n]"), (']', 2, 1));
        assert_eq!(error_at(b"[]]["), (']', 1, 3));
        // A `]` is found before the end, where unclosed `[` are reported.
        assert_eq!(error_at(b"[ ]]"), (']', 1, 4));
    }

    #[test]
    fn unmatched_open_reports_the_innermost() {
        assert_eq!(error_at(b"[\n[[]"), ('[', 2, 1));
        assert_eq!(error_at(b"+["), ('[', 1, 2));
        assert_eq!(error_at(b"[[["), ('[', 1, 3));
    }

    #[test]
    fn deep_nesting_needs_no_stack() {
        let depth = 1_000_000;
        let mut src = vec![b'['; depth];
        src.extend(std::iter::repeat_n(b']', depth));
        assert_eq!(parse("t.b", &src).unwrap().insts.len(), 2 * depth);
    }
}
