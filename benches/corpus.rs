//! `make bench`: how fast bfc's output runs, against two Brainfuck-to-C
//! translations compiled with `gcc -O2` (a naive one, one C statement per
//! command, and an optimising one: runs folded, offsets, multiplies, scans,
//! see `harness/optc.rs`), on the corpus's benchmark programs and on the
//! wider set of `benches/programs/`; idiom micro-benchmarks against scalar
//! C loops (`benches/idioms/`, `harness/idioms.rs`); how fast bfc compiles;
//! and a chart of the ratios.
//!
//! Everything is timed as a whole process (`std::process::Command`, stdin
//! from the program's input or `/dev/null`, stdout to `/dev/null`):
//!
//! | mode          | command                                    | includes          |
//! |---------------|--------------------------------------------|-------------------|
//! | jit           | `bfc --jit PROG` (-O2)                     | compile + run     |
//! | exe           | the executable from `bfc -O2 -o EXE PROG`  | run only          |
//! | jit -O0       | `bfc --jit -O0 PROG`                       | compile + run     |
//! | interp        | `bfc --interp PROG` (runs the -O2 IR)      | compile + run     |
//! | naive C       | one C statement per command, `gcc -O2`     | run only          |
//! | opt C         | folded IR as C (`harness/optc.rs`), -O2    | run only          |
//!
//! A program that prints forever (the wider set's `stop_after`) is timed
//! to its N-th output byte, read from a pipe, then killed.
//! bfc writes its output in 64 KiB blocks, and the C baselines are given
//! the same buffer (`setvbuf`), so with N a multiple of 64 KiB no one
//! computes output beyond what is read. With another N (programs whose
//! 64 KiB take minutes: rule30, e_digits) every mode writes each byte as
//! it is made (`bfc -u`, `BFRT_UNBUFFERED=1`, `_IONBF`): a buffered writer
//! would compute up to a whole buffer more than the reader takes.
//!
//! Each mode gets one warm-up run whose output is checked against the
//! expected output (a mismatch is flagged in the table); then
//! `BFC_BENCH_RUNS` rounds (default 5), each running every mode once, in
//! an order rotated from round to round, so that the modes of a round meet
//! the same machine. A time is a whole process's CPU seconds (user and
//! system, from `wait4`; a program that prints forever until it is
//! killed), the least over the rounds, and a ratio is the ratio of two
//! least times: on a shared machine noise only ever adds time (another
//! tenant's work, a migration, a descheduled process's wait), so the least
//! CPU time is the figure that repeats (wall times' medians of 3 rounds
//! moved idiom rows by 0.3 between runs, docs/performance.md). A run is
//! killed after 120 s; the interpreter is skipped when its warm-up takes
//! over 10 s.
//!
//! Next to the times: the code bytes, the size of the code sections of
//! `bfc -c -O2` (compiled as a build compiles, read with `object`).
//!
//! The compile table times `bfc -c PROG -o X.o` (parse, optimise, generate
//! code, write the object; CPU, the least of the rounds) on every
//! benchmark source and on two synthetic programs of 1 MiB and 10 MiB,
//! twice: with `--eval-steps 0`, which is
//! what `--jit` compiles before it runs, and as a build (with compile-time
//! execution); with the peak RSS from `/usr/bin/time -f %M` (or, without
//! it, an upper bound from `wait4`).
//!
//! Programs: the rows of the corpus's MANIFEST.tsv of kind `benchmark` or
//! `both` whose notes give a reference (fastbf) runtime under 20 s, plus
//! factor.b on two extra inputs; then the wider set. Environment:
//!
//! * `BFC_CORPUS`: the corpus (default `../shared/corpus` beside the crate)
//! * `BFC_BENCH_RUNS`: timed rounds per program (default 5)
//! * `BFC_BENCH_ALL=1`: also the slow programs (impeccable, mandelbrot_huge,
//!   and the wider set's rows marked slow: none since rule30 and e_digits
//!   are timed unbuffered to fewer bytes)
//! * `BFC_BENCH_ONLY=a,b`: only these programs (and idioms, by file stem)
//! * `BFC_BENCH_SET=corpus,wider,idioms,widths,compile`: only these parts
//!   (default all five; `widths`: mandelbrot and factor at 16- and 32-bit
//!   cells against 8, `harness/widths.rs`)
//! * `BFC_BIN`: the bfc to measure (default the one cargo built)
//!
//! The report is printed and written as markdown to `target/bench.md`, the
//! chart to `target/bench/ratios.svg`.
//!
//! The manifest reader, the way each mode is run and the process runner are
//! the integration tests' (`tests/common`).

#[path = "../tests/common/mod.rs"]
mod common;

#[path = "harness/chart.rs"]
mod chart;
#[path = "harness/idioms.rs"]
mod idioms;
#[path = "harness/optc.rs"]
mod optc;
#[path = "harness/wider.rs"]
mod wider;
#[path = "harness/widths.rs"]
mod widths;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::manifest::{self, Output};
use common::{bfc, corpus_dir, env_num, mode_command, run, run_measured, tempdir, Run};

