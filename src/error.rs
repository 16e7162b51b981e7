//! Error types of the whole pipeline, with their rendering.
//!
//! Every stage returns these values; only `main.rs` prints them and picks an
//! exit code. Source errors carry the position of the offending byte and the
//! source line, so they render like a compiler's: message, location, snippet.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Format, Level};

/// A position in a source file: 1-based line and column, counted in bytes;
/// only LF ends a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    /// Position of byte `offset` in `source`.
    /// `memchr`'s vector loops: a generated program of megabytes on one
    /// line is scanned once per diagnostic.
    pub fn of_offset(source: &[u8], offset: usize) -> Pos {
        let before = &source[..offset];
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        Pos { line, col: offset - line_start + 1 }
    }
}

/// A source line shown under an error, with the column to mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The line, lossily decoded; control bytes and tabs shown as spaces so
    /// the marker lines up (one column per byte).
    pub text: String,
    pub col: usize,
}

impl Snippet {
    pub fn at(source: &[u8], offset: usize) -> Snippet {
        // Long lines are cut around the marker so the snippet stays
        // readable; only the bytes shown are searched for the line's ends.
        const WIDTH: usize = 100;
        let window = offset.saturating_sub(WIDTH / 2);
        let from = memchr::memrchr(b'\n', &source[window..offset]).map_or(window, |i| window + i + 1);
        let shown = &source[offset..source.len().min(from + WIDTH)];
        let to = memchr::memchr(b'\n', shown).map_or(offset + shown.len(), |i| offset + i);
        let text: String =
            source[from..to].iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { ' ' }).collect();
        Snippet { text, col: offset - from + 1 }
    }
}

/// Everything that can go wrong while compiling or running a program.
#[derive(Debug)]
pub enum Error {
    /// Brackets with no partner (`[` with no `]`, `]` with no `[`), each a
    /// diagnostic at its place, in source order: the first
    /// `parse::MAX_REPORTED`, and how many more there are.
    Unmatched { brackets: Vec<Diagnostic>, more: usize },
    /// The program could not be read.
    ReadSource { path: PathBuf, source: io::Error },
    /// The source is too large for the compiler's offsets.
    SourceTooLarge { file: String, len: usize },
    /// Writing an output file (object, executable) failed.
    WriteOutput { path: PathBuf, source: io::Error },
    /// `-o` names the program's own source file.
    OutputIsInput { path: PathBuf },
    /// The C compiler could not be started.
    NoCompiler { cc: String, source: io::Error },
    /// The C compiler or linker failed: how it ended, what it said.
    LinkFailed { cc: String, status: String, stderr: String },
    /// The code generator cannot run on this machine.
    UnsupportedHost,
    /// Executable memory for the JIT could not be set up.
    Jit { what: &'static str, source: io::Error },
    /// A bad combination of options that clap cannot express.
    Usage(String),
    /// A panic inside the compiler or a runtime callback, caught at a
    /// boundary.
    Internal(String),
}

impl Error {
    /// The error as diagnostics: one for most errors, one a bracket for
    /// unmatched brackets (and a note of how many more there are).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            Error::Unmatched { brackets, more } => {
                let mut all = brackets.clone();
                if *more > 0 {
                    let s = if *more == 1 { "" } else { "s" };
                    all.push(Diagnostic {
                        level: Level::Note,
                        code: "more-unmatched-brackets",
                        message: format!("{more} more unmatched bracket{s} not shown"),
                        location: None,
                    });
                }
                all
            }
            other => vec![Diagnostic::error(other.code(), other.to_string(), None)],
        }
    }

    /// A stable name of the kind of error, for tools (`--error-format json`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unmatched { .. } => "unmatched-bracket",
            Error::ReadSource { .. } => "read-source",
            Error::SourceTooLarge { .. } => "source-too-large",
            Error::WriteOutput { .. } => "write-output",
            Error::OutputIsInput { .. } => "output-is-input",
            Error::NoCompiler { .. } => "no-c-compiler",
            Error::LinkFailed { .. } => "link-failed",
            Error::UnsupportedHost => "unsupported-host",
            Error::Jit { .. } => "jit",
            Error::Usage(_) => "usage",
            Error::Internal(_) => "internal",
        }
    }

    /// Errors the user fixes in the source or the command line, as opposed to
    /// the environment.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage(_) | Error::OutputIsInput { .. })
    }

    /// A bug in bfc rather than a problem with the input or the machine.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unmatched { .. } => {
                let text: String =
                    self.diagnostics().iter().map(|d| d.render(Format::Human { colour: false })).collect();
                f.write_str(text.trim_end())
            }
            Error::ReadSource { path, source } => write!(f, "cannot read {}: {}", path.display(), plain(source)),
            Error::SourceTooLarge { file, len } => {
                write!(f, "{file}: program of {len} bytes is too large (at most 2 GiB)")
            }
            Error::WriteOutput { path, source } => {
                write!(f, "cannot write {}: {}", path.display(), plain(source))
            }
            Error::OutputIsInput { path } => {
                write!(f, "refusing to overwrite the source file {} with the output", path.display())
            }
            Error::NoCompiler { cc, source } => write!(
                f,
                "cannot run the C compiler '{cc}' to link the executable: {} \
                 (install a C compiler, set CC, or run the program with --jit)",
                plain(source)
            ),
            Error::LinkFailed { cc, status, stderr } => {
                write!(f, "linking with '{cc}' failed ({status})")?;
                match stderr.trim_end() {
                    "" => Ok(()),
                    said => write!(f, ":\n{said}"),
                }
            }
            Error::UnsupportedHost => write!(f, "the JIT and native code need an x86-64 Linux host; use --interp"),
            Error::Jit { what, source } => write!(f, "JIT: cannot {what}: {source}"),
            Error::Usage(msg) => write!(f, "{msg}"),
            Error::Internal(msg) => write!(f, "internal compiler error: {msg}"),
        }
    }
}

