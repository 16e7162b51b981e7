//! Source bytes -> `ir::Program`, one instruction per command, or per run
//! of a repeated `+`, `-`, `<` or `>` (`parse_folded`).
//!
//! Every byte other than `+-<>[].,` is a comment. Brackets are matched here,
//! so later stages can assume balanced blocks; an unmatched bracket is an
//! error at its position. Other folding is left to the passes: at `-O0` the
//! code generator sees exactly the commands of the source.

use crate::diagnostic::{Diagnostic, Location};
use crate::error::{Error, Result};
use crate::ir::{Inst, Op, Program};

/// Unmatched brackets reported at most; the rest are counted.
pub const MAX_REPORTED: usize = 20;

/// Commands beyond the eight, each off by default (a comment then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Syntax {
    /// `#` dumps the tape (`Op::Dump`; `--hash-dump`, tritium's `#`).
    pub hash_dump: bool,
}

/// Parses `source` with the eight commands only (`parse_syntax`).
pub fn parse(file: &str, source: &[u8]) -> Result<Program> {
    parse_syntax(file, source, Syntax::default())
}

/// Parses `source` with the commands `syntax` adds; `file` names it in
/// errors. Every unmatched bracket is an error, reported in source order
/// (up to `MAX_REPORTED`): each stray `]`, and each `[` left open at the
/// end.
pub fn parse_syntax(file: &str, source: &[u8], syntax: Syntax) -> Result<Program> {
    parse_with(file, source, syntax, false)
}

/// `parse_syntax`, but a run of one repeated `+`, `-`, `<` or `>` (comments
/// between its commands or not) is one instruction, at its first command:
/// what `-O1`'s first pass (`opt::combine`) makes of it anyway, its values
/// kept to signed bytes (127 `+`, 128 `-`) as that pass keeps them for wide
/// cells. A big program's runs are most of its commands (lostkng.b: 2.1 M
/// commands, 188 K instructions folded): the parse, the lint and the first
/// pass see a tenth of the instructions, and none is written to memory only
/// to be merged. The first touch of a run is its first command's, so a tape
/// error or a warning points where it would.
pub fn parse_folded(file: &str, source: &[u8], syntax: Syntax) -> Result<Program> {
    parse_with(file, source, syntax, true)
}

fn parse_with(file: &str, source: &[u8], syntax: Syntax, fold: bool) -> Result<Program> {
    if source.len() > i32::MAX as usize {
        return Err(Error::SourceTooLarge { file: file.to_string(), len: source.len() });
    }
    // At most one instruction a byte; pages never written cost nothing.
    let mut insts = Vec::with_capacity(source.len());
    let mut open: Vec<usize> = Vec::new();
    // Offsets of the stray `]`s, in order.
    let mut stray: Vec<usize> = Vec::new();
    let mut at = 0;
    while at < source.len() {
        let byte = source[at];
        let op = match byte {
            b'+' | b'-' | b'>' | b'<' => {
                let (op, next) = if fold { fold_run(source, at, syntax) } else { (step(byte, 1), at + 1) };
                insts.push(Inst::new(op, at as u32));
                at = next;
                continue;
            }
            b'.' => Op::Out { off: 0 },
            b'#' if syntax.hash_dump => Op::Dump,
            b',' => Op::In { off: 0 },
            b'[' => {
                open.push(at);
                Op::Loop { off: 0 }
            }
            b']' => {
                if open.pop().is_some() {
                    Op::EndLoop
                } else {
                    stray.push(at);
                    at += 1;
                    continue;
                }
            }
            _ => {
                at += 1;
                continue;
            }
        };
        insts.push(Inst::new(op, at as u32));
        at += 1;
    }
    if stray.is_empty() && open.is_empty() {
        return Ok(Program { insts, data: Vec::new() });
    }
    // Both lists are in source order: merge the first MAX_REPORTED.
    let (mut strays, mut opens) = (stray.iter().peekable(), open.iter().peekable());
    let mut brackets = Vec::new();
    while brackets.len() < MAX_REPORTED {
        let next = match (strays.peek(), opens.peek()) {
            (Some(&&s), Some(&&o)) if s < o => strays.next().map(|&at| (']', at)),
            (_, Some(_)) => opens.next().map(|&at| ('[', at)),
            (Some(_), None) => strays.next().map(|&at| (']', at)),
            (None, None) => break,
        };
        let (bracket, at) = next.expect("peeked");
        brackets.push(unmatched(bracket, file, source, at));
    }
    let more = stray.len() + open.len() - brackets.len();
    Err(Error::Unmatched { brackets, more })
}

