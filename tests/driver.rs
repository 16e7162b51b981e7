//! The driver conventions of gcc, clang and rustc that bfc follows (issue
//! 15): `-O` spellings, the last repeated option winning, `-o -`, several
//! `--emit` kinds and several inputs and how their outputs are named, `-S`
//! source that `as` assembles into `-c`'s code, `-v` and `--time-passes`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bfc_in, listing, run, tempdir, write_file, Run, TIMEOUT};

const HELLO: &[u8] =
    b"++++++++[>++++[>++>+++>+++>+<<<<-]>+>+>->>+[<]<-]>>.>---.+++++++..+++.>>.<-.<.+++.------.--------.>>+.>++.";
/// Reads, so its code keeps loops and calls; upper-cases its input up to
/// the end of input (with `--eof zero`).
const ECHO_UPPER: &[u8] = b"++++++++[>++++++++<-]>+.,[>++++[<-------->-]<.,]";

fn ok(label: &str, got: &Run) {
    assert!(got.exited(0), "{label}: {}", got.summary());
}

fn usage_error(label: &str, got: &Run, needle: &str) {
    assert!(got.exited(2), "{label}: expected a usage error: {}", got.summary());
    assert!(got.stderr_text().contains(needle), "{label}: stderr lacks {needle:?}: {}", got.stderr_text());
}

fn ir(dir: &Path, args: &[&str]) -> String {
    let got = bfc_in(dir, args, b"");
    ok(&format!("bfc {args:?}"), &got);
    String::from_utf8(got.stdout).unwrap()
}

#[test]
fn o_o3_and_os_are_o2() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", HELLO);
    let o2 = ir(dir.path(), &["--emit", "ir", "-O2", "p.b"]);
    for spelling in [&["-O"][..], &["-O3"], &["-Os"], &["-O", "-O3"]] {
        let args: Vec<&str> = ["--emit", "ir"].iter().chain(spelling).chain(&["p.b"]).copied().collect();
        assert_eq!(ir(dir.path(), &args), o2, "{spelling:?} is not -O2");
    }
    assert_ne!(ir(dir.path(), &["--emit", "ir", "-O0", "p.b"]), o2);
    usage_error("-O4", &bfc_in(dir.path(), &["-O4", "p.b"], b""), "-O");
}

#[test]
fn the_last_of_a_repeated_option_wins() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", HELLO);
    let o0 = ir(dir.path(), &["--emit", "ir", "-O0", "p.b"]);
    assert_eq!(ir(dir.path(), &["--emit", "ir", "-O2", "-O0", "p.b"]), o0);
    assert_eq!(ir(dir.path(), &["-O1", "--emit", "ir", "-O", "-O0", "p.b"]), o0);
    // --eof: the last one decides what ',' stores.
    write_file(dir.path(), "eof.b", b",.");
    let got = bfc_in(dir.path(), &["--jit", "--eof", "zero", "--eof", "minus-one", "eof.b"], b"");
    assert_eq!(got.stdout, [255], "{}", got.summary());
    // -o: the last names the output.
    ok("-o x -o y", &bfc_in(dir.path(), &["-c", "-o", "x.o", "-o", "y.o", "p.b"], b""));
    assert!(dir.path().join("y.o").exists() && !dir.path().join("x.o").exists(), "{:?}", listing(dir.path()));
    // --tape-size: a program that walks 100 cells fits the last size only.
    write_file(dir.path(), "walk.b", &[&[b'>'; 100][..], b"+."].concat());
    let small_last = bfc_in(dir.path(), &["--jit", "--tape-size", "1000", "--tape-size", "50", "walk.b"], b"");
    assert!(small_last.exited(3), "{}", small_last.summary());
    ok("big last", &bfc_in(dir.path(), &["--jit", "--tape-size", "50", "--tape-size", "1000", "walk.b"], b""));
}

