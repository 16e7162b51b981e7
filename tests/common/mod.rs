//! Helpers shared by the integration tests and the corpus benchmark: where
//! things are, running the built `bfc` (and what it builds) with input and a
//! time limit, running the four ways a program can be executed, the
//! assertions on how a run ended, comparing output, and a small parallel job
//! runner. Tricks with child processes are in `child`.
//!
//! Each test file includes this with `mod common;`, `benches/corpus.rs` with
//! a `#[path]`; not every file uses every helper. Nothing here knows about
//! particular tests.
#![allow(dead_code)]

pub mod child;
pub mod diff;
pub mod gen;
pub mod manifest;
pub mod sha256;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The `bfc` binary cargo built for these tests, or `$BFC_BIN` (e.g. a
/// release build, much faster for the corpus's `--interp` runs).
pub fn bfc() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("BFC_BIN") {
        Some(bin) => std::fs::canonicalize(&bin).unwrap_or_else(|e| panic!("BFC_BIN={bin:?}: {e}")),
        None => PathBuf::from(env!("CARGO_BIN_EXE_bfc")),
    })
}

/// Cargo's target directory (where failing programs are saved), found from
/// the binary's location so that `CARGO_TARGET_DIR` is honoured.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_bfc"))
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The corpus: `$BFC_CORPUS`, or `../shared/corpus` beside the crate.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("BFC_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

/// Is `tool` there to run? If not, says so, and fails where tools are
/// required (`CI`, or `BFC_REQUIRE_TOOLS=1`, which `.ci/run` sets after
/// installing them).
pub fn have_tool(tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("BFC_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    assert!(!required, "{tool} is missing, and CI or BFC_REQUIRE_TOOLS=1 requires it (.ci/run installs it)");
    eprintln!("note: {tool} is missing: skipping this test");
    false
}

/// `bfc --jit FLAG --eof zero p.b` in `dir` (with `JITDUMPDIR` there),
/// its streams piped, for tests that look at a run while `p.b` waits for
/// input; `echo_and_end` then feeds it and checks that it echoed.
pub fn spawn_waiting_jit(dir: &Path, flag: &str) -> Child {
    Command::new(bfc())
        .current_dir(dir)
        .env("JITDUMPDIR", dir)
        .args(["--jit", flag, "--eof", "zero", "p.b"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bfc starts")
}

/// Gives a `spawn_waiting_jit` run its input, which it must echo, and
/// waits for its successful end.
pub fn echo_and_end(mut child: Child) {
    use std::io::Write;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(b"abcxyz").expect("input");
    drop(stdin);
    let out = child.wait_with_output().expect("bfc ends");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"abcxyz");
}

/// The time limit of a run in the CLI and robustness tests.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("bfc-test-").tempdir().expect("cannot create a temporary directory")
}

/// A number from the environment, or `default` when unset.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("{name}={s:?} is not a number")),
        Err(_) => default,
    }
}

/// Worker threads for the parallel tests: `$BFC_TEST_THREADS`, default 2
/// (the CI machine has 2 cores).
pub fn workers() -> usize {
    env_num("BFC_TEST_THREADS", 2usize).max(1)
}

/// How a process ended, with everything it printed.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Wall-clock seconds, from the start to the exit.
    pub secs: f64,
    /// CPU seconds of the child, user and system (`wait4`).
    pub cpu_secs: f64,
    /// Peak resident set size in KiB, from `wait4`: an upper bound, since a
    /// child spawned with vfork inherits the parent's high-water mark
    /// through exec ([`run_measured`] gives the real figure).
    pub peak_rss_kib: u64,
}

impl Run {
    /// Exited normally (not killed, not timed out) with `code`.
    pub fn exited(&self, code: i32) -> bool {
        !self.timed_out && self.code == Some(code)
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// "exit 3", "killed by signal 11", "timed out after 120.0s".
    pub fn status(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => format!("timed out after {:.1}s", self.secs),
            (_, Some(code), _) => format!("exit {code}"),
            (_, None, Some(sig)) => format!("killed by signal {sig}"),
            _ => "unknown status".to_string(),
        }
    }

    /// The start of stdout, for failure reports.
    pub fn stdout_head(&self) -> String {
        format!("stdout: \"{}\"", escape(&self.stdout[..self.stdout.len().min(200)]))
    }

    /// The first few lines of stderr, for failure reports.
    pub fn stderr_head(&self) -> String {
        let text = self.stderr_text();
        let head: Vec<&str> = text.lines().take(4).collect();
        let mut head = head.join(" / ");
        if head.len() > 300 {
            head.truncate(head.char_indices().nth(300).map_or(head.len(), |(i, _)| i));
            head.push_str("...");
        }
        format!("stderr: {head:?}")
    }