/// `n` of the command `byte` (`+`, `-`, `>` or `<`) as one instruction.
fn step(byte: u8, n: u32) -> Op {
    match byte {
        b'+' => Op::Add { off: 0, val: n as u8 },
        b'-' => Op::Add { off: 0, val: (n as u8).wrapping_neg() },
        b'>' => Op::Move(n as i32),
        _ => Op::Move(-(n as i32)),
    }
}

/// The run of the command at `at` (one of `+-<>`) as one instruction, and
/// where parsing goes on: at the next other command, or at the command
/// that would take an add beyond a signed byte (127 `+`, 128 `-`). A move
/// folds any length (a source is under 2^31 bytes). Comments inside a run
/// are skipped with it.
fn fold_run(source: &[u8], at: usize, syntax: Syntax) -> (Op, usize) {
    let byte = source[at];
    let limit = match byte {
        b'+' => 127,
        b'-' => 128,
        _ => u32::MAX,
    };
    let (mut n, mut i) = (1u32, at + 1);
    while n < limit {
        match source.get(i) {
            Some(&b) if b == byte => {
                let same = repeated(&source[i..], byte).min((limit - n) as usize);
                n += same as u32;
                i += same;
                continue;
            }
            Some(b'+' | b'-' | b'>' | b'<' | b'.' | b',' | b'[' | b']') | None => break,
            Some(b'#') if syntax.hash_dump => break,
            Some(_) => {}
        }
        i += 1;
    }
    (step(byte, n), i)
}