/// io::Error's message without the "(os error N)" suffix.
pub fn plain(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_bytes_and_only_lf() {
        let src = b"ab\r\ncd\n\xffx[";
        assert_eq!(Pos::of_offset(src, 0), Pos { line: 1, col: 1 });
        assert_eq!(Pos::of_offset(src, 4), Pos { line: 2, col: 1 });
        assert_eq!(Pos::of_offset(src, 9), Pos { line: 3, col: 3 });
    }

    /// Against the obvious definitions (count every LF before; the line cut
    /// to 100 bytes from 50 before the column), on lines of every length
    /// near the cut.
    #[test]
    fn positions_and_snippets_agree_with_a_plain_scan() {
        let mut src = Vec::new();
        for len in [0, 1, 49, 50, 51, 99, 100, 101, 250] {
            src.extend(std::iter::repeat_n(b'+', len));
            src.push(b'\n');
        }
        src.extend(std::iter::repeat_n(b'-', 120));
        for offset in 0..=src.len() {
            let line = 1 + src[..offset].iter().filter(|&&b| b == b'\n').count();
            let start = src[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            assert_eq!(Pos::of_offset(&src, offset), Pos { line, col: offset - start + 1 }, "at {offset}");
            let end = src[offset..].iter().position(|&b| b == b'\n').map_or(src.len(), |i| offset + i);
            let from = if offset - start > 50 { offset - 50 } else { start };
            let s = Snippet::at(&src, offset);
            assert_eq!((s.text.len(), s.col), (end.min(from + 100) - from, offset - from + 1), "at {offset}");
        }
    }

    #[test]
    fn snippet_marks_the_column_on_long_lines() {
        let mut src = vec![b'+'; 500];
        src[300] = b'[';
        let s = Snippet::at(&src, 300);
        assert_eq!(s.text.as_bytes()[s.col - 1], b'[');
        assert!(s.text.len() <= 100);
    }
}
