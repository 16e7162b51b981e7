//! The differential check: a generated program run by the library's
//! reference interpreter (the oracle) and by the binary in several modes;
//! stdout bytes and exit codes must agree.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bfc::code::{Status, TapeFault};
use bfc::host::Buffering;
use bfc::interp::{self, Config, Outcome};
use bfc::ir::EofMode;

use super::gen::Case;
use super::{run_mode, Mode};

/// The oracle's step budget: programs that need more are discarded.
pub const MAX_STEPS: u64 = 200_000;

const TIMEOUT: Duration = Duration::from_secs(20);

/// The exit code bfc gives for a run that ended with `status`.
pub fn exit_code(status: Status) -> i32 {
    match status {
        Status::Ok | Status::BrokenPipe => 0,
        Status::TapeUnderflow | Status::TapeOverflow => 3,
        Status::WriteError | Status::ReadError => 4,
        Status::ContractMismatch => 2,
    }
}

pub fn eof_flag(eof: EofMode) -> &'static str {
    match eof {
        EofMode::Unchanged => "unchanged",
        EofMode::Zero => "zero",
        EofMode::MinusOne => "minus-one",
    }
}

/// What the reference interpreter, on the unoptimised program, prints and
/// ends with; None if it does not finish within `MAX_STEPS`.
pub fn oracle(case: &Case) -> Option<(Vec<u8>, Status)> {
    oracle_located(case).map(|(out, status, _)| (out, status))
}

/// `oracle`, and where a tape error happened.
pub fn oracle_located(case: &Case) -> Option<(Vec<u8>, Status, Option<TapeFault>)> {
    let program = bfc::parse::parse("case.b", &case.program).expect("the generator makes balanced programs");
    let config = Config {
        tape_cells: case.tape,
        left_margin: case.left_margin,
        eof: case.eof,
        max_steps: Some(MAX_STEPS),
        cell_bits: case.cell_bits,
    };
    let mut out = Vec::new();
    match interp::run_located(&program, &config, &mut &case.input[..], &mut out, &mut std::io::sink(), Buffering::Full)
    {
        (Outcome::Finished(status), fault) => Some((out, status, fault)),
        (Outcome::OutOfSteps, _) => None,
    }
}

/// What bfc's message says of a tape error: which end of the tape, where
/// and which cell (`:3:5: error: tape underflow: cell -1 touched`): every
/// mode, optimised or not, names the unoptimised program's command and
/// cell (docs/diagnostics.md).
pub fn tape_error_words(status: Status, fault: Option<TapeFault>, source: &[u8]) -> Option<String> {
    let words = match status {
        Status::TapeUnderflow => "tape underflow",
        Status::TapeOverflow => "tape overflow",
        _ => return None,
    };
    let fault = fault.expect("the interpreter says where a tape error happened");
    let at = fault.at.expect("and at which command") as usize;
    let line = 1 + source[..at].iter().filter(|&&b| b == b'\n').count();
    let col = at - source[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
    Some(format!(":{line}:{col}: error: {words}: cell {} touched", fault.cell))
}

/// The modes a case runs in: JIT at -O0 and -O2 and the interpreter, plus
/// an executable for one seed in `exe_every`.
pub fn modes(seed: u64, exe_every: u64) -> Vec<Mode> {
    let mut modes = vec![Mode::Jit(0), Mode::Jit(2), Mode::Interp];
    if seed.is_multiple_of(exe_every) {
        // Optimised, and every other time unoptimised (where the tape
        // error's position is checked).
        modes.push(Mode::Exe(if (seed / exe_every).is_multiple_of(2) { 2 } else { 0 }));
    }
    modes
}

#[derive(Debug)]
pub enum Verdict {
    /// The oracle ran out of steps: nothing to compare.
    Discarded,
    Agreed,
    /// The modes that disagreed, each with what differed.
    Mismatch(Vec<(Mode, String)>),
}

/// Runs `case` in `modes` (files go to `work`) and compares each with the
/// oracle: output, exit code, and a tape error's command and cell.
pub fn check(case: &Case, work: &Path, modes: &[Mode]) -> Verdict {
    let Some((want_out, want_status, want_fault)) = oracle_located(case) else {
        return Verdict::Discarded;
    };
    let want_code = exit_code(want_status);
    let source = work.join(format!("seed-{}.b", case.seed));
    std::fs::write(&source, &case.program).expect("write a generated program");
    let exe = work.join(format!("seed-{}", case.seed));
    let flags = [
        "--eof".to_string(),
        eof_flag(case.eof).to_string(),
        "--tape-size".to_string(),
        case.tape.to_string(),
        "--left-margin".to_string(),
        case.left_margin.to_string(),
        "--cell-bits".to_string(),
        case.cell_bits.to_string(),
    ];
    let mut bad = Vec::new();
    for &mode in modes {
        // The JIT skips compile-time execution by default; the interpreter
        // is given it, so every program also runs what it leaves (and every
        // tenth does in an executable, where it is on by default). One JIT
        // run in four at -O2 is given a budget small enough to end inside
        // many programs' start (`--jit --eval-steps N`, undone at run time).
        let mut flags = flags.to_vec();
        if mode == Mode::Interp {
            flags.extend(["--eval-steps".to_string(), "200000".to_string()]);
        } else if mode == Mode::Jit(2) && case.seed % 4 == 1 {
            flags.extend(["--eval-steps".to_string(), "1000".to_string()]);
        }
        let got = run_mode(mode, &source, &flags, &case.input, &exe, TIMEOUT);
        let run = &got.run;
        let problem = if got.build_failed() {
            Some(format!("build failed: {}", run.summary()))
        } else if !run.exited(want_code) {
            Some(format!("{} (expected exit {want_code}), {}", run.status(), run.stderr_head()))
        } else if let Some(words) =
            tape_error_words(want_status, want_fault, &case.program).filter(|words| !run.stderr_text().contains(words))
        {
            Some(format!("exit 3 without \"{words}\", {}", run.stderr_head()))
        } else {
            super::describe_diff("stdout", &want_out, &run.stdout)
        };
        if let Some(problem) = problem {
            bad.push((mode, problem));
        }
    }
    let _ = std::fs::remove_file(&source);
    let _ = std::fs::remove_file(&exe);
    if bad.is_empty() {
        Verdict::Agreed
    } else {
        Verdict::Mismatch(bad)
    }
}

/// Saves `program` (and the case's input and settings) as
/// `target/SUBDIR/NAME.b`, `.in`, `.txt`; returns the `.b` path.
pub fn save(subdir: &str, name: &str, case: &Case, program: &[u8], report: &str) -> PathBuf {
    let dir = super::target_dir().join(subdir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let path = dir.join(format!("{name}.b"));
    let write = |p: PathBuf, bytes: &[u8]| {
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()))
    };
    write(path.clone(), program);
    write(dir.join(format!("{name}.in")), &case.input);
    let how = format!(
        "seed {}\nrun: bfc --jit --eof {} --tape-size {} --left-margin {} --cell-bits {} {} < {}\n{report}\n",
        case.seed,
        eof_flag(case.eof),
        case.tape,
        case.left_margin,
        case.cell_bits,
        path.display(),
        dir.join(format!("{name}.in")).display(),
    );
    write(dir.join(format!("{name}.txt")), how.as_bytes());
    path
}

/// One line per disagreeing mode.
pub fn describe(mismatch: &[(Mode, String)]) -> String {
    mismatch.iter().map(|(mode, what)| format!("    {}: {what}", mode.label())).collect::<Vec<_>>().join("\n")
}