    /// Status and stderr in one line, for failure reports.
    pub fn summary(&self) -> String {
        format!("{}, {}", self.status(), self.stderr_head())
    }
}

/// Runs `cmd` with `input` on its stdin, collecting stdout and stderr; kills
/// it after `timeout`.
pub fn run(cmd: &mut Command, input: &[u8], timeout: Duration) -> Run {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    start(cmd, input, timeout).unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Starts `cmd` with the standard streams it was given and collects it like
/// [`collect`], timed from before the start.
pub fn start(cmd: &mut Command, input: &[u8], timeout: Duration) -> std::io::Result<Run> {
    let start = Instant::now();
    let child = cmd.spawn()?;
    Ok(finish(child, start, input, timeout))
}

/// Feeds `input` to a spawned child's stdin (if piped), collects its stdout
/// and stderr (if piped) and waits for it, killing it after `timeout`.
pub fn collect(child: Child, input: &[u8], timeout: Duration) -> Run {
    finish(child, Instant::now(), input, timeout)
}

fn finish(mut child: Child, start: Instant, input: &[u8], timeout: Duration) -> Run {
    let deadline = start + timeout;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A program may exit without reading everything: a write error here
        // is not the test's business.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    let mut pipes = 0;
    let readers: [(usize, Option<Box<dyn Read + Send>>); 2] = [
        (0, child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (1, child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ];
    for (which, pipe) in readers {
        if let Some(mut pipe) = pipe {
            pipes += 1;
            let tx = tx.clone();
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                let _ = tx.send((which, buf));
            });
        }
    }
    drop(tx);
    let mut outputs = [Vec::new(), Vec::new()];
    let mut timed_out = false;
    while pipes > 0 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((which, buf)) => {
                outputs[which] = buf;
                pipes -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                // Keep what was printed before the kill, unless some other
                // process still holds the pipes open.
                while let Ok((which, buf)) = rx.recv_timeout(Duration::from_secs(5)) {
                    outputs[which] = buf;
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // The pipes are closed: the process is exiting (or closed them itself).
    let ended = wait(&child, deadline);
    use std::os::unix::process::ExitStatusExt;
    let status = std::process::ExitStatus::from_raw(ended.status);
    let [stdout, stderr] = outputs;
    Run {
        code: status.code(),
        signal: status.signal(),
        timed_out: timed_out || (ended.killed && status.code().is_none()),
        stdout,
        stderr,
        secs: ended.at.duration_since(start).as_secs_f64(),
        cpu_secs: ended.cpu_secs,
        peak_rss_kib: ended.peak_rss_kib,
    }
}

/// How a reaped child ended.
struct Ended {
    /// The raw wait status.
    status: i32,
    /// When the exit was seen.
    at: Instant,
    /// Killed at the deadline.
    killed: bool,
    peak_rss_kib: u64,
    cpu_secs: f64,
}

/// Waits for `child` to exit, killing it at `deadline`, and reaps it with
/// `wait4` for its peak RSS. The wait blocks (no polling), so that the exit
/// time is exact for the benchmark.
fn wait(child: &Child, deadline: Instant) -> Ended {
    let pid = child.id() as libc::pid_t;
    let (done, wait_done) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        let left = deadline.saturating_duration_since(Instant::now());
        let expired = wait_done.recv_timeout(left) == Err(mpsc::RecvTimeoutError::Timeout);
        if expired {
            // SAFETY: a plain syscall; the child is reaped only after this
            // thread is joined, so `pid` is still ours (at worst a zombie).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        expired
    });
    // Wait for the exit but leave the child a zombie until the watchdog is done.
    loop {
        // SAFETY: siginfo_t is plain data, zeroes are a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes only into `info`.
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "cannot wait for a child: {e}");
    }
    let at = Instant::now();
    drop(done);
    let killed = watchdog.join().expect("the watchdog thread");
    let (status, usage) = reap(pid).unwrap_or_else(|e| panic!("cannot reap a child: {e}"));
    Ended { status, at, killed, peak_rss_kib: usage.ru_maxrss.max(0) as u64, cpu_secs: cpu_secs(&usage) }
}

/// Reaps the child `pid`, which has exited or been killed (so this does
/// not block for long), with `wait4`: its wait status and its resource use.
pub fn reap(pid: libc::pid_t) -> std::io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain data, zeroes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 writes only into `status` and `usage`; `pid` is a
    // child of ours not reaped yet.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped == pid {
        Ok((status, usage))
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// User and system CPU seconds of a `wait4`'s `rusage`.
pub fn cpu_secs(usage: &libc::rusage) -> f64 {
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// `bfc` with `args`.
pub fn bfc_cmd<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Command {
    let mut cmd = Command::new(bfc());
    cmd.args(args);
    cmd
}

/// Runs `bfc ARGS` with `input` on stdin.
pub fn run_bfc<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>, input: &[u8], timeout: Duration) -> Run {
    run(&mut bfc_cmd(args), input, timeout)
}

/// Runs `bfc ARGS` in `dir` with `input` on stdin.
pub fn bfc_in(dir: &Path, args: &[&str], input: &[u8]) -> Run {
    let mut cmd = bfc_cmd(args);
    cmd.current_dir(dir);
    run(&mut cmd, input, TIMEOUT)
}

/// One way of executing a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `bfc --jit -ON`
    Jit(u8),
    /// `bfc --interp`
    Interp,
    /// `bfc -ON -o EXE`, then `EXE`
    Exe(u8),
}

