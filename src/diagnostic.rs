//! Diagnostics as compilers print them, for people and for tools.
//!
//! For people: the location first, as gcc and clang print it
//! (`prog.b:3:14: error: unmatched '['`), so that editors and CI annotators
//! that read gcc's output jump to it; then the source line with a caret, as
//! rustc shows it; in colour only where asked (`--color`). For tools: one
//! JSON object a line (`--error-format json`), with the same fields.
//!
//! Only the CLI prints; this module turns an error into text. It knows
//! nothing of how the error came about.

use std::fmt::Write as _;

use serde_json::json;

use crate::error::{Pos, Snippet};

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Note,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }

    /// The ANSI colour of the word: rustc's and gcc's.
    fn colour(self) -> &'static str {
        match self {
            Level::Error => "\x1b[1;31m",
            Level::Warning => "\x1b[1;33m",
            Level::Note => "\x1b[1;36m",
        }
    }
}

/// Where in a source file a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// Byte offset in the source.
    pub offset: usize,
    pub pos: Pos,
    pub snippet: Snippet,
    /// What the caret says of the byte it marks.
    pub label: String,
}

impl Location {
    /// The location of byte `offset` of `source`, read from `file`.
    pub fn at(file: &str, source: &[u8], offset: usize, label: impl Into<String>) -> Location {
        Location {
            file: file.to_string(),
            offset,
            pos: Pos::of_offset(source, offset),
            snippet: Snippet::at(source, offset),
            label: label.into(),
        }
    }
}

/// One message: an error, a warning or a note, maybe at a place in the
/// source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    /// A stable name of the kind of diagnostic (`unmatched-open-bracket`),
    /// for tools.
    pub code: &'static str,
    pub message: String,
    pub location: Option<Location>,
}

/// How diagnostics are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a person; with ANSI colours or without.
    Human { colour: bool },
    /// One JSON object a line.
    Json,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, location: Option<Location>) -> Diagnostic {
        Diagnostic { level: Level::Error, code, message: message.into(), location }
    }

    /// The diagnostic as `format` writes it, ending with a newline.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Human { colour } => self.human(colour),
            Format::Json => self.json() + "\n",
        }
    }

    fn human(&self, colour: bool) -> String {
        let paint = |style: &str, text: &str| if colour { format!("{style}{text}\x1b[0m") } else { text.to_string() };
        let (bold, blue) = ("\x1b[1m", "\x1b[1;34m");
        let level = paint(self.level.colour(), &format!("{}:", self.level.word()));
        let message = paint(bold, &self.message);
        let mut out = String::new();
        let Some(at) = &self.location else {
            let _ = writeln!(out, "{level} {message}");
            return out;
        };
        let place = paint(bold, &format!("{}:{}:{}:", at.file, at.pos.line, at.pos.col));
        let _ = writeln!(out, "{place} {level} {message}");
        let gutter = at.pos.line.to_string().len();
        let bar = paint(blue, "|");
        let _ = writeln!(out, "{:gutter$} {bar}", "");
        let _ = writeln!(out, "{} {bar} {}", paint(blue, &at.pos.line.to_string()), at.snippet.text);
        let caret = format!("{:>col$} {}", "^", at.label, col = at.snippet.col);
        let _ = writeln!(out, "{:gutter$} {bar} {}", "", paint(self.level.colour(), caret.trim_end()));
        out
    }

    fn json(&self) -> String {
        let at = self.location.as_ref();
        json!({
            "level": self.level.word(),
            "code": self.code,
            "message": self.message,
            "file": at.map(|at| &at.file),
            "line": at.map(|at| at.pos.line),
            "column": at.map(|at| at.pos.col),
            "offset": at.map(|at| at.offset),
            "label": at.map(|at| &at.label),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmatched() -> Diagnostic {
        let source = b"+++\n+++[>++";
        let at = Location::at("prog.b", source, 7, "this loop is never closed");
        Diagnostic::error("unmatched-open-bracket", "unmatched '['", Some(at))
    }

    #[test]
    fn people_read_the_location_first_then_the_line() {
        let text = unmatched().render(Format::Human { colour: false });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            ["prog.b:2:4: error: unmatched '['", "  |", "2 | +++[>++", "  |    ^ this loop is never closed"]
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = unmatched().render(Format::Human { colour: false });
        let coloured = unmatched().render(Format::Human { colour: true });
        assert!(!plain.contains('\x1b'));
        assert!(coloured.contains("\x1b[1;31merror:\x1b[0m"));
        // Without the escapes, the same text.
        let mut stripped = coloured.clone();
        while let Some(start) = stripped.find('\x1b') {
            let end = start + stripped[start..].find('m').unwrap();
            stripped.replace_range(start..=end, "");
        }
        assert_eq!(stripped, plain);
    }

    #[test]
    fn tools_read_one_json_object_a_line() {
        let text = unmatched().render(Format::Json);
        assert_eq!(text.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["level"], "error");
        assert_eq!(value["code"], "unmatched-open-bracket");
        assert_eq!(value["message"], "unmatched '['");
        assert_eq!(
            (value["file"].as_str(), value["line"].as_u64(), value["column"].as_u64()),
            (Some("prog.b"), Some(2), Some(4))
        );
        assert_eq!(value["offset"], 7);
        let nowhere = Diagnostic::error("tape-underflow", "tape underflow", None).render(Format::Json);
        let value: serde_json::Value = serde_json::from_str(&nowhere).unwrap();
        assert!(value["file"].is_null() && value["line"].is_null());
    }
}
