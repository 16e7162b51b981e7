//! Warnings (`src/lint.rs`) as the command line prints them: text and
//! place, `-w`, JSON, exit codes untouched; and which programs of the
//! corpus warn, each justified.

mod common;

use common::{bfc_in, corpus_dir, manifest, tempdir, write_file};

/// The warnings of a program as (code, line, column), from the library.
fn warnings_of(name: &str, source: &[u8]) -> Vec<(&'static str, usize, usize)> {
    let options = bfc::Options { eval_steps: 0, ..bfc::Options::default() };
    let (_, warnings) = bfc::front_end_warned(name, source, &options).expect("parses");
    warnings
        .iter()
        .map(|d| {
            assert_eq!(d.level, bfc::diagnostic::Level::Warning);
            let at = d.location.as_ref().expect("a warning has a place");
            (d.code, at.pos.line, at.pos.col)
        })
        .collect()
}

#[test]
fn warnings_show_the_place_and_leave_the_exit_code() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", b"+[]\n>.");
    let build = bfc_in(dir.path(), &["-c", "p.b", "-o", "p.o", "--color", "never"], b"");
    assert!(build.exited(0), "{}", build.summary());
    assert_eq!(
        build.stderr_text(),
        "p.b:1:2: warning: this loop never ends once entered\n  |\n1 | +[]\n  |  ^ its body leaves the pointer here and never changes this cell\n\
         p.b:2:1: warning: unreachable code\n  |\n2 | >.\n  | ^ never run: the loop at 1:2 is always entered and never ends\n"
    );
    assert!(dir.path().join("p.o").exists());

    // Printed before the run; the run's own error and exit code follow.
    write_file(dir.path(), "walk.b", b"+[>+]");
    let run = bfc_in(dir.path(), &["--jit", "walk.b", "--color", "never"], b"");
    assert!(run.exited(3), "{}", run.summary());
    let text = run.stderr_text();
    assert!(text.starts_with("walk.b:1:2: warning: this loop always runs off the right end of the tape\n"), "{text}");
    assert!(text.contains("each time round it moves right by 1 and leaves the next cell it tests nonzero"), "{text}");
    assert!(text.contains("walk.b:1:4: error: tape overflow: cell 65536 touched"), "{text}");

    write_file(dir.path(), "left.b", b"[comment]\n>><<<.");
    let run = bfc_in(dir.path(), &["--interp", "left.b", "--color", "never"], b"");
    assert!(run.exited(3), "{}", run.summary());
    assert!(
        run.stderr_text().starts_with("left.b:2:6: warning: the program always stops here with a tape underflow\n"),
        "{}",
        run.stderr_text()
    );
}

#[test]
fn minus_w_silences_warnings() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", b",[.]+[>+]");
    let run = bfc_in(dir.path(), &["--jit", "-w", "p.b"], b"");
    assert!(run.exited(3), "{}", run.summary());
    assert!(!run.stderr_text().contains("warning"), "{}", run.stderr_text());
    let run = bfc_in(dir.path(), &["--jit", "p.b"], b"");
    assert_eq!(run.stderr_text().matches("warning:").count(), 2, "{}", run.stderr_text());
}

#[test]
fn json_carries_warnings() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", b"\n ,[.]");
    let run = bfc_in(dir.path(), &["--jit", "p.b", "--error-format", "json"], b"");
    assert!(run.exited(0), "{}", run.summary());
    let lines: Vec<serde_json::Value> =
        run.stderr_text().lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr_text());
    let w = &lines[0];
    assert_eq!(w["level"], "warning");
    assert_eq!(w["code"], "endless-loop");
    assert_eq!((w["file"].as_str(), w["line"].as_u64(), w["column"].as_u64()), (Some("p.b"), Some(2), Some(3)));
    assert_eq!(w["offset"], 3);
}

#[test]
fn each_warning_by_code_and_place() {
    assert_eq!(warnings_of("t.b", b",[>+<]"), [("endless-loop", 1, 2)]);
    assert_eq!(warnings_of("t.b", b"[comment. with, commas]+[-]\n[more]"), []);
    assert_eq!(warnings_of("t.b", b"+[]\n\n  ."), [("endless-loop", 1, 2), ("unreachable-code", 3, 3)]);
    assert_eq!(warnings_of("t.b", b"++\n-[>+]"), [("runs-off-tape", 2, 2)]);
    assert_eq!(warnings_of("t.b", b">>-[<+]"), [("runs-off-tape", 1, 4)]);
}

