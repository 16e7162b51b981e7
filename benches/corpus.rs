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
//!
//! The report is printed and written as markdown to `target/bench.md`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const BFC: &str = env!("CARGO_BIN_EXE_bfc");
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
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus =
            std::env::var_os("BFC_CORPUS").map(PathBuf::from).unwrap_or_else(|| manifest_dir.join("../shared/corpus"));
        let runs = std::env::var("BFC_BENCH_RUNS").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(5);
        let all = std::env::var("BFC_BENCH_ALL").is_ok_and(|s| s == "1");
        let only = std::env::var("BFC_BENCH_ONLY").ok().map(|s| s.split(',').map(|n| n.trim().to_string()).collect());
        Config { corpus, runs: runs.max(1), all, only }
    }
}

/// What a program must print.
enum Expected {
    Bytes(Vec<u8>),
    /// `<sha256>  <size>`, for outputs too big to ship.
    Sha256 {
        hash: String,
        size: u64,
    },
}

struct Program {
    name: String,
    source: PathBuf,
    input: Option<PathBuf>,
    expected: Expected,
    tape_cells: usize,
}

// ---------------------------------------------------------------- corpus

/// The programs to benchmark, in table order.
fn select_programs(cfg: &Config, scratch: &Path) -> io::Result<Vec<Program>> {
    let manifest = fs::read_to_string(cfg.corpus.join("MANIFEST.tsv"))?;
    let mut programs = Vec::new();
    let mut rest = Vec::new();
    for line in manifest.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, _source, kind, _eof, _cells, tape_min, notes] = cols[..] else { continue };
        let wanted = ALWAYS.contains(&name)
            || (matches!(kind, "benchmark" | "both")
                && (cfg.all || fastbf_seconds(notes).is_some_and(|s| s < FASTBF_LIMIT_S)));
        if !wanted {
            continue;
        }
        let program = corpus_program(&cfg.corpus, name, tape_min.parse().unwrap_or(0))?;
        if ALWAYS.contains(&name) {
            programs.push(program);
        } else {
            rest.push(program);
        }
    }
    programs.sort_by_key(|p| ALWAYS.iter().position(|&n| n == p.name));
    programs.extend(factor_extras(&cfg.corpus, scratch)?);
    programs.extend(rest);
    if let Some(only) = &cfg.only {
        programs.retain(|p| only.contains(&p.name));
    }
    Ok(programs)
}

/// The reference interpreter's runtime from a manifest note: "runtime:
/// fastbf 5.9s" or "<0.1s".
fn fastbf_seconds(notes: &str) -> Option<f64> {
    let rest = notes.split("runtime: fastbf ").nth(1)?;
    let figure = rest.split(|c: char| c == 's' || c == ',' || c.is_whitespace()).next()?;
    figure.trim_start_matches('<').parse().ok()
}

fn corpus_program(corpus: &Path, name: &str, tape_min: usize) -> io::Result<Program> {
    let progs = corpus.join("progs");
    let input = progs.join(format!("{name}.in"));
    let out = progs.join(format!("{name}.out"));
    let expected = if out.exists() {
        Expected::Bytes(fs::read(&out)?)
    } else {
        let text = fs::read_to_string(progs.join(format!("{name}.out.sha256")))?;
        let mut words = text.split_whitespace();
        let hash = words.next().unwrap_or_default().to_string();
        let size = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        Expected::Sha256 { hash, size }
    };
    Ok(Program {
        name: name.to_string(),
        source: progs.join(format!("{name}.b")),
        input: input.exists().then_some(input),
        expected,
        tape_cells: if tape_min > 65536 { 131072 } else { 65536 },
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
            expected: Expected::Bytes(factor_output(n).into_bytes()),
            tape_cells: 65536,
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
fn naive_c(source: &[u8], tape_cells: usize) -> String {
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

/// Runs a build step; its stderr becomes the error.
fn build(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{what} failed ({}):\n{stderr}", out.status);
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
    build(bfc(prog, &["-O2", "-o"]).arg(&exe).arg(&prog.source), "bfc -O2 -o")?;
    Ok(exe)
}

/// `bfc ARGS [--tape-size N]`; the caller appends the source.
fn bfc(prog: &Program, args: &[&str]) -> Command {
    let mut command = Command::new(BFC);
    command.args(args);
    if prog.tape_cells != 65536 {
        command.arg(format!("--tape-size={}", prog.tape_cells));
    }
    command
}

// ---------------------------------------------------------------- processes

enum Ended {
    Exit(i32),
    Signal(i32),
    TimedOut,
}

struct Run {
    wall: Duration,
    ended: Ended,
    /// Peak resident set size, KiB.
    max_rss_kib: i64,
}

/// Runs `command` to the end or until `limit`, timing it from spawn to
/// exit, and reads its peak RSS with `wait4` (see `gnu_time_rss_kib`).
fn run_once(command: &mut Command, stdin: Option<&Path>, stdout: Stdio, limit: Duration) -> io::Result<Run> {
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path)?),
        None => Stdio::null(),
    };
    let start = Instant::now();
    let child = command.stdin(stdin).stdout(stdout).stderr(Stdio::inherit()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let (done, wait_done) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        let expired = wait_done.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout);
        if expired {
            // The child is not reaped until wait4 below, so `pid` is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        expired
    });
    wait_exited(pid)?;
    let wall = start.elapsed();
    drop(done);
    let expired = watchdog.join().expect("watchdog thread");
    let (status, max_rss_kib) = reap(pid)?;
    let ended = if libc::WIFEXITED(status) {
        Ended::Exit(libc::WEXITSTATUS(status))
    } else if expired {
        Ended::TimedOut
    } else {
        Ended::Signal(libc::WTERMSIG(status))
    };
    Ok(Run { wall, ended, max_rss_kib })
}