/// How many of `bytes` from the first are `byte`, compared 8 at a time:
/// big programs are mostly long runs of one command (`--time-passes`,
/// least of 21: the carry walk idiom at 32768 digits, 2.1 MB, parsed in
/// 2.7 ms where a byte at a time took 3.8; lostkng.b 3.0 where 4.4).
fn repeated(bytes: &[u8], byte: u8) -> usize {
    let eight = u64::from_ne_bytes([byte; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut n = 0;
    for chunk in &mut chunks {
        let differ = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ eight;
        if differ != 0 {
            return n + differ.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + chunks.remainder().iter().take_while(|&&b| b == byte).count()
}

fn unmatched(bracket: char, file: &str, source: &[u8], at: usize) -> Diagnostic {
    let (code, label) = match bracket {
        '[' => ("unmatched-open-bracket", "this loop is never closed"),
        _ => ("unmatched-close-bracket", "no loop to close here"),
    };
    Diagnostic::error(code, format!("unmatched '{bracket}'"), Some(Location::at(file, source, at, label)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(src: &[u8]) -> Vec<Op> {
        parse("t.b", src).unwrap().ops().collect()
    }

    /// Each unmatched bracket, with its line and column, and how many more.
    fn errors_at(src: &[u8]) -> (Vec<(char, usize, usize)>, usize) {
        match parse("t.b", src) {
            Err(Error::Unmatched { brackets, more }) => {
                let at = |d: &Diagnostic| {
                    let loc = d.location.as_ref().expect("at a place");
                    (d.message.chars().nth(11).expect("unmatched 'X'"), loc.pos.line, loc.pos.col)
                };
                (brackets.iter().map(at).collect(), more)
            }
            other => panic!("expected unmatched brackets, got {other:?}"),
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
    fn hash_dumps_only_when_asked() {
        assert_eq!(ops(b"+#"), vec![Op::Add { off: 0, val: 1 }]);
        let p = parse_syntax("t.b", b"+#[#]", Syntax { hash_dump: true }).unwrap();
        let ops: Vec<Op> = p.ops().collect();
        assert_eq!(ops, vec![Op::Add { off: 0, val: 1 }, Op::Dump, Op::Loop { off: 0 }, Op::Dump, Op::EndLoop]);
    }

    #[test]
    fn instructions_remember_their_source_offset() {
        let p = parse("t.b", b"ab+[c]").unwrap();
        let at: Vec<u32> = p.insts.iter().map(|i| i.at).collect();
        assert_eq!(at, vec![2, 3, 5]);
    }

    #[test]
    fn runs_fold_to_one_instruction_at_their_first_command() {
        let folded = |src: &[u8]| {
            let p = parse_folded("t.b", src, Syntax::default()).unwrap();
            p.insts.iter().map(|i| (i.op, i.at)).collect::<Vec<_>>()
        };
        let add = |val: u8| Op::Add { off: 0, val };
        // Comments inside a run; a different command or a bracket ends it.
        assert_eq!(
            folded(b"x++ +\n+>>-<[<<]"),
            [
                (add(4), 1),
                (Op::Move(2), 7),
                (add(255), 9),
                (Op::Move(-1), 10),
                (Op::Loop { off: 0 }, 11),
                (Op::Move(-2), 12),
                (Op::EndLoop, 14)
            ]
        );
        // Adds stay signed bytes: 127 up, 128 down, then the next run.
        let ups = folded(&[b'+'; 300]);
        assert_eq!(ups, [(add(127), 0), (add(127), 127), (add(46), 254)]);
        let downs = folded(&[b'-'; 200]);
        assert_eq!(downs, [(add(128), 0), (add(184), 128)]);
        assert_eq!(folded(&[b'<'; 70000]), [(Op::Move(-70000), 0)]);
        // Runs counted 8 bytes at a time end at any byte of a word.
        for len in 1..=20u32 {
            let src: Vec<u8> = [&[b'>'; 20][..len as usize], b"x>>+>"].concat();
            assert_eq!(folded(&src), [(Op::Move(len as i32 + 2), 0), (add(1), len + 3), (Op::Move(1), len + 4)]);
        }
        // `+-` is two instructions (a pass folds them into an add of 0).
        assert_eq!(folded(b"+-"), [(add(1), 0), (add(255), 1)]);
        // `#` ends a run where it is a command, not where it is a comment.
        let dump = parse_folded("t.b", b"+#+", Syntax { hash_dump: true }).unwrap();
        assert_eq!(dump.ops().collect::<Vec<_>>(), [add(1), Op::Dump, add(1)]);
        assert_eq!(folded(b"+#+"), [(add(2), 0)]);
        // Unfolded, one a command.
        assert_eq!(ops(b"+++").len(), 3);
    }

    #[test]
    fn every_unmatched_bracket_is_reported_in_source_order() {
        assert_eq!(errors_at(b"+\n]"), (vec![(']', 2, 1)], 0));
        assert_eq!(errors_at(b"[]]["), (vec![(']', 1, 3), ('[', 1, 4)], 0));
        assert_eq!(errors_at(b"[ ]]"), (vec![(']', 1, 4)], 0));
        assert_eq!(errors_at(b"[\n[[]"), (vec![('[', 1, 1), ('[', 2, 1)], 0));
        assert_eq!(errors_at(b"+["), (vec![('[', 1, 2)], 0));
        assert_eq!(errors_at(b"][[]]][["), (vec![(']', 1, 1), (']', 1, 6), ('[', 1, 7), ('[', 1, 8)], 0));
    }

    #[test]
    fn reports_stop_at_the_limit_and_count_the_rest() {
        let (shown, more) = errors_at(&[b'['; MAX_REPORTED + 5]);
        assert_eq!((shown.len(), more), (MAX_REPORTED, 5));
        assert_eq!(shown[0], ('[', 1, 1));
        let (shown, more) = errors_at(b"]]]");
        assert_eq!((shown.len(), more), (3, 0));
    }

    #[test]
    fn deep_nesting_needs_no_stack() {
        let depth = 1_000_000;
        let mut src = vec![b'['; depth];
        src.extend(std::iter::repeat_n(b']', depth));
        assert_eq!(parse("t.b", &src).unwrap().insts.len(), 2 * depth);
    }
}