const RUN_LIMIT: Duration = Duration::from_secs(120);
/// bfc's output buffer, and the C baselines' (`setvbuf`).
const OUTPUT_BUFFER: usize = 1 << 16;
const INTERP_LIMIT: Duration = Duration::from_secs(10);
/// Programs slower than this under the corpus's reference interpreter are
/// left out unless `BFC_BENCH_ALL=1`.
const FASTBF_LIMIT_S: f64 = 20.0;
const ALWAYS: [&str; 6] = ["mandelbrot", "hanoi", "long", "bench", "factor", "factor_big"];
/// factor.b on extra inputs: (table name, number).
const FACTOR_EXTRA: [(&str, u64); 2] =
    [("factor-179424691", 179_424_691), ("factor-big-133333333333333333", 133_333_333_333_333_333)];
const SYNTHETIC_SIZES: [usize; 2] = [1 << 20, 10 << 20];

struct Config {
    corpus: PathBuf,
    runs: usize,
    all: bool,
    only: Option<Vec<String>>,
    sets: Vec<String>,
}

impl Config {
    fn from_env() -> Config {
        let corpus = corpus_dir();
        let runs = env_num("BFC_BENCH_RUNS", 5usize);
        let all = std::env::var("BFC_BENCH_ALL").is_ok_and(|s| s == "1");
        let list = |name: &str| std::env::var(name).ok().map(|s| s.split(',').map(|n| n.trim().to_string()).collect());
        let only = list("BFC_BENCH_ONLY");
        let sets = list("BFC_BENCH_SET")
            .unwrap_or_else(|| ["corpus", "wider", "idioms", "widths", "compile"].map(String::from).to_vec());
        Config { corpus, runs: runs.max(1), all, only, sets }
    }

    fn set(&self, name: &str) -> bool {
        self.sets.iter().any(|s| s == name)
    }

    fn wanted(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|n| n == name))
    }
}

struct Program {
    name: String,
    source: PathBuf,
    input: Option<PathBuf>,
    expected: Output,
    tape_cells: u64,
    /// bfc's flags for the tape size, when not the default.
    flags: Vec<String>,
    /// Prints forever: timed to this many output bytes.
    stop_after: Option<usize>,
    /// Also `jit -O0` and `interp` (the corpus; the wider set has only the
    /// modes its ratios need, to keep `make bench` short).
    all_modes: bool,
}

impl Program {
    /// Every mode writes each output byte as it is made: `stop_after` is not
    /// a whole number of output buffers.
    fn unbuffered(&self) -> bool {
        self.stop_after.is_some_and(|n| n % OUTPUT_BUFFER != 0)
    }
}

// ---------------------------------------------------------------- corpus

/// The programs to benchmark, in table order.
fn select_programs(cfg: &Config, scratch: &Path) -> Result<Vec<Program>, String> {
    let mut programs = Vec::new();
    let mut rest = Vec::new();
    for entry in manifest::load(&cfg.corpus)? {
        let name = entry.name.as_str();
        let wanted = ALWAYS.contains(&name)
            || (matches!(entry.kind.as_str(), "benchmark" | "both")
                && (cfg.all || entry.fastbf_secs().is_some_and(|s| s < FASTBF_LIMIT_S)));
        if !wanted {
            continue;
        }
        let program = corpus_program(&cfg.corpus, &entry)?;
        if ALWAYS.contains(&name) {
            programs.push(program);
        } else {
            rest.push(program);
        }
    }
    programs.sort_by_key(|p| ALWAYS.iter().position(|&n| n == p.name));
    programs.extend(factor_extras(&cfg.corpus, scratch).map_err(|e| e.to_string())?);
    programs.extend(rest);
    programs.retain(|p| cfg.wanted(&p.name));
    Ok(programs)
}

fn corpus_program(corpus: &Path, entry: &manifest::Entry) -> Result<Program, String> {
    let input = corpus.join("progs").join(format!("{}.in", entry.name));
    let tape_cells = entry.tape_cells();
    Ok(Program {
        name: entry.name.clone(),
        source: entry.program(corpus),
        input: input.exists().then_some(input),
        expected: entry.expected_output(corpus)?,
        tape_cells: tape_cells.unwrap_or(65536),
        flags: tape_cells.map(|n| vec!["--tape-size".to_string(), n.to_string()]).unwrap_or_default(),
        stop_after: None,
        all_modes: true,
    })
}

/// factor.b on the extra inputs; the expected output is computed here.
fn factor_extras(corpus: &Path, scratch: &Path) -> io::Result<Vec<Program>> {
    let mut programs = Vec::new();
    for (name, n) in FACTOR_EXTRA {
        let input = scratch.join(format!("{name}.in"));
        fs::write(&input, format!("{n}\n"))?;
        programs.push(Program {
            name: name.to_string(),
            source: corpus.join("progs/factor.b"),
            input: Some(input),
            expected: Output::Bytes(factor_output(n).into_bytes()),
            tape_cells: 65536,
            flags: Vec::new(),
            stop_after: None,
            all_modes: true,
        });
    }
    Ok(programs)
}