impl Mode {
    /// The modes that run programs: JIT -O2 and -O0, an executable, the
    /// interpreter.
    pub const ALL: [Mode; 4] = [Mode::Jit(2), Mode::Jit(0), Mode::Exe(2), Mode::Interp];

    pub fn label(self) -> String {
        match self {
            Mode::Jit(o) => format!("jit -O{o}"),
            Mode::Interp => "interp".to_string(),
            Mode::Exe(o) => format!("exe -O{o}"),
        }
    }
}

/// What running a program in some mode gave.
#[derive(Debug, Clone)]
pub struct ModeRun {
    /// The program's run; for `Exe`, the build's when the build failed.
    pub run: Run,
    /// `Exe` only: the build step (`bfc -o`).
    pub build: Option<Run>,
}

impl ModeRun {
    /// `Exe` whose build did not succeed: `run` is the build's.
    pub fn build_failed(&self) -> bool {
        self.build.as_ref().is_some_and(|b| !b.exited(0))
    }

    /// Wall-clock seconds, build included.
    pub fn secs(&self) -> f64 {
        match &self.build {
            Some(b) if !self.build_failed() => b.secs + self.run.secs,
            _ => self.run.secs,
        }
    }
}

/// The command that runs `source` in `mode` with extra bfc `flags`. For
/// `Exe`, this first builds the executable at `exe`: `Err` is that build's
/// run if it failed.
pub fn mode_command(
    mode: Mode,
    source: &Path,
    flags: &[String],
    exe: &Path,
    timeout: Duration,
) -> Result<(Command, Option<Run>), Run> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    match mode {
        Mode::Jit(o) => args.extend(["--jit".into(), format!("-O{o}").into()]),
        Mode::Interp => args.push("--interp".into()),
        Mode::Exe(o) => args.extend([format!("-O{o}").into(), "-o".into(), exe.into()]),
    }
    args.extend(flags.iter().map(Into::into));
    args.push(source.into());
    match mode {
        Mode::Jit(_) | Mode::Interp => Ok((bfc_cmd(args), None)),
        Mode::Exe(_) => {
            let build = run_bfc(&args, b"", timeout);
            if !build.exited(0) {
                return Err(build);
            }
            Ok((Command::new(exe), Some(build)))
        }
    }
}

/// The command that runs `source` in `mode` with no extra flags, building
/// the executable at `exe` first for `Exe`; panics if that build fails.
pub fn built_command(mode: Mode, source: &Path, exe: &Path) -> Command {
    match mode_command(mode, source, &[], exe, TIMEOUT) {
        Ok((cmd, _)) => cmd,
        Err(build) => panic!("{}: build failed: {}", mode.label(), build.summary()),
    }
}

/// Runs `source` in `mode` with extra bfc `flags` and `input` on stdin. For
/// `Exe`, the executable is built at `exe` and run from there.
pub fn run_mode(mode: Mode, source: &Path, flags: &[String], input: &[u8], exe: &Path, timeout: Duration) -> ModeRun {
    match mode_command(mode, source, flags, exe, timeout) {
        Ok((mut cmd, build)) => ModeRun { run: run(&mut cmd, input, timeout), build },
        Err(build) => ModeRun { run: build.clone(), build: Some(build) },
    }
}

/// Runs `source` in each of `modes` with `flags` and `input`; calls `check`
/// with the program's run and the mode's label to put in assertion messages.
pub fn each_mode(modes: &[Mode], source: &[u8], flags: &[&str], input: &[u8], check: impl Fn(&str, &Run)) {
    let dir = tempdir();
    let path = write_file(dir.path(), "prog.b", source);
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    for &mode in modes {
        let got = run_mode(mode, &path, &flags, input, &dir.path().join("prog"), TIMEOUT);
        let label = format!("{} {}", mode.label(), flags.join(" "));
        assert!(!got.build_failed(), "{label}: build failed: {}", got.run.summary());
        check(&label, &got.run);
    }
}

