//! `make bench`: how fast bfc's output runs on the corpus's benchmark
//! programs, against a naive Brainfuck-to-C translation compiled with
//! `gcc -O2`, and how fast bfc compiles.
//!
//! Everything is timed as a whole process (`std::process::Command`, stdin
//! from the program's `.in` file or `/dev/null`, stdout to `/dev/null`):
//!
//! | mode          | command                                    | includes          |
//! |---------------|--------------------------------------------|-------------------|
//! | jit           | `bfc --jit PROG` (-O2)                     | compile + run     |
//! | exe           | the executable from `bfc -O2 -o EXE PROG`  | run only          |
//! | jit -O0       | `bfc --jit -O0 PROG`                       | compile + run     |
//! | interp        | `bfc --interp PROG` (runs the -O2 IR)      | compile + run     |
//! | gcc -O2 naive | one C statement per command, `gcc -O2`     | run only          |
//!
//! Each mode gets one warm-up run, whose stdout goes to a file and is
//! checked against the expected output (a mismatch is flagged in the
//! table), then `BFC_BENCH_RUNS` timed runs (default 5); the table shows
//! the median wall time. A run is killed after 120 s; the interpreter is
//! skipped when its warm-up takes over 10 s.
//!
//! The compile table times `bfc -c PROG -o X.o` (parse, optimise, generate
//! code, write the object) on every benchmark source and on two synthetic
//! programs of 1 MiB and 10 MiB, twice: with `--eval-steps 0`, which is
//! what `--jit` compiles before it runs, and as a build (with compile-time
//! execution); with the peak RSS from `/usr/bin/time -f %M` (or, without
//! it, an upper bound from `wait4`).
//!
//! Programs: the rows of the corpus's MANIFEST.tsv of kind `benchmark` or
//! `both` whose notes give a reference (fastbf) runtime under 20 s, plus
//! factor.b on two extra inputs. Environment:
//!
//! * `BFC_CORPUS`: the corpus (default `../shared/corpus` beside the crate)
//! * `BFC_BENCH_RUNS`: timed runs per measurement (default 5)
//! * `BFC_BENCH_ALL=1`: also the slow programs (impeccable, mandelbrot_huge)
//! * `BFC_BENCH_ONLY=a,b`: only these programs
//! * `BFC_BIN`: the bfc to measure (default the one cargo built)
//!
//! The report is printed and written as markdown to `target/bench.md`.
//!
//! The manifest reader, the way each mode is run and the process runner are
//! the integration tests' (`tests/common`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::manifest::{self, Output};
use common::{bfc, corpus_dir, env_num, mode_command, run, run_measured, tempdir, Run};

const RUN_LIMIT: Duration = Duration::from_secs(120);
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
}