/// What factor.b prints for `n`: "n: p1 p2 ...\n" (trial division).
fn factor_output(mut n: u64) -> String {
    let mut out = format!("{n}:");
    let mut d = 2;
    while d * d <= n {
        while n.is_multiple_of(d) {
            write!(out, " {d}").unwrap();
            n /= d;
        }
        d += 1;
    }
    if n > 1 {
        write!(out, " {n}").unwrap();
    }
    out + "\n"
}

/// The wider set (`benches/programs/`), slow rows only with `BFC_BENCH_ALL=1`.
fn wider_programs(cfg: &Config) -> Result<Vec<Program>, String> {
    let mut programs = Vec::new();
    for entry in wider::load(&wider::dir())? {
        if (entry.slow && !cfg.all) || !cfg.wanted(&entry.name) {
            continue;
        }
        let expected = match entry.expected {
            Ok(expected) => expected,
            Err(e) => {
                eprintln!("  {:<32} left out: {e}", entry.name);
                continue;
            }
        };
        let flags = if entry.tape_cells == 65536 {
            Vec::new()
        } else {
            vec!["--tape-size".to_string(), entry.tape_cells.to_string()]
        };
        programs.push(Program {
            name: entry.name,
            source: entry.program,
            input: entry.input,
            expected,
            tape_cells: entry.tape_cells,
            flags,
            stop_after: entry.stop_after,
            all_modes: false,
        });
    }
    Ok(programs)
}

// ---------------------------------------------------------------- builds

/// One C statement per Brainfuck command; comments are dropped. Output
/// through a 64 KiB stdio buffer, as bfc's.
fn naive_c(source: &[u8], tape_cells: u64) -> String {
    let mut c = format!(
        "#include <stdio.h>\nstatic unsigned char tape[{tape_cells}];\n\
         static char obuf[1 << 16];\n\
         int main(void) {{\nsetvbuf(stdout, obuf, _IOFBF, sizeof obuf);\n\
         unsigned char *p = tape;\nint c;\n"
    );
    for &byte in source {
        let statement = match byte {
            b'+' => "++*p;",
            b'-' => "--*p;",
            b'>' => "++p;",
            b'<' => "--p;",
            b'.' => "putchar(*p);",
            b',' => "c = getchar(); if (c != EOF) *p = c;",
            b'[' => "while (*p) {",
            b']' => "}",
            _ => continue,
        };
        c.push_str(statement);
        c.push('\n');
    }
    c + "(void)c;\nreturn 0;\n}\n"
}

/// Runs a build step; its stderr is shown.
fn build(command: &mut Command, what: &str) -> Result<(), String> {
    let got = run(command, b"", RUN_LIMIT);
    if got.exited(0) {
        return Ok(());
    }
    eprintln!("{what} failed ({}):\n{}", got.status(), got.stderr_text());
    Err("build failed".to_string())
}

/// Compiles C with `gcc -O2 EXTRA`.
fn gcc(c: &str, dir: &Path, stem: &str, extra: &[&str]) -> Result<PathBuf, String> {
    let c_file = dir.join(format!("{stem}.c"));
    let exe = dir.join(stem);
    fs::write(&c_file, c).map_err(|e| e.to_string())?;
    build(Command::new("gcc").arg("-O2").args(extra).arg("-o").arg(&exe).arg(&c_file), "gcc -O2")?;
    Ok(exe)
}

fn build_naive(prog: &Program, dir: &Path) -> Result<PathBuf, String> {
    let source = fs::read(&prog.source).map_err(|e| e.to_string())?;
    gcc(&c_output(prog, naive_c(&source, prog.tape_cells)), dir, &format!("{}.naive", prog.name), &[])
}

fn build_optc(prog: &Program, dir: &Path) -> Result<PathBuf, String> {
    let source = fs::read(&prog.source).map_err(|e| e.to_string())?;
    let c = optc::translate(&source, prog.tape_cells as usize)?;
    gcc(&c_output(prog, c), dir, &format!("{}.optc", prog.name), &[])
}

/// A C baseline's output: buffered as bfc's (64 KiB), or unbuffered where
/// the program is timed so (`Program::unbuffered`).
fn c_output(prog: &Program, c: String) -> String {
    const BUFFERED: &str = "setvbuf(stdout, obuf, _IOFBF, sizeof obuf);";
    assert!(c.contains(BUFFERED), "a C baseline sets its output buffer");
    if prog.unbuffered() {
        c.replace(BUFFERED, "setvbuf(stdout, NULL, _IONBF, 0);")
    } else {
        c
    }
}

fn build_exe(prog: &Program, dir: &Path) -> Result<PathBuf, String> {
    let exe = dir.join(format!("{}.bfc", prog.name));
    match mode_command(common::Mode::Exe(2), &prog.source, &prog.flags, &exe, RUN_LIMIT) {
        Ok(_) => Ok(exe),
        Err(got) => {
            eprintln!("bfc -O2 -o failed ({}):\n{}", got.status(), got.stderr_text());
            Err("build failed".to_string())
        }
    }
}

