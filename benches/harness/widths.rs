//! `make bench`'s cell widths: mandelbrot and factor in the JIT at 8, 16
//! and 32 bits (`--cell-bits`), as ratios to 8 bits. At wider cells only a
//! few passes run (docs/dialects.md), so factor, which moves 255-markers
//! one step at a time, takes 65535 steps a move at 16 bits and 4294967295
//! at 32: a run past `LIMIT` is shown as such.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::bfc;
use crate::{least, run_once, Config};

/// The longest a run may take.
const LIMIT: Duration = Duration::from_secs(60);

/// The table: each program's time at 8 bits, and at 16 and 32 its ratio.
pub fn widths_table(cfg: &Config) -> String {
    let mut table = String::from("| program | 8 bits (s) | 16 bits | 32 bits |\n|---|---|---|---|\n");
    let progs = cfg.corpus.join("progs");
    for (name, input) in [("mandelbrot", None), ("factor", Some("factor.in"))] {
        let source = progs.join(format!("{name}.b"));
        let input = input.map(|file| progs.join(file));
        let expected = std::fs::read(progs.join(format!("{name}.out"))).ok();
        let time = |bits: u32| least_time(&source, input.as_deref(), expected.as_deref(), bits, cfg.runs);
        let base = time(8);
        let ratio = |bits| match (time(bits), base) {
            (Some(t), Some(b)) => format!("{:.2}x ({t:.2} s)", t / b),
            _ => format!("failed or over {} s", LIMIT.as_secs()),
        };
        let (r16, r32) = (ratio(16), ratio(32));
        let base = base.map_or_else(|| "failed".to_string(), |b| format!("{b:.3}"));
        table += &format!("| {name} | {base} | {r16} | {r32} |\n");
    }
    table
}

/// The least CPU time of `runs` runs of `bfc --jit --cell-bits BITS`,
/// if each printed `expected` (when known) and exited 0 within `LIMIT`.
fn least_time(source: &Path, input: Option<&Path>, expected: Option<&[u8]>, bits: u32, runs: usize) -> Option<f64> {
    let mut secs = Vec::new();
    for _ in 0..runs {
        let mut command = Command::new(bfc());
        command.args(["--jit", "-w", "--cell-bits", &bits.to_string()]).arg(source);
        let run = run_once(&mut command, input, Stdio::piped(), LIMIT).ok()?;
        if !run.exited(0) || expected.is_some_and(|e| e != run.stdout) {
            return None;
        }
        secs.push(run.cpu_secs);
    }
    Some(least(&secs))
}