/// At `-O1` and `-O2` the lint reads the program with its runs folded
/// (`parse::parse_folded`), at `-O0` one instruction a command: the same
/// warnings at the same places, on every program of the corpus and on runs
/// that reach off either end of the tape, wrap, or step a wide cell.
#[test]
fn folded_runs_warn_as_their_commands_do() {
    let warnings = |source: &[u8], level: bfc::opt::Level, cell_bits: u32| {
        let options = bfc::Options { eval_steps: 0, level, cell_bits, tape_cells: 4096, ..bfc::Options::default() };
        let (_, found) = bfc::front_end_warned("t.b", source, &options).expect("parses");
        found.iter().map(|d| (d.code, d.message.clone(), d.location.as_ref().map(|at| at.pos))).collect::<Vec<_>>()
    };
    let dir = corpus_dir();
    let mut sources: Vec<Vec<u8>> = manifest::load(&dir)
        .expect("corpus manifest")
        .iter()
        .filter(|entry| entry.kind != "error")
        .map(|entry| std::fs::read(entry.program(&dir)).expect("corpus program"))
        .collect();
    let runs = |c: &str, n: usize| c.repeat(n);
    for edge in [
        format!("{}+.", runs("<", 3)),
        format!("{}+ {} +", runs(">", 4000), runs(">", 200)),
        format!("{}{}[]", runs("-", 200), runs("+", 200)),
        format!("{}[].", runs("+", 200)),
        format!("+[{}+{}]", runs(">", 2), runs("<", 2)),
        format!("{}[-]{}[]", runs("+", 300), runs("-", 129)),
        format!(">>{}[{}+{}]", runs("+", 130), runs("<", 1), runs(">", 1)),
        format!("+[{}+]{}", runs(">>", 3), runs("+", 5)),
    ] {
        sources.push(edge.into_bytes());
    }
    for source in &sources {
        for cell_bits in [8, 16] {
            let unfolded = warnings(source, bfc::opt::Level::O0, cell_bits);
            let folded = warnings(source, bfc::opt::Level::O2, cell_bits);
            assert_eq!(folded, unfolded, "{}", String::from_utf8_lossy(&source[..source.len().min(80)]));
        }
    }
}

/// The programs of the corpus that are meant to run (every kind but
/// `error`) and warn, with why: each is a loop that would never end if
/// entered, on a cell the program knows is zero there and the lint cannot
/// prove so.
const JUSTIFIED: &[(&str, &str, usize, &str)] = &[
    // `<<<<<<<[]>[]>[]...`: empty loops that assert cells cleared by the
    // `[[-]>]` before them, which stops at a zero cell the lint cannot
    // place; nine of the ten (the eighth cell is known zero).
    ("awib_self", "endless-loop", 9, "363:"),
    // "This is a hard optimisation barrier ... difficult to 'prove'
    // constructions": `+[[>]<-[,]+[>]<-[]]`, never entered by design.
    ("bitwidth", "endless-loop", 1, "208:18"),
];

#[test]
fn corpus_programs_that_run_warn_only_where_justified() {
    let dir = corpus_dir();
    let entries = manifest::load(&dir).expect("corpus manifest");
    let mut seen = Vec::new();
    for entry in entries.iter().filter(|e| e.kind != "error") {
        let path = entry.program(&dir);
        let source = std::fs::read(&path).expect("corpus program");
        let name = format!("{}.b", entry.name);
        let Ok(found) = std::panic::catch_unwind(|| warnings_of(&name, &source)) else {
            panic!("{name} does not parse");
        };
        if found.is_empty() {
            continue;
        }
        let places: Vec<String> = found.iter().map(|(_, l, c)| format!("{l}:{c}")).collect();
        let Some(&(_, code, count, place)) = JUSTIFIED.iter().find(|j| j.0 == entry.name) else {
            panic!("{name} warns, unjustified: {found:?}");
        };
        assert!(found.iter().all(|w| w.0 == code), "{name}: {found:?}");
        assert_eq!(found.len(), count, "{name}: {places:?}");
        assert!(places.iter().all(|p| p.starts_with(place)), "{name}: {places:?}");
        seen.push(entry.name.clone());
    }
    assert_eq!(seen.len(), JUSTIFIED.len(), "justified but silent now: {seen:?}");
}

/// What the lint costs beside parsing, on the largest programs of the
/// corpus and a generated one of 3.7 MB (`cargo test --release --test lint
/// -- --ignored --nocapture`; docs/diagnostics.md has the numbers).
#[test]
#[ignore]
fn measure_the_cost_of_the_lint() {
    let dir = corpus_dir().join("progs");
    let big: Vec<u8> = (0..200_000)
        .flat_map(|i| if i % 3 == 0 { &b"[comment.]>,[.,]<"[..] } else { &b">+++[-<+>]<[->>+<<]"[..] })
        .copied()
        .collect();
    let mut programs: Vec<(String, Vec<u8>)> = ["mandelbrot.b", "lostkng.b", "awib_self.b", "edge_deep_nesting_100k.b"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read(dir.join(name)).expect("corpus program")))
        .collect();
    programs.push(("generated 3.7 MB".into(), big));
    for (name, source) in programs {
        let best = |f: &dyn Fn()| {
            (0..7)
                .map(|_| {
                    let start = std::time::Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min)
        };
        let program = bfc::parse::parse(&name, &source).unwrap();
        let parse = best(&|| drop(bfc::parse::parse(&name, &source).unwrap()));
        let lint = best(&|| drop(bfc::lint::check(&name, &source, &program, bfc::ir::analysis::Hull::tape(65536, 0))));
        let options = bfc::Options::default();
        let front = best(&|| drop(bfc::front_end(&name, &source, &options).unwrap()));
        println!(
            "{name}: {} bytes, parse {parse:.2} ms, lint {lint:.2} ms, parse + optimise {front:.2} ms",
            source.len()
        );
    }
}