/// Bytes of code in what `bfc -c -O2` makes of the program (the sections
/// of kind text of the object: the generated code and its stubs).
fn code_bytes(source: &Path, flags: &[String], dir: &Path) -> Result<u64, String> {
    use object::{Object, ObjectSection, SectionKind};
    let obj = dir.join("code.o");
    let mut command = Command::new(bfc());
    command.arg("-c").arg("-O2").args(flags).arg(source).arg("-o").arg(&obj);
    build(&mut command, "bfc -c")?;
    let data = fs::read(&obj).map_err(|e| e.to_string())?;
    let file = object::File::parse(&*data).map_err(|e| e.to_string())?;
    Ok(file.sections().filter(|s| s.kind() == SectionKind::Text).map(|s| s.size()).sum())
}

// ---------------------------------------------------------------- processes

/// Runs `command` to the end or until `limit`, stdin from `stdin` (or
/// /dev/null), stderr to ours: timed from spawn to exit, with wait4's peak
/// RSS.
fn run_once(command: &mut Command, stdin: Option<&Path>, stdout: Stdio, limit: Duration) -> io::Result<Run> {
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path)?),
        None => Stdio::null(),
    };
    command.stdin(stdin).stdout(stdout).stderr(Stdio::inherit());
    common::start(command, b"", limit)
}

/// A run of a program that prints forever: from the spawn to its `n`-th
/// output byte read from a pipe, after which it is killed. The bytes are
/// kept if `keep`. Fails if the output ends first or `limit` passes.
fn run_to_bytes(
    command: &mut Command,
    stdin: Option<&Path>,
    n: usize,
    limit: Duration,
    keep: bool,
) -> Result<(f64, Vec<u8>), String> {
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path).map_err(|e| e.to_string())?),
        None => Stdio::null(),
    };
    command.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    let mut out = child.stdout.take().expect("piped stdout");
    let pid = child.id() as libc::pid_t;
    let (done, wait_done) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        let expired = wait_done.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout);
        if expired {
            // SAFETY: a plain syscall; the child is reaped only after this
            // thread is joined, so `pid` is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        expired
    });
    let (mut got, mut kept, mut buf) = (0usize, Vec::new(), vec![0u8; 1 << 16]);
    let mut error = None;
    while got < n {
        let want = (n - got).min(buf.len());
        match out.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(k) => {
                if keep {
                    kept.extend_from_slice(&buf[..k]);
                }
                got += k;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    drop(done);
    let expired = watchdog.join().expect("the watchdog thread");
    let _ = child.kill();
    drop(out);
    // Its CPU time up to the kill, just after its n-th byte was read.
    let (_, usage) = common::reap(pid).map_err(|e| format!("cannot reap the child: {e}"))?;
    let secs = common::cpu_secs(&usage);
    if expired {
        return Err(format!("timed out after {:.1}s", limit.as_secs_f64()));
    }
    if let Some(e) = error {
        return Err(e);
    }
    if got < n {
        return Err(format!("output ended after {got} of {n} bytes"));
    }
    Ok((secs, kept))
}

// ---------------------------------------------------------------- measuring

/// A column of the speed table: a way bfc runs a program, or a C baseline.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bfc(common::Mode),
    Naive,
    OptC,
}

const MODES: [Mode; 6] = [
    Mode::Bfc(common::Mode::Jit(2)),
    Mode::Bfc(common::Mode::Exe(2)),
    Mode::Bfc(common::Mode::Jit(0)),
    Mode::Bfc(common::Mode::Interp),
    Mode::Naive,
    Mode::OptC,
];
const JIT: usize = 0;
const EXE: usize = 1;
const NAIVE: usize = 4;
const OPTC: usize = 5;

impl Mode {
    fn label(self) -> String {
        match self {
            Mode::Bfc(mode) => mode.label(),
            Mode::Naive => "naive C".to_string(),
            Mode::OptC => "opt C".to_string(),
        }
    }

    fn command(self, prog: &Program, built: &Built) -> Result<Command, String> {
        match self {
            Mode::Bfc(common::Mode::Exe(_)) => {
                let mut command = Command::new(built.exe.as_ref()?);
                if prog.unbuffered() {
                    command.env("BFRT_UNBUFFERED", "1");
                }
                Ok(command)
            }
            Mode::Naive => Ok(Command::new(built.naive.as_ref()?)),
            Mode::OptC => Ok(Command::new(built.optc.as_ref()?)),
            // No build: the executable's path is not used.
            Mode::Bfc(mode) => {
                let unbuffered = prog.unbuffered().then(|| "-u".to_string());
                let flags: Vec<String> = prog.flags.iter().cloned().chain(unbuffered).collect();
                match mode_command(mode, &prog.source, &flags, Path::new(""), RUN_LIMIT) {
                    Ok((command, _)) => Ok(command),
                    Err(got) => Err(got.status()),
                }
            }
        }
    }
}

/// A program's executables, built once.
struct Built {
    exe: Result<PathBuf, String>,
    naive: Result<PathBuf, String>,
    optc: Result<PathBuf, String>,
}

