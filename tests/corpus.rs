//! Every program of the corpus (../shared/corpus, or `$BFC_CORPUS`), as
//! listed in its MANIFEST.tsv, in every mode: `--jit -O2`, `--jit -O0`, an
//! executable built with -O2, and `--interp`; stdout and exit code must be
//! the expected ones. Error programs must fail the expected way.
//!
//! Slow programs skip the slow modes (each skip is listed in the summary):
//! where fastbf took X seconds, `--interp` and `--jit -O0` run only if
//! X < 20 (this leaves out impeccable and mandelbrot_huge).
//!
//! One test runs everything on `$BFC_TEST_THREADS` (default 2) threads and
//! reports all failures at the end; each run is logged as it finishes
//! (`cargo test --test corpus -- --nocapture` to watch). Per-run time limit:
//! `$BFC_CORPUS_TIMEOUT` seconds (default 120).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::manifest::{self, Entry, ExpectedError, Output};
use common::{corpus_dir, describe_diff, env_num, parallel, run_bfc, run_mode, tempdir, workers, Mode, ModeRun, Run};

/// What a corpus program must do.
enum Expect {
    /// Exit 0 with this output.
    Output(Output),
    Error(ExpectedError),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Run(Mode),
    /// `bfc -c -o FILE.o`: only for programs that must not compile.
    Object,
}

impl How {
    fn label(self) -> String {
        match self {
            How::Run(mode) => mode.label(),
            How::Object => "object -c".to_string(),
        }
    }
}

/// A corpus program, ready to run.
struct Program<'a> {
    entry: &'a Entry,
    source: PathBuf,
    input: Vec<u8>,
    /// `--eof` and `--tape-size` as the manifest asks.
    flags: Vec<String>,
    expect: Expect,
}

struct Job<'a> {
    program: &'a Program<'a>,
    how: How,
}

struct Done {
    name: String,
    how: String,
    secs: f64,
    detail: String,
    failure: Option<String>,
}

#[test]
fn corpus_programs_give_their_expected_output() {
    let dir = corpus_dir();
    let entries = manifest::load(&dir).unwrap_or_else(|e| {
        panic!(
            "the corpus is missing or unreadable: {e}\n\
             It is expected at ../shared/corpus beside the crate; set BFC_CORPUS to its directory."
        )
    });
    let timeout = Duration::from_secs(env_num("BFC_CORPUS_TIMEOUT", 120));

    let mut setup_failures = Vec::new();
    let programs: Vec<Program> = entries
        .iter()
        .filter_map(|entry| program(&dir, entry).map_err(|e| setup_failures.push(format!("{}: {e}", entry.name))).ok())
        .collect();
    let mut jobs = Vec::new();
    let mut skips = Vec::new();
    for program in &programs {
        let fastbf = program.entry.fastbf_secs().unwrap_or(0.0);
        let mut hows: Vec<How> = Mode::ALL.iter().map(|&m| How::Run(m)).collect();
        if matches!(program.expect, Expect::Error(ExpectedError::Unmatched { .. })) {
            hows.push(How::Object);
        }
        for how in hows {
            let skip = match how {
                How::Run(Mode::Interp) if fastbf >= 20.0 => Some("interpreter: runs only programs with fastbf < 20s"),
                How::Run(Mode::Jit(0)) if fastbf >= 20.0 => {
                    Some("unoptimised JIT: runs only programs with fastbf < 20s")
                }
                _ => None,
            };
            match skip {
                Some(reason) => skips.push((
                    program.entry.name.clone(),
                    how.label(),
                    format!("skipped: fastbf {fastbf}s; {reason}"),
                )),
                None => jobs.push(Job { program, how }),
            }
        }
    }
    for (name, how, reason) in &skips {
        eprintln!("corpus: SKIP {name} {how}: {reason}");
    }
    // Longest first, so that two workers finish at about the same time.
    let secs = |j: &Job| j.program.entry.fastbf_secs().unwrap_or(0.0);
    jobs.sort_by(|a, b| secs(b).total_cmp(&secs(a)));

    let work = tempdir();
    let finished = AtomicUsize::new(0);
    let total = jobs.len();
    let done = parallel(total, workers(), |i| {
        let d = run_job(work.path(), &jobs[i], timeout);
        let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
        match &d.failure {
            None => eprintln!("corpus: [{n}/{total}] {} {}: ok {:.2}s {}", d.name, d.how, d.secs, d.detail),
            Some(f) => eprintln!("corpus: [{n}/{total}] {} {}: FAIL {:.2}s {f}", d.name, d.how, d.secs),
        }
        d
    });

    // The summary: every program and mode, run or skipped.
    let mut rows: Vec<(String, String, String)> = done
        .iter()
        .map(|d| {
            let verdict = if d.failure.is_some() { "FAIL" } else { "ok" };
            (d.name.clone(), d.how.clone(), format!("{:>8.2}s  {verdict} {}", d.secs, d.detail))
        })
        .chain(skips.iter().map(|(n, h, r)| (n.clone(), h.clone(), format!("{:>9}  {r}", "-"))))
        .collect();
    rows.sort();
    let mut summary = format!("{:<26} {:<10} {:>9}\n", "program", "mode", "seconds");
    for (name, how, what) in &rows {
        summary.push_str(&format!("{name:<26} {how:<10} {what}\n"));
    }
    let failures: Vec<String> = setup_failures
        .into_iter()
        .chain(done.iter().filter_map(|d| d.failure.as_ref().map(|f| format!("{} [{}]: {f}", d.name, d.how))))
        .collect();
    eprintln!(
        "\n{summary}corpus: {} programs, {} runs, {} skipped, {} failed",
        entries.len(),
        done.len(),
        skips.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} corpus failures:\n  {}", failures.len(), failures.join("\n  "));
}

