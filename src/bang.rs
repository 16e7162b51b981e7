//! `--bang` (tritium's `!`): a program and its input in one stream. The
//! first `!` ends the program; the bytes after it are the start of the
//! program's input, and stdin follows them (for a program read from stdin,
//! that is simply the rest of the same stream).
//!
//! This module only splits: the driver reads the source (`read_program`
//! stops at the `!` of a stream, so the rest stays for the program to read
//! as it goes), and each mode feeds the bytes after it first: the JIT
//! through `in_cur..in_end`, the interpreter through a chained reader,
//! executables through the data symbol `<entry>_input` (`object.rs`) that
//! `runtime-c/main.c` hands to `bfrt_set_input`.
//!
//! Positions (errors, warnings, `--emit`) are unchanged: the program is a
//! prefix of the source.

use std::io::{self, Read};

/// The byte that ends the program.
pub const BANG: u8 = b'!';

/// A source split at its first `!`: the program, and the bytes after the
/// `!` (`None`: there was no `!`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    pub program: &'a [u8],
    pub input: Option<&'a [u8]>,
}

/// Splits `source` at its first `!`.
pub fn split(source: &[u8]) -> Split<'_> {
    match source.iter().position(|&b| b == BANG) {
        Some(at) => Split { program: &source[..at], input: Some(&source[at + 1..]) },
        None => Split { program: source, input: None },
    }
}

/// Reads a program from a stream up to its first `!` (or its end); returns
/// the program and the bytes read past the `!` (the start of the input;
/// the rest of the stream is left unread, for the program). Reads in
/// blocks, not byte by byte: a 2 MB program is a few dozen read(2)s.
pub fn read_program(stream: &mut dyn Read) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut program = Vec::new();
    let mut block = vec![0; 1 << 16];
    loop {
        let n = match stream.read(&mut block) {
            Ok(0) => return Ok((program, Vec::new())),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match split(&block[..n]) {
            Split { program: part, input: Some(rest) } => {
                program.extend_from_slice(part);
                return Ok((program, rest.to_vec()));
            }
            Split { program: part, input: None } => program.extend_from_slice(part),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_bang_only() {
        assert_eq!(split(b",[.,]!hi!there"), Split { program: b",[.,]", input: Some(b"hi!there") });
        assert_eq!(split(b"+.!"), Split { program: b"+.", input: Some(b"") });
        assert_eq!(split(b"+."), Split { program: b"+.", input: None });
    }

    /// A reader that hands out one small block at a time, as a pipe does.
    struct Blocks<'a>(Vec<&'a [u8]>);

    impl Read for Blocks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let block = self.0.remove(0);
            buf[..block.len()].copy_from_slice(block);
            Ok(block.len())
        }
    }

    #[test]
    fn reading_stops_at_the_bang_and_leaves_the_rest() {
        let mut stream = Blocks(vec![b"+[", b"-]!ab", b"cd"]);
        let (program, input) = read_program(&mut stream).unwrap();
        assert_eq!((&program[..], &input[..]), (&b"+[-]"[..], &b"ab"[..]));
        assert_eq!(stream.0, [b"cd"], "the block after the one with '!' is the program's to read");
        let (program, input) = read_program(&mut Blocks(vec![b"+.", b"+."])).unwrap();
        assert_eq!((&program[..], &input[..]), (&b"+.+."[..], &b""[..]));
    }
}
