//! The wider benchmark set: `benches/programs/MANIFEST.tsv` (columns: name
//! program input tape stop_after slow source license what). `input` and
//! `stop_after` are `-` when the program reads nothing / ends by itself; a
//! program that prints forever is timed to its first `stop_after` bytes (a
//! multiple of 64 KiB: bfc and the C baselines all write 64 KiB buffers, so
//! none of them computes output beyond what is read). The expected output
//! is `NAME.out`, or `NAME.out.sha256` ("<sha256> <size>") when large; both
//! made by `benches/programs/expect.py` from `bfc --interp` and
//! `bfc --jit -O0`, which must agree.

use std::path::{Path, PathBuf};

use crate::common::manifest::Output;

pub struct Entry {
    pub name: String,
    pub program: PathBuf,
    pub input: Option<PathBuf>,
    pub tape_cells: u64,
    pub stop_after: Option<usize>,
    /// Over about 10 s a run: only with `BFC_BENCH_ALL=1`.
    pub slow: bool,
    /// Missing until `expect.py` has run.
    pub expected: Result<Output, String>,
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/programs")
}

pub fn load(dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let expected = "name\tprogram\tinput\ttape\tstop_after\tslow\tsource\tlicense\twhat";
    if header != expected {
        return Err(format!("{}: header is {header:?}, expected {expected:?}", path.display()));
    }
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, program, input, tape, stop_after, slow, _source, _license, _what] = cols[..] else {
            return Err(format!("{}:{}: {} columns, expected 9", path.display(), i + 2, cols.len()));
        };
        let bad = |what: &str| format!("{}:{}: bad {what}", path.display(), i + 2);
        entries.push(Entry {
            name: name.to_string(),
            program: dir.join(program),
            input: (input != "-").then(|| dir.join(input)),
            tape_cells: tape.parse().map_err(|_| bad("tape"))?,
            stop_after: match stop_after {
                "-" => None,
                n => Some(n.parse().map_err(|_| bad("stop_after"))?),
            },
            slow: slow == "yes",
            expected: expected_output(dir, name),
        });
    }
    Ok(entries)
}

fn expected_output(dir: &Path, name: &str) -> Result<Output, String> {
    let out = dir.join(format!("{name}.out"));
    if let Ok(bytes) = std::fs::read(&out) {
        return Ok(Output::Bytes(bytes));
    }
    let digest = dir.join(format!("{name}.out.sha256"));
    let text = std::fs::read_to_string(&digest)
        .map_err(|_| format!("no {} nor {} (run benches/programs/expect.py)", out.display(), digest.display()))?;
    let mut words = text.split_whitespace();
    match (words.next(), words.next().and_then(|n| n.parse().ok())) {
        (Some(sha256), Some(len)) if sha256.len() == 64 => Ok(Output::Digest { sha256: sha256.to_lowercase(), len }),
        _ => Err(format!("{}: expected \"<sha256> <size>\"", digest.display())),
    }
}