/// One cell of the speed table.
enum Cell {
    Time { seconds: f64, output_ok: bool },
    Skipped(String),
    Failed(String),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Time { seconds, output_ok: true } => format!("{seconds:.3}"),
            Cell::Time { seconds, output_ok: false } => format!("**{seconds:.3} WRONG OUTPUT**"),
            Cell::Skipped(why) => why.clone(),
            Cell::Failed(why) => format!("**{why}**"),
        }
    }
}

/// One run of `command`: seconds, or why it failed; the output is checked
/// (against `expected`) when `check` is given.
fn one_run(
    command: &mut Command,
    prog: &Program,
    limit: Duration,
    check: Option<&Path>,
) -> Result<(f64, Option<bool>), (String, bool)> {
    if let Some(n) = prog.stop_after {
        let (secs, bytes) = run_to_bytes(command, prog.input.as_deref(), n, limit, check.is_some()).map_err(|e| {
            let timed_out = e.starts_with("timed out");
            (e, timed_out)
        })?;
        return Ok((secs, check.map(|_| prog.expected.differs(&bytes).is_none())));
    }
    let stdout = match check {
        Some(path) => Stdio::from(File::create(path).map_err(|e| (e.to_string(), false))?),
        None => Stdio::null(),
    };
    match run_once(command, prog.input.as_deref(), stdout, limit) {
        Ok(run) if run.exited(0) => {
            let ok = check.map(|path| fs::read(path).is_ok_and(|got| prog.expected.differs(&got).is_none()));
            Ok((run.cpu_secs, ok))
        }
        Ok(run) => Err((run.status(), run.timed_out)),
        Err(e) => Err((e.to_string(), false)),
    }
}