/// Waits until `pid` has exited, leaving it a zombie.
fn wait_exited(pid: libc::pid_t) -> io::Result<()> {
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Reaps the exited `pid`: its wait status and peak RSS in KiB.
fn reap(pid: libc::pid_t) -> io::Result<(i32, i64)> {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        return Err(io::Error::last_os_error());
    }
    Ok((status, usage.ru_maxrss))
}

// ---------------------------------------------------------------- measuring

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Jit,
    Exe,
    JitO0,
    Interp,
    Naive,
}

const MODES: [Mode; 5] = [Mode::Jit, Mode::Exe, Mode::JitO0, Mode::Interp, Mode::Naive];

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Jit => "jit",
            Mode::Exe => "exe",
            Mode::JitO0 => "jit -O0",
            Mode::Interp => "interp",
            Mode::Naive => "gcc -O2 naive",
        }
    }

    fn command(self, prog: &Program, built: &Built) -> Result<Command, String> {
        let mut command = match self {
            Mode::Jit => bfc(prog, &["--jit", "-O2"]),
            Mode::JitO0 => bfc(prog, &["--jit", "-O0"]),
            Mode::Interp => bfc(prog, &["--interp"]),
            Mode::Exe => return Ok(Command::new(built.exe.as_ref()?)),
            Mode::Naive => return Ok(Command::new(built.naive.as_ref()?)),
        };
        command.arg(&prog.source);
        Ok(command)
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
    let first_limit = if mode == Mode::Interp { INTERP_LIMIT } else { RUN_LIMIT };
    let captured = scratch.join("stdout");
    let warm_up = File::create(&captured)
        .and_then(|file| run_once(&mut command, prog.input.as_deref(), Stdio::from(file), first_limit));
    match warm_up.map(|run| run.ended) {
        Ok(Ended::Exit(0)) => {}
        Ok(Ended::TimedOut) if mode == Mode::Interp => return Cell::Skipped("skip (>10s)".into()),
        Ok(ended) => return Cell::Failed(describe(&ended)),
        Err(e) => return Cell::Failed(e.to_string()),
    }
    let output_ok = output_matches(&captured, &prog.expected);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        match run_once(&mut command, prog.input.as_deref(), Stdio::null(), RUN_LIMIT) {
            Ok(Run { wall, ended: Ended::Exit(0), .. }) => times.push(wall.as_secs_f64()),
            Ok(run) => return Cell::Failed(describe(&run.ended)),
            Err(e) => return Cell::Failed(e.to_string()),
        }
    }
    Cell::Time { seconds: median(&mut times), output_ok }
}

fn describe(ended: &Ended) -> String {
    match ended {
        Ended::Exit(code) => format!("exit {code}"),
        Ended::Signal(sig) => format!("signal {sig}"),
        Ended::TimedOut => format!("timeout (>{}s)", RUN_LIMIT.as_secs()),
    }
}

fn output_matches(path: &Path, expected: &Expected) -> bool {
    match expected {
        Expected::Bytes(bytes) => fs::read(path).is_ok_and(|got| got == *bytes),
        Expected::Sha256 { hash, size } => {
            let size_ok = fs::metadata(path).is_ok_and(|m| m.len() == *size);
            let sum = Command::new("sha256sum").arg(path).output();
            let hash_ok = sum.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().next() == Some(hash));
            size_ok && hash_ok
        }
    }
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
    let mut command = Command::new(BFC);
    command.arg("-c").args(flags).arg(source).arg("-o").arg(&object);
    let mut times = Vec::with_capacity(runs);
    let mut wait4_rss = 0;
    for i in 0..=runs {
        let run = run_once(&mut command, None, Stdio::null(), RUN_LIMIT).map_err(|e| e.to_string())?;
        if !matches!(run.ended, Ended::Exit(0)) {
            return Err(describe(&run.ended));
        }
        wait4_rss = wait4_rss.max(run.max_rss_kib);
        if i > 0 {
            times.push(run.wall.as_secs_f64() * 1000.0);
        }
    }
    let rss = match gnu_time_rss_kib(source, flags, &object, scratch) {
        Some(kib) => format!("{:.1}", kib as f64 / 1024.0),
        None => format!("<= {:.1}", wait4_rss as f64 / 1024.0),
    };
    Ok((median(&mut times), rss))
}

/// Peak RSS (KiB) of one `bfc -c` under `/usr/bin/time -f %M`. wait4's
/// figure is only the fallback: a child spawned with vfork inherits the
/// harness's high-water mark through exec, so it is an upper bound.
fn gnu_time_rss_kib(source: &Path, flags: &[&str], object: &Path, scratch: &Path) -> Option<i64> {
    let report = scratch.join("time.txt");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(BFC)
        .arg("-c")
        .args(flags)
        .arg(source)
        .arg("-o")
        .arg(object)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    fs::read_to_string(&report).ok()?.trim().parse().ok()
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
    let scratch = tempfile::Builder::new().prefix("bfc-bench-").tempdir().expect("temporary directory");
    let programs = match select_programs(&cfg, scratch.path()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot read the corpus at {}: {e} (set BFC_CORPUS)", cfg.corpus.display());
            drop(scratch);
            std::process::exit(1);
        }
    };
    eprintln!("bfc bench: {} programs, {} run(s) each, bfc = {BFC}", programs.len(), cfg.runs);
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