#[test]
fn dash_o_dash_writes_to_stdout() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", HELLO);
    let object = bfc_in(dir.path(), &["-c", "p.b", "-o", "-"], b"");
    ok("-c -o -", &object);
    assert!(object.stdout.starts_with(b"\x7fELF"), "-c -o - wrote no object to stdout");
    let ir_text = ir(dir.path(), &["--emit", "ir", "p.b"]);
    assert_eq!(ir(dir.path(), &["--emit", "ir", "-o", "-", "p.b"]), ir_text);
    let source = bfc_in(dir.path(), &["-S", "-o", "-", "p.b"], b"");
    assert!(String::from_utf8_lossy(&source.stdout).contains(".globl\tbf_main"), "{}", source.summary());
    usage_error("exe to stdout", &bfc_in(dir.path(), &["-o", "-", "p.b"], b""), "stdout");
    assert_eq!(listing(dir.path()), ["p.b"], "-o - wrote files");
}

#[test]
fn emit_honours_o_and_several_kinds_are_named_after_the_source() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", HELLO);
    let printed = ir(dir.path(), &["--emit", "ir", "p.b"]);
    ok("--emit ir -o", &bfc_in(dir.path(), &["--emit", "ir", "-o", "out.txt", "p.b"], b""));
    assert_eq!(std::fs::read_to_string(dir.path().join("out.txt")).unwrap(), printed);

    let got = bfc_in(dir.path(), &["--emit", "ir,obj", "--emit=asm,passes", "p.b"], b"");
    ok("--emit ir,obj,asm,passes", &got);
    assert!(got.stdout.is_empty(), "several outputs went to stdout: {}", got.summary());
    assert_eq!(listing(dir.path()), ["out.txt", "p.b", "p.ir", "p.lst", "p.o", "p.passes"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("p.ir")).unwrap(), printed);
    assert!(std::fs::read(dir.path().join("p.o")).unwrap().starts_with(b"\x7fELF"));

    ok("--emit obj,exe", &bfc_in(dir.path(), &["--emit", "obj,exe", "-O1", "p.b"], b""));
    let ran = run(&mut Command::new(dir.path().join("p")), b"", TIMEOUT);
    assert_eq!(ran.stdout, b"Hello World!\n", "{}", ran.summary());
    usage_error("stdin, several kinds", &bfc_in(dir.path(), &["--emit", "ir,obj", "-"], HELLO), "stdin");
    usage_error("-o with several kinds", &bfc_in(dir.path(), &["--emit", "ir,obj", "-o", "x", "p.b"], b""), "-o");
}

#[test]
fn several_inputs_make_one_output_each() {
    let dir = tempdir();
    write_file(dir.path(), "a.b", HELLO);
    write_file(dir.path(), "b.b", ECHO_UPPER);
    ok("-c a.b b.b", &bfc_in(dir.path(), &["-c", "a.b", "b.b"], b""));
    assert_eq!(listing(dir.path()), ["a.b", "a.o", "b.b", "b.o"]);
    ok("a.b b.b", &bfc_in(dir.path(), &["--eof", "zero", "a.b", "b.b"], b""));
    let ran = run(&mut Command::new(dir.path().join("a")), b"", TIMEOUT);
    assert!(ran.exited(0) && ran.stdout == b"Hello World!\n", "./a: {}", ran.summary());
    let ran = run(&mut Command::new(dir.path().join("b")), b"xyz", TIMEOUT);
    assert!(ran.exited(0) && ran.stdout == b"AXYZ", "./b: {}", ran.summary());
    usage_error("-c -o with two inputs", &bfc_in(dir.path(), &["-c", "a.b", "b.b", "-o", "x.o"], b""), "-o");
    usage_error("--jit with two inputs", &bfc_in(dir.path(), &["--jit", "a.b", "b.b"], b""), "one FILE");
    usage_error("--interp with two inputs", &bfc_in(dir.path(), &["--interp", "a.b", "b.b"], b""), "one FILE");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    write_file(&dir.path().join("sub"), "a.b", HELLO);
    usage_error("two a.o", &bfc_in(dir.path(), &["-c", "a.b", "sub/a.b"], b""), "a.o");
}

