//! The differential check of tests/differential.rs at scale, run by hand:
//!
//!     BFC_FUZZ_N=100000 BFC_FUZZ_SEED=7 cargo test --release --test fuzz -- --ignored --nocapture
//!
//! JIT (-O0, -O2) and `--interp` for every program, an executable for one
//! in 1000. A mismatch is saved under target/fuzz-failures/, and the first
//! `BFC_FUZZ_MINIMISE` (default 20) are also minimised (delta debugging)
//! and saved beside as `seed-N.min.b`.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::diff::{self, Verdict};
use common::gen::{self, Case};
use common::{env_num, parallel, tempdir, workers, Mode};

/// Stop minimising after this many trial runs or this long.
const MAX_TRIALS: usize = 1000;
const MAX_MINIMISE: Duration = Duration::from_secs(60);

#[test]
#[ignore = "long: run by hand with --ignored (BFC_FUZZ_N, BFC_FUZZ_SEED)"]
fn fuzz_many() {
    let n: u64 = env_num("BFC_FUZZ_N", 100_000);
    let default_seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) << 20;
    let first: u64 = env_num("BFC_FUZZ_SEED", default_seed);
    eprintln!("fuzz: {n} programs from seed {first} (BFC_FUZZ_SEED={first} to repeat)");
    let work = tempdir();
    let start = Instant::now();
    let done = AtomicU64::new(0);
    let discarded = AtomicU64::new(0);
    let mismatches = AtomicU64::new(0);
    let max_minimised: u64 = env_num("BFC_FUZZ_MINIMISE", 20);
    let failures = parallel(n as usize, workers(), |i| {
        let case = gen::case(first.wrapping_add(i as u64));
        let verdict = diff::check(&case, work.path(), &diff::modes(case.seed, 1000));
        let failure = match verdict {
            Verdict::Discarded => {
                discarded.fetch_add(1, Ordering::Relaxed);
                None
            }
            Verdict::Agreed => None,
            Verdict::Mismatch(bad) => {
                // One bug tends to show up many times: minimising every
                // instance would take hours.
                let nth = mismatches.fetch_add(1, Ordering::Relaxed);
                Some(report(&case, &bad, work.path(), nth < max_minimised))
            }
        };
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        if d.is_multiple_of(1000) {
            eprintln!(
                "fuzz: {d}/{n} programs, {} discarded, {} mismatches, {:.0}s",
                discarded.load(Ordering::Relaxed),
                mismatches.load(Ordering::Relaxed),
                start.elapsed().as_secs_f64()
            );
        }
        failure
    });
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    eprintln!(
        "fuzz: {n} programs, {} mismatches ({} discarded as endless, {:.0}s)",
        failures.len(),
        discarded.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Saves a failing case and, if `shrink`, a minimised version; describes them.
fn report(case: &Case, bad: &[(Mode, String)], work: &Path, shrink: bool) -> String {
    let name = format!("seed-{}", case.seed);
    let original = diff::save("fuzz-failures", &name, case, &case.program, &diff::describe(bad));
    if !shrink {
        let msg = format!(
            "  seed {}: {} ({} bytes):\n{}",
            case.seed,
            original.display(),
            case.program.len(),
            diff::describe(bad)
        );
        eprintln!("fuzz: MISMATCH (not minimised: BFC_FUZZ_MINIMISE reached)\n{msg}");
        return msg;
    }
    let modes: Vec<Mode> = bad.iter().map(|(m, _)| *m).collect();
    let small = minimise(case, &modes, work);
    let still = match diff::check(&small, work, &modes) {
        Verdict::Mismatch(bad) => diff::describe(&bad),
        other => format!("    (the minimised case no longer fails: {other:?})"),
    };
    let min_path = diff::save("fuzz-failures", &format!("{name}.min"), &small, &small.program, &still);
    let msg = format!(
        "  seed {}: {} ({} bytes), minimised to {} ({} bytes, input {} bytes):\n{still}",
        case.seed,
        original.display(),
        case.program.len(),
        min_path.display(),
        small.program.len(),
        small.input.len()
    );
    eprintln!("fuzz: MISMATCH\n{msg}");
    msg
}

fn balanced(program: &[u8]) -> bool {
    let mut depth = 0i64;
    for &b in program {
        match b {
            b'[' => depth += 1,
            b']' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// Delta debugging: deletes chunks of the program (halving the chunk size
/// down to single commands), then unwraps loops, then drops input bytes,
/// keeping every change after which `modes` still disagree with the oracle.
fn minimise(case: &Case, modes: &[Mode], work: &Path) -> Case {
    let start = Instant::now();
    let mut trials = 0;
    let mut best = case.clone();
    best.program.retain(|b| b"+-<>[].,".contains(b));
    let mut fails = |candidate: &Case| {
        if trials >= MAX_TRIALS || start.elapsed() > MAX_MINIMISE {
            return false;
        }
        trials += 1;
        matches!(diff::check(candidate, work, modes), Verdict::Mismatch(_))
    };

    let mut chunk = (best.program.len() / 2).max(1);
    loop {
        let mut i = 0;
        while i < best.program.len() {
            let mut candidate = best.clone();
            candidate.program.drain(i..(i + chunk).min(best.program.len()));
            if balanced(&candidate.program) && fails(&candidate) {
                best = candidate;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }

    // Unwrap loops: `[body]` -> `body`.
    let mut open = 0;
    while open < best.program.len() {
        if best.program[open] == b'[' {
            let mut depth = 0;
            let close = (open..best.program.len())
                .find(|&j| {
                    match best.program[j] {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .expect("balanced");
            let mut candidate = best.clone();
            candidate.program.remove(close);
            candidate.program.remove(open);
            if fails(&candidate) {
                best = candidate;
                continue;
            }
        }
        open += 1;
    }

    let mut i = 0;
    while i < best.input.len() {
        let mut candidate = best.clone();
        candidate.input.remove(i);
        if fails(&candidate) {
            best = candidate;
        } else {
            i += 1;
        }
    }
    best
}
