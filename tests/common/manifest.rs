//! The corpus's MANIFEST.tsv (columns: name source kind eof cells tape_min
//! notes; see ../shared/corpus/README.md), what its free-text notes say
//! about how to run each program, and the output each must print
//! (`progs/NAME.out` or `progs/NAME.out.sha256`).

use std::path::{Path, PathBuf};

use super::describe_diff;
use super::sha256::sha256_hex;

#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub source: String,
    /// `correctness`, `benchmark`, `both` or `error`.
    pub kind: String,
    /// `none-reads`, `any`, or a `|`-list of `unchanged`, `0`, `-1`.
    pub eof: String,
    pub cells: String,
    pub tape_min: Option<u64>,
    pub notes: String,
}

/// What an `error` program must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedError {
    /// Rejected at compile time; `at` is (line, column) where the notes give it.
    Unmatched { bracket: char, at: Option<(usize, usize)> },
    /// Fails at run time with "tape underflow" / "tape overflow" (`word`)
    /// after printing `stdout`.
    Tape { word: &'static str, stdout: Vec<u8> },
}

/// What a program that runs to its end must print.
#[derive(Debug, Clone)]
pub enum Output {
    /// Exactly these bytes.
    Bytes(Vec<u8>),
    /// This much output of this SHA-256 (lower-case hex), for outputs too
    /// big to ship (edge_huge_output).
    Digest { sha256: String, len: usize },
}

impl Output {
    /// None if `got` is the output; otherwise how it differs.
    pub fn differs(&self, got: &[u8]) -> Option<String> {
        match self {
            Output::Bytes(want) => describe_diff("stdout", want, got),
            Output::Digest { sha256, len } => {
                let actual = sha256_hex(got);
                (got.len() != *len || actual != *sha256).then(|| {
                    format!(
                        "stdout is {} bytes with sha256 {actual}, expected {len} bytes with sha256 {sha256}",
                        got.len()
                    )
                })
            }
        }
    }
}

/// Reads `DIR/MANIFEST.tsv`. Errors say what is missing or malformed.
pub fn load(dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or("");
    let expected = "name\tsource\tkind\teof\tcells\ttape_min\tnotes";
    if header != expected {
        return Err(format!("{}: header is {header:?}, expected {expected:?}", path.display()));
    }
    let mut entries = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, source, kind, eof, cells, tape_min, notes] = cols[..] else {
            return Err(format!("{}:{}: {} columns, expected 7", path.display(), i + 1, cols.len()));
        };
        if !matches!(kind, "correctness" | "benchmark" | "both" | "error") {
            return Err(format!("{}:{}: unknown kind {kind:?}", path.display(), i + 1));
        }
        let tape_min = match tape_min {
            "" => None,
            n => Some(n.parse().map_err(|_| format!("{}:{}: bad tape_min {n:?}", path.display(), i + 1))?),
        };
        entries.push(Entry {
            name: name.to_string(),
            source: source.to_string(),
            kind: kind.to_string(),
            eof: eof.to_string(),
            cells: cells.to_string(),
            tape_min,
            notes: notes.to_string(),
        });
    }
    if entries.is_empty() {
        return Err(format!("{} lists no programs", path.display()));
    }
    Ok(entries)
}

impl Entry {
    pub fn program(&self, dir: &Path) -> PathBuf {
        dir.join("progs").join(format!("{}.b", self.name))
    }