impl Config {
    fn from_env() -> Config {
        let corpus = corpus_dir();
        let runs = env_num("BFC_BENCH_RUNS", 5usize);
        let all = std::env::var("BFC_BENCH_ALL").is_ok_and(|s| s == "1");
        let only = std::env::var("BFC_BENCH_ONLY").ok().map(|s| s.split(',').map(|n| n.trim().to_string()).collect());
        Config { corpus, runs: runs.max(1), all, only }
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
    if let Some(only) = &cfg.only {
        programs.retain(|p| only.contains(&p.name));
    }
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

// ---------------------------------------------------------------- builds

/// One C statement per Brainfuck command; comments are dropped.
fn naive_c(source: &[u8], tape_cells: u64) -> String {
    let mut c = format!(
        "#include <stdio.h>\nstatic unsigned char tape[{tape_cells}];\n\
         int main(void) {{\nunsigned char *p = tape;\nint c;\n"
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

fn build_naive(prog: &Program, dir: &Path) -> Result<PathBuf, String> {
    let source = fs::read(&prog.source).map_err(|e| e.to_string())?;
    let c_file = dir.join(format!("{}.naive.c", prog.name));
    let exe = dir.join(format!("{}.naive", prog.name));
    fs::write(&c_file, naive_c(&source, prog.tape_cells)).map_err(|e| e.to_string())?;
    build(Command::new("gcc").arg("-O2").arg("-o").arg(&exe).arg(&c_file), "gcc -O2")?;
    Ok(exe)
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

// ---------------------------------------------------------------- measuring

/// A column of the speed table: a way bfc runs a program, or the naive C.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bfc(common::Mode),
    Naive,
}

const MODES: [Mode; 5] = [
    Mode::Bfc(common::Mode::Jit(2)),
    Mode::Bfc(common::Mode::Exe(2)),
    Mode::Bfc(common::Mode::Jit(0)),
    Mode::Bfc(common::Mode::Interp),
    Mode::Naive,
];

impl Mode {
    fn label(self) -> String {
        match self {
            Mode::Bfc(mode) => mode.label(),
            Mode::Naive => "gcc -O2 naive".to_string(),
        }
    }

    fn command(self, prog: &Program, built: &Built) -> Result<Command, String> {
        match self {
            Mode::Bfc(common::Mode::Exe(_)) => Ok(Command::new(built.exe.as_ref()?)),
            Mode::Naive => Ok(Command::new(built.naive.as_ref()?)),
            // No build: the executable's path is not used.
            Mode::Bfc(mode) => match mode_command(mode, &prog.source, &prog.flags, Path::new(""), RUN_LIMIT) {
                Ok((command, _)) => Ok(command),
                Err(got) => Err(got.status()),
            },
        }
    }
}

/// A program's executables, built once.
struct Built {
    exe: Result<PathBuf, String>,
    naive: Result<PathBuf, String>,
}

/// One cell of the speed table.
enum Cell {
    Time { seconds: f64, output_ok: bool },
    Skipped(String),
    Failed(String),
}

impl Cell {
    fn seconds(&self) -> Option<f64> {
        match self {
            Cell::Time { seconds, .. } => Some(*seconds),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Cell::Time { seconds, output_ok: true } => format!("{seconds:.3}"),
            Cell::Time { seconds, output_ok: false } => format!("**{seconds:.3} WRONG OUTPUT**"),
            Cell::Skipped(why) => why.clone(),
            Cell::Failed(why) => format!("**{why}**"),
        }
    }
}

/// Warm-up (output checked), then `runs` timed runs: the median.
fn measure(mode: Mode, prog: &Program, built: &Built, runs: usize, scratch: &Path) -> Cell {
    let mut command = match mode.command(prog, built) {
        Ok(c) => c,
        Err(e) => return Cell::Failed(e),
    };
    let interp = mode == Mode::Bfc(common::Mode::Interp);
    let first_limit = if interp { INTERP_LIMIT } else { RUN_LIMIT };
    let captured = scratch.join("stdout");
    let warm_up = File::create(&captured)
        .and_then(|file| run_once(&mut command, prog.input.as_deref(), Stdio::from(file), first_limit));
    match warm_up {
        Ok(run) if run.exited(0) => {}
        Ok(run) if run.timed_out && interp => return Cell::Skipped("skip (>10s)".into()),
        Ok(run) => return Cell::Failed(run.status()),
        Err(e) => return Cell::Failed(e.to_string()),
    }
    let output_ok = fs::read(&captured).is_ok_and(|got| prog.expected.differs(&got).is_none());
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        match run_once(&mut command, prog.input.as_deref(), Stdio::null(), RUN_LIMIT) {
            Ok(run) if run.exited(0) => times.push(run.secs),
            Ok(run) => return Cell::Failed(run.status()),
            Err(e) => return Cell::Failed(e.to_string()),
        }
    }
    Cell::Time { seconds: median(&mut times), output_ok }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

// ---------------------------------------------------------------- tables

fn speed_table(programs: &[Program], cfg: &Config, scratch: &Path) -> String {
    let mut table = String::from(
        "| program | jit | exe | jit -O0 | interp | gcc -O2 naive | jit/naive | exe/naive |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for prog in programs {
        let built = Built { exe: build_exe(prog, scratch), naive: build_naive(prog, scratch) };
        let cells: Vec<Cell> = MODES
            .iter()
            .map(|&mode| {
                let cell = measure(mode, prog, &built, cfg.runs, scratch);
                eprintln!("  {:<32} {:<14} {}", prog.name, mode.label(), cell.text());
                cell
            })
            .collect();
        let naive = cells[4].seconds();
        let ratio = |cell: &Cell| match (cell.seconds(), naive) {
            (Some(t), Some(n)) if n > 0.0 => format!("{:.2}", t / n),
            _ => "-".to_string(),
        };
        let texts: Vec<String> = cells.iter().map(Cell::text).collect();
        writeln!(table, "| {} | {} | {} | {} |", prog.name, texts.join(" | "), ratio(&cells[0]), ratio(&cells[1]))
            .unwrap();
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

/// `bfc -c FLAGS`: median milliseconds and peak RSS (MiB, as text).
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
            times.push(run.secs * 1000.0);
        }
    }
    // wait4's figure is only the fallback: an upper bound (see `Run`).
    let rss = match run_measured(&command, b"", RUN_LIMIT) {
        (run, Some(kib)) if run.exited(0) => format!("{:.1}", kib as f64 / 1024.0),
        _ => format!("<= {:.1}", wait4_rss as f64 / 1024.0),
    };
    Ok((median(&mut times), rss))
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
         Median wall seconds of {} run(s) after one warm-up, whole processes, stdout to /dev/null; \
         baseline: {}; ratios below 1 mean faster than the naive C.\n",
        date.unwrap_or_else(|_| "unknown date".into()),
        cfg.runs,
        gcc.unwrap_or_else(|_| "gcc not found".into()),
    )
}

fn main() {
    let cfg = Config::from_env();
    let scratch = tempdir();
    let programs = match select_programs(&cfg, scratch.path()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot read the corpus at {}: {e} (set BFC_CORPUS)", cfg.corpus.display());
            drop(scratch);
            std::process::exit(1);
        }
    };
    eprintln!("bfc bench: {} programs, {} run(s) each, bfc = {}", programs.len(), cfg.runs, bfc().display());
    let mut report = header(&cfg);
    report += "\n## Run time (s)\n\n";
    report += &speed_table(&programs, &cfg, scratch.path());
    report += "\n## Compile time: `bfc -c` (-O2), as `--jit` compiles (`--eval-steps 0`) and as a build does\n\n";
    report += &compile_table(&programs, &cfg, scratch.path());
    println!("\n{report}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let md = target.join("bench.md");
    match fs::write(&md, &report) {
        Ok(()) => eprintln!("written to {}", md.display()),
        Err(e) => eprintln!("cannot write {}: {e}", md.display()),
    }
}