/// [`each_mode`] with [`assert_run`]: in every mode, exit `code`, exactly
/// `stdout`, and `stderr_has` in stderr.
pub fn expect_each_mode(
    modes: &[Mode],
    source: &[u8],
    flags: &[&str],
    input: &[u8],
    code: i32,
    stdout: &[u8],
    stderr_has: &str,
) {
    each_mode(modes, source, flags, input, |label, got| assert_run(label, got, code, stdout, stderr_has));
}

/// bfc (or what it built) did not panic, nor die of a signal, nor hang.
pub fn assert_no_crash(label: &str, got: &Run) {
    assert!(!got.timed_out, "{label}: {}", got.summary());
    assert!(got.code.is_some(), "{label}: {}", got.summary());
    assert_ne!(got.code, Some(101), "{label}: internal error: {}", got.summary());
    assert!(!got.stderr_text().contains("panicked"), "{label}: panicked: {}", got.stderr_text());
}

/// No crash; exit `code`, exactly `stdout`, and `stderr_has` in stderr.
pub fn assert_run(label: &str, got: &Run, code: i32, stdout: &[u8], stderr_has: &str) {
    assert_no_crash(label, got);
    assert!(got.exited(code), "{label}: {} (expected exit {code}), {}", got.summary(), got.stdout_head());
    if let Some(diff) = describe_diff("stdout", stdout, &got.stdout) {
        panic!("{label}: {diff}");
    }
    assert!(got.stderr_text().contains(stderr_has), "{label}: stderr lacks {stderr_has:?}: {:?}", got.stderr_text());
}

/// A failure with exit `code`: no crash, nothing on stdout, one line on
/// stderr (`error: ...`) containing `needle`.
pub fn assert_one_line_error(label: &str, got: &Run, code: i32, needle: &str) {
    assert_no_crash(label, got);
    assert!(got.exited(code), "{label}: {} (expected exit {code})", got.summary());
    assert!(got.stdout.is_empty(), "{label}: printed {:?}", escape(&got.stdout));
    let stderr = got.stderr_text();
    assert_eq!(stderr.lines().count(), 1, "{label}: the message is not one line:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{label}: {stderr:?}");
    assert!(stderr.contains(needle), "{label}: the message lacks {needle:?}: {stderr:?}");
}

/// Bytes shown escaped, for failure messages.
pub fn escape(bytes: &[u8]) -> String {
    bytes.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

/// None if `actual == expected`; otherwise where and how they differ.
pub fn describe_diff(what: &str, expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let at = expected.iter().zip(actual).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
    let window = |bytes: &[u8]| {
        let from = at.saturating_sub(16);
        let to = (at + 24).min(bytes.len());
        format!(
            "{}\"{}\"{}",
            if from > 0 { "..." } else { "" },
            escape(&bytes[from..to]),
            if to < bytes.len() { "..." } else { "" }
        )
    };
    let mut msg = format!("{what} differs at byte {at} (expected {} bytes, got {})", expected.len(), actual.len());
    let _ = write!(msg, ": expected {} got {}", window(expected), window(actual));
    Some(msg)
}

/// Calls `job(i)` for every `i < n` on `workers` threads; results in order.
pub fn parallel<T: Send>(n: usize, workers: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    thread::scope(|s| {
        for _ in 0..workers.min(n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let result = job(i);
                results.lock().unwrap()[i] = Some(result);
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|r| r.expect("a job panicked")).collect()
}

/// `dir/name` with `bytes` in it.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// The names in `dir` (hidden ones included, so that leftover `.bfc-*`
/// temporaries show), sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `cmd` like [`run`], under `/usr/bin/time` when there is one: the
/// run and the peak resident set size in KiB (None without the tool).
pub fn run_measured(cmd: &Command, input: &[u8], timeout: Duration) -> (Run, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        let mut plain = Command::new(cmd.get_program());
        plain.args(cmd.get_args());
        return (run(&mut plain, input, timeout), None);
    }
    let dir = tempdir();
    let report = dir.path().join("rss");
    let mut timed = Command::new(time);
    timed.arg("-f").arg("%M").arg("-o").arg(&report).arg(cmd.get_program()).args(cmd.get_args());
    let got = run(&mut timed, input, timeout);
    let rss = std::fs::read_to_string(&report).ok().and_then(|s| s.lines().last()?.trim().parse().ok());
    (got, rss)
}