    /// The bytes for stdin: `progs/NAME.in`, or nothing.
    pub fn input(&self, dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join("progs").join(format!("{}.in", self.name))).unwrap_or_default()
    }

    /// What the program must print: `progs/NAME.out`, or else the digest in
    /// `progs/NAME.out.sha256` ("<sha256> <size>").
    pub fn expected_output(&self, dir: &Path) -> Result<Output, String> {
        let progs = dir.join("progs");
        let out = progs.join(format!("{}.out", self.name));
        if let Ok(bytes) = std::fs::read(&out) {
            return Ok(Output::Bytes(bytes));
        }
        let digest_file = progs.join(format!("{}.out.sha256", self.name));
        let text = std::fs::read_to_string(&digest_file)
            .map_err(|_| format!("neither {} nor {} can be read", out.display(), digest_file.display()))?;
        let mut words = text.split_whitespace();
        match (words.next(), words.next().and_then(|n| n.parse().ok())) {
            (Some(sha256), Some(len)) if sha256.len() == 64 => {
                Ok(Output::Digest { sha256: sha256.to_lowercase(), len })
            }
            _ => Err(format!("{}: expected \"<sha256> <size>\", got {text:?}", digest_file.display())),
        }
    }

    /// The ` | `-separated fields of the notes.
    fn note_fields(&self) -> impl Iterator<Item = &str> {
        self.notes.split(" | ").map(str::trim)
    }

    /// The fastbf runtime from "runtime: fastbf 5.9s" ("<0.1s" counts as 0).
    pub fn fastbf_secs(&self) -> Option<f64> {
        let field = self.note_fields().find_map(|f| f.strip_prefix("runtime: fastbf "))?;
        let secs = field.split(['s', ',']).next()?.trim();
        if secs.starts_with('<') {
            return Some(0.0);
        }
        secs.parse().ok()
    }

    /// The `--eof` value that reproduces the expected output; None for the
    /// default (`unchanged`).
    pub fn eof_flag(&self) -> Result<Option<&'static str>, String> {
        if self.eof == "none-reads" || self.eof == "any" {
            return Ok(None);
        }
        let modes: Vec<&str> = self.eof.split('|').collect();
        if modes.contains(&"unchanged") {
            Ok(None)
        } else if modes.contains(&"0") {
            Ok(Some("zero"))
        } else if modes.contains(&"-1") {
            Ok(Some("minus-one"))
        } else {
            Err(format!("unknown eof column {:?}", self.eof))
        }
    }

    /// The tape size to run with, when the default 65536 cells is not it:
    /// "run with a 131072-cell tape" in the notes, or else enough for
    /// `tape_min`.
    pub fn tape_cells(&self) -> Option<u64> {
        let from_notes = self.note_fields().find_map(|f| {
            let n = f.strip_prefix("run with a ")?.strip_suffix("-cell tape")?;
            n.parse().ok()
        });
        from_notes.or_else(|| self.tape_min.filter(|&n| n > 65536).map(u64::next_power_of_two))
    }

    /// What an `error` program must do, from "EXPECTED ERROR: ..." and
    /// "stdout before the error: '...'" in the notes.
    pub fn expected_error(&self) -> Result<ExpectedError, String> {
        let what = self
            .note_fields()
            .find_map(|f| f.strip_prefix("EXPECTED ERROR: "))
            .ok_or_else(|| format!("{}: kind error but no 'EXPECTED ERROR:' in the notes", self.name))?;
        if let Some(rest) = what.strip_prefix("unmatched ") {
            let mut words = rest.split_whitespace();
            let bracket = match words.next() {
                Some("[") => '[',
                Some("]") => ']',
                other => return Err(format!("{}: bad bracket {other:?} in {what:?}", self.name)),
            };
            let at = match (words.next(), words.next()) {
                (Some("at"), Some(pos)) => {
                    let (l, c) = pos.split_once(':').ok_or_else(|| format!("{}: bad position {pos:?}", self.name))?;
                    let num = |s: &str| s.parse::<usize>().map_err(|_| format!("{}: bad position {pos:?}", self.name));
                    Some((num(l)?, num(c)?))
                }
                (None, _) => None,
                _ => return Err(format!("{}: cannot read {what:?}", self.name)),
            };
            return Ok(ExpectedError::Unmatched { bracket, at });
        }
        let word = match what {
            "tape underflow" => "tape underflow",
            "tape overflow" => "tape overflow",
            _ => return Err(format!("{}: unknown expected error {what:?}", self.name)),
        };
        // "stdout before the error: 'A'"; no such field means nothing is printed.
        let stdout = match self.note_fields().find_map(|f| f.strip_prefix("stdout before the error: ")) {
            Some(quoted) => quoted
                .strip_prefix('\'')
                .and_then(|q| q.strip_suffix('\''))
                .ok_or_else(|| format!("{}: cannot read stdout {quoted:?}", self.name))?
                .as_bytes()
                .to_vec(),
            None => Vec::new(),
        };
        Ok(ExpectedError::Tape { word, stdout })
    }
}