/// Every mode of one program: a warm-up each (output checked), then `runs`
/// rounds of one run of each mode, the order rotated from round to round.
/// The cells, and each mode's times by round (empty for a mode that failed
/// or was skipped).
fn measure_program(prog: &Program, built: &Built, runs: usize, scratch: &Path) -> (Vec<Cell>, Vec<Vec<f64>>) {
    let mut commands: Vec<Option<Command>> = Vec::new();
    let mut cells: Vec<Option<Cell>> = Vec::new();
    let mut output_ok = Vec::new();
    let captured = scratch.join("stdout");
    for &mode in &MODES {
        let interp = mode == Mode::Bfc(common::Mode::Interp);
        if !prog.all_modes && matches!(mode, Mode::Bfc(common::Mode::Interp | common::Mode::Jit(0))) {
            commands.push(None);
            cells.push(Some(Cell::Skipped("-".into())));
            output_ok.push(false);
            continue;
        }
        let limit = if interp { INTERP_LIMIT } else { RUN_LIMIT };
        let warm = mode.command(prog, built).map_err(|e| (e, false)).and_then(|mut command| {
            let got = one_run(&mut command, prog, limit, Some(&captured))?;
            Ok((command, got))
        });
        match warm {
            Ok((command, (_, ok))) => {
                commands.push(Some(command));
                cells.push(None);
                output_ok.push(ok.unwrap_or(true));
            }
            Err((why, timed_out)) => {
                commands.push(None);
                cells.push(Some(if timed_out && interp {
                    Cell::Skipped("skip (>10s)".into())
                } else {
                    Cell::Failed(why)
                }));
                output_ok.push(false);
            }
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    for round in 0..runs {
        for k in 0..MODES.len() {
            let m = (k + round) % MODES.len();
            let Some(command) = commands[m].as_mut() else { continue };
            match one_run(command, prog, RUN_LIMIT, None) {
                Ok((secs, _)) => times[m].push(secs),
                Err((why, _)) => {
                    commands[m] = None;
                    cells[m] = Some(Cell::Failed(why));
                    times[m].clear();
                }
            }
        }
    }
    let cells = cells
        .into_iter()
        .enumerate()
        .map(|(m, cell)| cell.unwrap_or_else(|| Cell::Time { seconds: least(&times[m]), output_ok: output_ok[m] }))
        .collect();
    (cells, times)
}

/// The least of `values` (not empty).
fn least(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// The ratio of the least times of `a` and `b`, when both have some.
fn ratio_of_least(a: &[f64], b: &[f64]) -> Option<f64> {
    (!a.is_empty() && !b.is_empty() && least(b) > 0.0).then(|| least(a) / least(b))
}

// ---------------------------------------------------------------- tables

/// One program's row of ratios, for the chart.
struct Ratios {
    name: String,
    jit_optc: Option<f64>,
    exe_optc: Option<f64>,
}

fn speed_table(programs: &[Program], cfg: &Config, scratch: &Path, ratios: &mut Vec<Ratios>) -> String {
    let mut table = String::from(
        "| program | jit | exe | jit -O0 | interp | naive C | opt C | jit/naive | exe/naive | jit/opt C | exe/opt C \
         | code bytes |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for prog in programs {
        let built =
            Built { exe: build_exe(prog, scratch), naive: build_naive(prog, scratch), optc: build_optc(prog, scratch) };
        let code = match code_bytes(&prog.source, &prog.flags, scratch) {
            Ok(n) => n.to_string(),
            Err(e) => format!("**{e}**"),
        };
        let (cells, times) = measure_program(prog, &built, cfg.runs, scratch);
        for (mode, cell) in MODES.iter().zip(&cells) {
            eprintln!("  {:<32} {:<14} {}", prog.name, mode.label(), cell.text());
        }
        let ratio = |a: usize, b: usize| ratio_of_least(&times[a], &times[b]);
        let text = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
        let name = match prog.stop_after {
            Some(n) => format!("{} (to {} bytes)", prog.name, n),
            None => prog.name.clone(),
        };
        let texts: Vec<String> = cells.iter().map(Cell::text).collect();
        writeln!(
            table,
            "| {name} | {} | {} | {} | {} | {} | {code} |",
            texts.join(" | "),
            text(ratio(JIT, NAIVE)),
            text(ratio(EXE, NAIVE)),
            text(ratio(JIT, OPTC)),
            text(ratio(EXE, OPTC)),
        )
        .unwrap();
        ratios.push(Ratios { name: prog.name.clone(), jit_optc: ratio(JIT, OPTC), exe_optc: ratio(EXE, OPTC) });
    }
    table
}

/// One idiom at one length: bfc's jit and exe against the C reference.
struct IdiomRow {
    label: String,
    jit_c: Option<f64>,
    exe_c: Option<f64>,
}

/// Each idiom at each length, jit and exe against the C reference, and
/// what `--jit` spends compiling (`bfc -c --eval-steps 0`: the object
/// written and the process's start included): at the long lengths the
/// set-up's source (330 KB at 32768 frames) is most of the jit's row.
fn idiom_table(cfg: &Config, scratch: &Path, rows: &mut Vec<IdiomRow>) -> String {
    let mut table = String::from(
        "| idiom | length | reps | jit | exe | C reference | jit/C | exe/C | compile ms |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let tape = vec!["--tape-size".to_string(), idioms::TAPE.to_string()];
    for idiom in idioms::all() {
        if !cfg.wanted(idiom.file) {
            continue;
        }
        for len in idioms::LENGTHS {
            let stem = format!("idiom-{}-{len}", idiom.file);
            let source = scratch.join(format!("{stem}.b"));
            let built = fs::write(&source, idiom.bf(len)).map_err(|e| e.to_string()).and_then(|()| {
                let exe = scratch.join(format!("{stem}.bfc"));
                let exe = match mode_command(common::Mode::Exe(2), &source, &tape, &exe, RUN_LIMIT) {
                    Ok(_) => exe,
                    Err(got) => return Err(format!("bfc -o: {}", got.status())),
                };
                let reference = gcc(
                    &idiom.c(len),
                    scratch,
                    &format!("{stem}.ref"),
                    &["-fno-tree-vectorize", "-fno-tree-loop-distribute-patterns"],
                )?;
                let jit = mode_command(common::Mode::Jit(2), &source, &tape, Path::new(""), RUN_LIMIT)
                    .map_err(|got| got.status())?
                    .0;
                Ok([jit, Command::new(exe), Command::new(reference)])
            });
            let (a, b, c) = idioms::reps(len);
            let mut commands = match built {
                Ok(commands) => commands,
                Err(e) => {
                    writeln!(table, "| {} | {len} | {} | **{e}** | | | | | |", idiom.name, a * b * c).unwrap();
                    continue;
                }
            };
            // A warm-up each, then paired rounds.
            let mut times = [Vec::new(), Vec::new(), Vec::new()];
            let mut failed = None;
            for round in 0..=cfg.runs {
                for k in 0..3 {
                    let m = (k + round) % 3;
                    match run_once(&mut commands[m], None, Stdio::null(), RUN_LIMIT) {
                        Ok(run) if run.exited(0) => {
                            if round > 0 {
                                times[m].push(run.cpu_secs)
                            }
                        }
                        Ok(run) => failed = Some(run.status()),
                        Err(e) => failed = Some(e.to_string()),
                    }
                }
            }
            if let Some(why) = failed {
                writeln!(table, "| {} | {len} | {} | **{why}** | | | | | |", idiom.name, a * b * c).unwrap();
                continue;
            }
            // What `--jit` spends compiling before it runs (the set-up of
            // the long lengths is most of the source).
            let tape_size = idioms::TAPE.to_string();
            let compile = time_compile(&source, &["--eval-steps", "0", "--tape-size", &tape_size], cfg.runs, scratch)
                .map_or_else(|e| format!("**{e}**"), |(ms, _)| format!("{ms:.1}"));
            let (jit_c, exe_c) = (ratio_of_least(&times[0], &times[2]), ratio_of_least(&times[1], &times[2]));
            let text = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
            eprintln!(
                "  {:<28} {len:>6}  jit {:.3}  exe {:.3}  C {:.3}",
                idiom.name,
                least(&times[0]),
                least(&times[1]),
                least(&times[2])
            );
            writeln!(
                table,
                "| {} | {len} | {} | {:.3} | {:.3} | {:.3} | {} | {} | {compile} |",
                idiom.name,
                a * b * c,
                least(&times[0]),
                least(&times[1]),
                least(&times[2]),
                text(jit_c),
                text(exe_c)
            )
            .unwrap();
            rows.push(IdiomRow { label: format!("{} ({len})", idiom.name), jit_c, exe_c });
        }
    }
    table
}

fn compile_table(programs: &[Program], cfg: &Config, scratch: &Path) -> String {
    let mut table = String::from(
        "| program | source bytes | JIT compile ms | peak RSS MiB | build compile ms | peak RSS MiB |\n\
         |---|--:|--:|--:|--:|--:|\n",
    );
    let mut seen = HashSet::new();
    let mut sources: Vec<(String, PathBuf)> =
        programs.iter().filter(|p| seen.insert(p.source.clone())).map(|p| (p.name.clone(), p.source.clone())).collect();
    for (i, &size) in SYNTHETIC_SIZES.iter().enumerate() {
        let path = scratch.join(format!("synthetic-{}MiB.b", size >> 20));
        if let Err(e) = fs::write(&path, synthetic(size, 0x9e37_79b9_7f4a_7c15 + i as u64)) {
            eprintln!("cannot write {}: {e}", path.display());
            continue;
        }
        sources.push((format!("synthetic {} MiB", size >> 20), path));
    }
    for (name, source) in sources {
        let bytes = fs::metadata(&source).map(|m| m.len()).unwrap_or(0);
        // What `--jit` compiles (no compile-time execution by default), and
        // what a build does (with it).
        let row = [JIT_COMPILE, BUILD_COMPILE]
            .iter()
            .map(|flags| match time_compile(&source, flags, cfg.runs, scratch) {
                Ok((ms, rss)) => format!("{ms:.1} | {rss}"),
                Err(e) => format!("**{e}** | -"),
            })
            .collect::<Vec<_>>()
            .join(" | ");
        eprintln!("  {name:<32} compile        {row}");
        writeln!(table, "| {name} | {bytes} | {row} |").unwrap();
    }
    table
}

/// `bfc -c` flags that compile as `--jit` does, and as a build does.
const JIT_COMPILE: &[&str] = &["--eval-steps", "0"];
const BUILD_COMPILE: &[&str] = &[];

/// `bfc -c FLAGS`: least milliseconds and peak RSS (MiB, as text).
fn time_compile(source: &Path, flags: &[&str], runs: usize, scratch: &Path) -> Result<(f64, String), String> {
    let object = scratch.join("compile.o");
    let mut command = Command::new(bfc());
    command.arg("-c").args(flags).arg(source).arg("-o").arg(&object);
    let mut times = Vec::with_capacity(runs);
    let mut wait4_rss = 0;
    for i in 0..=runs {
        let run = run_once(&mut command, None, Stdio::null(), RUN_LIMIT).map_err(|e| e.to_string())?;
        if !run.exited(0) {
            return Err(run.status());
        }
        wait4_rss = wait4_rss.max(run.peak_rss_kib);
        if i > 0 {
            times.push(run.cpu_secs * 1000.0);
        }
    }
    // wait4's figure is only the fallback: an upper bound (see `Run`).
    let rss = match run_measured(&command, b"", RUN_LIMIT) {
        (run, Some(kib)) if run.exited(0) => format!("{:.1}", kib as f64 / 1024.0),
        _ => format!("<= {:.1}", wait4_rss as f64 / 1024.0),
    };
    Ok((least(&times), rss))
}

/// A valid program of about `size` bytes: a random mix of all eight
/// commands inside `,[ ... ]`, so it runs nothing on empty input but the
/// optimiser cannot drop it. Every loop leaves the pointer where it found
/// it and the pointer stays in cells 0..64, so nothing is statically out of
/// bounds.
fn synthetic(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut out = b",[".to_vec();
    let mut pos: i64 = 0;
    let mut opened = vec![0i64];
    let close = |out: &mut Vec<u8>, pos: &mut i64, at: i64| {
        let step = if *pos > at { b'<' } else { b'>' };
        out.extend(std::iter::repeat_n(step, pos.abs_diff(at) as usize));
        out.push(b']');
        *pos = at;
    };
    while out.len() + opened.len() * 65 < size {
        match next(32) {
            0..=8 => out.push(b'+'),
            9..=15 => out.push(b'-'),
            16..=21 if pos < 63 => {
                out.push(b'>');
                pos += 1;
            }
            16..=27 if pos > 0 => {
                out.push(b'<');
                pos -= 1;
            }
            28 => out.push(b'.'),
            29 | 30 if opened.len() < 24 => {
                out.push(b'[');
                opened.push(pos);
            }
            31 if opened.len() > 1 => close(&mut out, &mut pos, opened.pop().unwrap()),
            _ => {}
        }
    }
    while let Some(at) = opened.pop() {
        close(&mut out, &mut pos, at);
    }
    out
}

// ---------------------------------------------------------------- report

/// "DATE — CPU, N CPUs", then the settings.
fn header(cfg: &Config) -> String {
    let date = Command::new("date").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown CPU");
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    let gcc = Command::new("gcc").arg("--version").output().map(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.lines().next().unwrap_or_default().to_string()
    });
    format!(
        "{} — {model}, {cpus} CPUs\n\n\
         Least CPU seconds (user + system) of {} round(s) after one warm-up, whole processes, stdout to /dev/null \
         (programs that print forever: to their N-th byte through a pipe); baselines: {}, naive and \
         optimising C; ratios of least times (rounds rotate the order of the modes) below 1 mean bfc is faster.\n",
        date.unwrap_or_else(|_| "unknown date".into()),
        cfg.runs,
        gcc.unwrap_or_else(|_| "gcc not found".into()),
    )
}

fn main() {
    let cfg = Config::from_env();
    let scratch = tempdir();
    let fail = |what: String| -> ! {
        eprintln!("{what}");
        std::process::exit(1);
    };
    let corpus = if cfg.set("corpus") || cfg.set("compile") {
        select_programs(&cfg, scratch.path()).unwrap_or_else(|e| {
            fail(format!("cannot read the corpus at {}: {e} (set BFC_CORPUS)", cfg.corpus.display()))
        })
    } else {
        Vec::new()
    };
    let wider = if cfg.set("wider") {
        wider_programs(&cfg).unwrap_or_else(|e| fail(format!("the wider set: {e}")))
    } else {
        Vec::new()
    };
    eprintln!(
        "bfc bench: {} corpus + {} wider programs, {} round(s) each, bfc = {}",
        if cfg.set("corpus") { corpus.len() } else { 0 },
        wider.len(),
        cfg.runs,
        bfc().display()
    );
    let mut report = header(&cfg);
    let mut ratios = Vec::new();
    if cfg.set("corpus") && !corpus.is_empty() {
        report += "\n## Run time (s): the corpus's benchmarks\n\n";
        report += &speed_table(&corpus, &cfg, scratch.path(), &mut ratios);
    }
    let corpus_rows = ratios.len();
    if !wider.is_empty() {
        report += "\n## Run time (s): the wider set (benches/programs)\n\n";
        report += &speed_table(&wider, &cfg, scratch.path(), &mut ratios);
    }
    let mut idiom_rows = Vec::new();
    if cfg.set("idioms") {
        report += "\n## Idioms (benches/idioms): bfc against a scalar C loop (gcc -O2, no vectorising)\n\n";
        report += &idiom_table(&cfg, scratch.path(), &mut idiom_rows);
    }
    if cfg.set("widths") {
        report += "\n## Cell widths: `bfc --jit --cell-bits W` against 8 bits (docs/dialects.md)\n\n";
        report += &widths::widths_table(&cfg);
    }
    if cfg.set("compile") && !corpus.is_empty() {
        report += "\n## Compile time: `bfc -c` (-O2), as `--jit` compiles (`--eval-steps 0`) and as a build does\n\n";
        let mut sources = corpus;
        sources.extend(wider);
        report += &compile_table(&sources, &cfg, scratch.path());
    }
    println!("\n{report}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let md = target.join("bench.md");
    match fs::write(&md, &report) {
        Ok(()) => eprintln!("written to {}", md.display()),
        Err(e) => eprintln!("cannot write {}: {e}", md.display()),
    }
    let svg = target.join("bench/ratios.svg");
    match draw_chart(&svg, &ratios, corpus_rows, &idiom_rows) {
        Ok(()) => eprintln!("chart written to {}", svg.display()),
        Err(e) => eprintln!("cannot draw {}: {e}", svg.display()),
    }
}

/// The chart: bfc over the optimising C per program and mode (the corpus,
/// the wider set), and over the C reference per idiom and length.
fn draw_chart(path: &Path, ratios: &[Ratios], corpus_rows: usize, idioms: &[IdiomRow]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let bars = |rows: &[Ratios]| -> Vec<chart::Bar> {
        rows.iter()
            .flat_map(|r| {
                [(r.jit_optc, "jit", 0), (r.exe_optc, "exe", 1)].into_iter().filter_map(|(ratio, mode, series)| {
                    ratio.map(|ratio| chart::Bar { label: format!("{} {mode}", r.name), ratio, series })
                })
            })
            .collect()
    };
    let idiom_bars: Vec<chart::Bar> = idioms
        .iter()
        .flat_map(|r| {
            [(r.jit_c, "jit", 0), (r.exe_c, "exe", 1)].into_iter().filter_map(|(ratio, mode, series)| {
                ratio.map(|ratio| chart::Bar { label: format!("{} {mode}", r.label), ratio, series })
            })
        })
        .collect();
    let date = Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output();
    let date = date.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let mut panels = Vec::new();
    if corpus_rows > 0 {
        panels.push(("corpus benchmarks: bfc / optimising C (gcc -O2)", bars(&ratios[..corpus_rows])));
    }
    if ratios.len() > corpus_rows {
        panels.push(("wider set: bfc / optimising C (gcc -O2)", bars(&ratios[corpus_rows..])));
    }
    if !idiom_bars.is_empty() {
        panels.push(("idioms: bfc / scalar C loop (gcc -O2), by length", idiom_bars));
    }
    chart::draw(path, &format!("make bench, {date}: time ratios (blue jit, orange exe)"), &panels)
}