/// How to run `entry` and what it must do, from the manifest and the files.
fn program<'a>(dir: &Path, entry: &'a Entry) -> Result<Program<'a>, String> {
    let mut flags = Vec::new();
    if let Some(eof) = entry.eof_flag()? {
        flags.extend(["--eof".to_string(), eof.to_string()]);
    }
    if let Some(cells) = entry.tape_cells() {
        flags.extend(["--tape-size".to_string(), cells.to_string()]);
    }
    let expect = if entry.kind == "error" {
        Expect::Error(entry.expected_error()?)
    } else {
        Expect::Output(entry.expected_output(dir)?)
    };
    Ok(Program { entry, source: entry.program(dir), input: entry.input(dir), flags, expect })
}

fn run_job(work: &Path, job: &Job, timeout: Duration) -> Done {
    let p = job.program;
    let name = &p.entry.name;
    // Where the executable or object goes.
    let output = work.join(if job.how == How::Object { format!("{name}.o") } else { name.clone() });
    let got = match job.how {
        How::Run(mode) => run_mode(mode, &p.source, &p.flags, &p.input, &output, timeout),
        How::Object => {
            let mut args = vec!["-c".into(), "-o".into(), output.clone().into_os_string()];
            args.extend(p.flags.iter().map(Into::into));
            args.push(p.source.clone().into_os_string());
            ModeRun { run: run_bfc(&args, &p.input, timeout), build: None }
        }
    };
    let mut detail = String::new();
    if let Some(build) = got.build.as_ref().filter(|_| !got.build_failed()) {
        detail = format!("(build {:.2}s + run {:.2}s)", build.secs, got.run.secs);
    }
    let failure = match &p.expect {
        Expect::Error(error @ ExpectedError::Unmatched { .. }) => {
            let writes = matches!(job.how, How::Object | How::Run(Mode::Exe(_)));
            check_error(error, &got.run, name)
                .or_else(|| (writes && output.exists()).then(|| format!("{} was created", output.display())))
        }
        _ if got.build_failed() => Some(format!("build failed: {}", got.run.summary())),
        Expect::Error(error) => check_error(error, &got.run, name),
        Expect::Output(want) => check_output(&got, |out| want.differs(out)),
    };
    Done { name: name.clone(), how: job.how.label(), secs: got.secs(), detail, failure }
}

/// Exit 0 and the output `differs` accepts.
fn check_output(got: &ModeRun, differs: impl Fn(&[u8]) -> Option<String>) -> Option<String> {
    let run = &got.run;
    if !run.exited(0) {
        let mut msg = format!("{} (expected exit 0), {}", run.status(), run.stderr_head());
        if let Some(diff) = differs(&run.stdout) {
            msg.push_str(&format!("; {diff}"));
        }
        return Some(msg);
    }
    differs(&run.stdout)
}

/// The exit code, stdout and stderr an error program must give.
fn check_error(error: &ExpectedError, run: &Run, name: &str) -> Option<String> {
    let (code, want_stdout, needles): (i32, &[u8], Vec<String>) = match error {
        ExpectedError::Unmatched { bracket, at } => {
            let mut needles = vec![format!("error: unmatched '{bracket}'")];
            if let Some((line, col)) = at {
                needles.push(format!("{name}.b:{line}:{col}: error: unmatched '{bracket}'"));
            }
            (1, b"", needles)
        }
        ExpectedError::Tape { word, stdout } => (3, stdout, vec![word.to_string()]),
    };
    let stderr = run.stderr_text();
    let mut problems = Vec::new();
    if !run.exited(code) {
        problems.push(format!("{} (expected exit {code})", run.status()));
    }
    for needle in &needles {
        if !stderr.contains(needle.as_str()) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    if let Some(diff) = describe_diff("stdout", want_stdout, &run.stdout) {
        problems.push(diff);
    }
    (!problems.is_empty()).then(|| format!("{}; {}", problems.join("; "), run.stderr_head()))
}