/// `-S`'s source, assembled by `as`, gives the bytes of `-c`'s `.text`, at
/// every level, with a symbol of the same name, kind and size.
#[test]
fn s_source_assembles_into_the_objects_code() {
    use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
    let dir = tempdir();
    let tables = b">,[>,]<[[-<+>]<]>[-[-[-[.[-]]]]]".as_slice(); // nested ifs; echo has data after its code
    for (name, source) in [("hello", HELLO), ("echo", ECHO_UPPER), ("tables", tables)] {
        write_file(dir.path(), &format!("{name}.b"), source);
        for opt in ["-O0", "-O2"] {
            let sym = ["--symbol", "prog_main"];
            let file = format!("{name}.b");
            ok("-c", &bfc_in(dir.path(), &[&["-c", opt, &file][..], &sym].concat(), b""));
            ok("-S", &bfc_in(dir.path(), &[&["-S", opt, &file][..], &sym].concat(), b""));
            let assembled = dir.path().join(format!("{name}-as.o"));
            let got = run(
                Command::new("as").arg(dir.path().join(format!("{name}.s"))).arg("-o").arg(&assembled),
                b"",
                TIMEOUT,
            );
            assert!(got.exited(0), "as {name}.s: {}", got.summary());
            let ours = std::fs::read(dir.path().join(format!("{name}.o"))).unwrap();
            let theirs = std::fs::read(&assembled).unwrap();
            let (ours, theirs) = (object::File::parse(&*ours).unwrap(), object::File::parse(&*theirs).unwrap());
            let text = |f: &object::File| f.section_by_name(".text").unwrap().data().unwrap().to_vec();
            assert_eq!(text(&ours), text(&theirs), "{name} {opt}: .text differs");
            let symbol = |f: &object::File| {
                let s = f.symbols().find(|s| s.name() == Ok("prog_main")).expect("symbol");
                (s.address(), s.size(), s.kind(), s.is_global())
            };
            assert_eq!(symbol(&ours), symbol(&theirs), "{name} {opt}: the symbol differs");
            let note = theirs.section_by_name(".note.GNU-stack").expect("as made no .note.GNU-stack");
            assert_eq!(note.size(), 0);
        }
    }
}

/// What `bfc ARGS p.b` (p.b: hello world) says on stderr; it must succeed
/// and print hello world if it runs it.
fn stderr_building_hello(args: &[&str]) -> String {
    let dir = tempdir();
    write_file(dir.path(), "p.b", HELLO);
    let got = bfc_in(dir.path(), &[args, &["p.b"]].concat(), b"");
    ok(&format!("{args:?}"), &got);
    assert!(got.stdout.is_empty() || got.stdout == b"Hello World!\n", "{}", got.summary());
    got.stderr_text()
}

#[test]
fn v_shows_the_c_compiler_command() {
    let err = stderr_building_hello(&["-v"]);
    assert!(err.contains("-DBFRT_ENTRY=bf_main") && err.contains("main.c bfrt.c prog.o"), "{err}");
    assert_eq!(stderr_building_hello(&[]), "", "without -v");
}

#[test]
fn time_passes_shows_every_stage() {
    let err = stderr_building_hello(&["--time-passes"]);
    for stage in ["parse", "combine (round 1)", "switch-tables", "select", "emit", "object", "link"] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("time: {stage} ")))
            .unwrap_or_else(|| panic!("no {stage}:\n{err}"));
        assert!(line.contains(" ms"), "{line}");
    }
    assert!(err.lines().any(|l| l.starts_with("time: parse") && l.ends_with("insts")), "{err}");
    assert!(stderr_building_hello(&["--jit", "--time-passes"]).contains("time: parse"));
    // -w: no warnings, and no time spent looking for them.
    assert!(stderr_building_hello(&["--time-passes"]).contains("time: lint "));
    assert!(!stderr_building_hello(&["-w", "--time-passes"]).contains("time: lint"));
}

/// examples/Makefile: builds every program, a second make does nothing,
/// other flags rebuild everything, `make -j` works.
#[test]
fn examples_makefile_follows_bfc_and_the_flags() {
    let dir = tempdir();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["Makefile", "hello.b", "cat.b"] {
        std::fs::copy(examples.join(name), dir.path().join(name)).unwrap();
    }
    let bfc = common::bfc().to_path_buf();
    let make = |args: &[&str]| {
        let mut cmd = Command::new("make");
        cmd.arg("-C").arg(dir.path()).arg(format!("BFC={}", bfc.display())).args(args);
        let got = run(&mut cmd, b"", TIMEOUT);
        assert!(got.exited(0), "make {args:?}: {}", got.summary());
        String::from_utf8_lossy(&got.stdout).into_owned()
    };
    let mtime = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().modified().unwrap();
    let first = make(&["-j4"]);
    assert!(first.contains("hello.b -o hello") && first.contains("cat.b -o cat"), "{first}");
    let ran = run(&mut Command::new(dir.path().join("hello")), b"", TIMEOUT);
    assert_eq!(ran.stdout, b"Hello World!\n", "{}", ran.summary());
    let built = mtime("hello");
    let again = make(&[]);
    assert!(again.contains("Nothing to be done"), "second make did something:\n{again}");
    assert_eq!(mtime("hello"), built);
    let mut question = Command::new("make");
    question.arg("-q").arg("-C").arg(dir.path()).arg(format!("BFC={}", bfc.display()));
    assert!(run(&mut question, b"", TIMEOUT).exited(0), "make -q: not up to date");
    let o1 = make(&["BFFLAGS=-O1", "-j4"]);
    assert!(o1.contains("-O1 hello.b -o hello") && o1.contains("-O1 cat.b -o cat"), "new flags did not rebuild:\n{o1}");
    assert!(make(&["BFFLAGS=-O1"]).contains("Nothing to be done"));
    let object = make(&["BFFLAGS=-O1", "hello.o"]);
    assert!(object.contains("-c hello.b -o hello.o"), "{object}");
    make(&["clean"]);
    assert_eq!(listing(dir.path()), ["Makefile", "cat.b", "hello.b"]);
}

/// `--emit` with `--jit` or `--interp` shows what that run would run: no
/// compile-time execution (the JIT's default), where a build runs the
/// input-free start at compile time.
#[test]
fn emit_with_jit_shows_what_the_jit_runs() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", b"++++++++[>++++++++[>+>+<<-]<-]>>[>[-<+>]<-]>.");
    let jit = ir(dir.path(), &["--emit", "ir", "--jit", "p.b"]);
    assert_eq!(jit, ir(dir.path(), &["--emit", "ir", "--eval-steps", "0", "p.b"]));
    assert_eq!(ir(dir.path(), &["--emit", "ir", "--interp", "p.b"]), jit);
    assert_ne!(ir(dir.path(), &["--emit", "ir", "p.b"]), jit, "a build runs the start at compile time");
    // An explicit budget still wins.
    assert_eq!(
        ir(dir.path(), &["--emit", "ir", "--jit", "--eval-steps", "1000000", "p.b"]),
        ir(dir.path(), &["--emit", "ir", "p.b"])
    );
}

/// `-Wall` and `-Wextra`, which Makefiles pass to every compiler, are
/// accepted (bfc's warnings are all on by default); other `-W` values are
/// a usage error that lists these.
#[test]
fn wall_and_wextra_are_accepted() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", HELLO);
    let plain = ir(dir.path(), &["--emit", "ir", "p.b"]);
    assert_eq!(ir(dir.path(), &["-Wall", "-Wextra", "--emit", "ir", "p.b"]), plain);
    usage_error("-Werror", &bfc_in(dir.path(), &["-Werror", "p.b"], b""), "all, extra");
}
