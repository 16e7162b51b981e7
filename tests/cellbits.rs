//! `--cell-bits 8|16|32` (issue 17): programs whose output depends on the
//! width of a cell, run in the JIT and executables at -O0 and -O2 and in
//! the interpreter, against outputs computed by hand; `,` at the end of
//! input, tape errors, dumps and `--emit passes` at wide cells; rdebath's
//! bitwidth.b from the corpus.

mod common;

use common::{assert_no_crash, assert_run, corpus_dir, each_mode, run_bfc, Mode, TIMEOUT};

/// Every way a program runs: the JIT and executables at -O0 and -O2, the
/// interpreter at -O0 (and at -O2, given separately).
const MODES: [Mode; 5] = [Mode::Jit(0), Mode::Jit(2), Mode::Interp, Mode::Exe(0), Mode::Exe(2)];

/// Brainfuck written by position: `go` moves the pointer to a cell by
/// number, `add` adds to one.
#[derive(Default)]
struct Writer {
    code: String,
    at: i32,
}

impl Writer {
    fn go(&mut self, cell: i32) -> &mut Self {
        let d = cell - self.at;
        self.code += &if d > 0 { ">".repeat(d as usize) } else { "<".repeat(-d as usize) };
        self.at = cell;
        self
    }

    fn add(&mut self, cell: i32, n: i32) -> &mut Self {
        self.go(cell);
        self.code += &if n > 0 { "+".repeat(n as usize) } else { "-".repeat(-n as usize) };
        self
    }

    fn raw(&mut self, code: &str) -> &mut Self {
        self.code += code;
        self
    }
}

/// rdebath-style: prints how many bits a cell has, "8", "16" or "32". It
/// makes 256 (16 * 16) and 65536 (16^4, by four nested loops) and counts
/// those that are not zero.
fn width_program() -> String {
    let mut w = Writer::default();
    // cell 0 = 256, counted by cell 10.
    w.add(10, 16).raw("[").add(0, 16).add(10, -1).raw("]");
    // cell 1 = 65536, counted by cells 10 to 13.
    w.add(10, 16).raw("[").add(11, 16).raw("[").add(12, 16).raw("[").add(13, 16).raw("[");
    w.add(1, 1).add(13, -1).raw("]").add(12, -1).raw("]").add(11, -1).raw("]").add(10, -1).raw("]");
    // cell 2 = (cell 0 != 0) + (cell 1 != 0)
    for cell in [0, 1] {
        w.go(cell).raw("[[-]").add(2, 1).go(cell).raw("]");
    }
    // Flags: cell 3 for 8 bits, 5 for 16, 6 for 32.
    w.add(3, 1).go(2).raw("[").add(3, -1).add(5, 1).add(2, -1);
    w.raw("[").add(5, -1).add(6, 1).add(2, -1).raw("]").raw("]");
    for (flag, text) in [(3, "8\n"), (5, "16\n"), (6, "32\n")] {
        w.go(flag).raw("[");
        for ch in text.bytes() {
            w.add(7, ch as i32).raw(".[-]");
        }
        w.add(flag, -1).raw("]");
    }
    w.code
}

/// The largest value of a cell (`-` from 0) in five decimal digits,
/// leading zeros included: by divmod by 10 (esolangs' divmod, which works
/// at any width), five times. Takes time proportional to the value, so it
/// is run at 8 and 16 bits only.
fn cell_max_program() -> String {
    let mut w = Writer::default();
    w.add(0, -1);
    for k in 0..5 {
        let base = 6 * k;
        // [n 0 10] -> [0 n 10-n%10 n%10 n/10]; the quotient to the next frame.
        w.add(base + 2, 10).go(base).raw("[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]");
        w.go(base + 1).raw("[-]").go(base + 2).raw("[-]");
        w.go(base + 4).raw("[").add(base + 6, 1).add(base + 4, -1).raw("]");
    }
    for k in (0..5).rev() {
        w.add(6 * k + 3, b'0' as i32).raw(".");
    }
    w.add(31, 10).raw(".");
    w.code
}

/// In every mode at `bits` (and the interpreter at -O2): exit 0, exactly
/// `stdout`.
fn expect(source: &str, bits: u32, flags: &[&str], input: &[u8], stdout: &[u8]) {
    let bits = bits.to_string();
    let flags: Vec<&str> = [&["--cell-bits", &bits, "-w"], flags].concat();
    each_mode(&MODES, source.as_bytes(), &flags, input, |label, got| assert_run(label, got, 0, stdout, ""));
    let optimised = [&flags[..], &["-O2"]].concat();
    each_mode(&[Mode::Interp], source.as_bytes(), &optimised, input, |label, got| {
        assert_run(label, got, 0, stdout, "")
    });
}

#[test]
fn a_program_tells_the_width_of_its_cells() {
    let source = width_program();
    expect(&source, 8, &[], b"", b"8\n");
    expect(&source, 16, &[], b"", b"16\n");
    expect(&source, 32, &[], b"", b"32\n");
}

#[test]
fn minus_one_is_the_largest_cell_value() {
    let source = cell_max_program();
    expect(&source, 8, &[], b"", b"00255\n");
    expect(&source, 16, &[], b"", b"65535\n");
}

/// `-` from 0 wraps to all ones, whose low byte `.` prints; `+` wraps
/// back; 256 is zero only at 8 bits (the loop prints `!` elsewhere).
#[test]
fn cells_wrap_at_their_width() {
    let source = format!("-.+.{}[>{}.<[-]]", "+".repeat(256), "+".repeat(33));
    expect(&source, 8, &[], b"", b"\xff\x00");
    expect(&source, 16, &[], b"", b"\xff\x00!");
    expect(&source, 32, &[], b"", b"\xff\x00!");
    // Runs longer than a signed byte fold into more than one add at wide
    // cells: 300 - 44 is 256, zero only at 8 bits.
    let source = format!("{}{}[>{}.<[-]]", "+".repeat(300), "-".repeat(44), "+".repeat(33));
    expect(&source, 16, &[], b"", b"!");
    expect(&source, 8, &[], b"", b"");
}

/// A scan (`[>]`, a `Scan` at -O2) tests whole cells: 256 stops it at 8
/// bits only. Also past the end of a checked tape.
#[test]
fn scans_test_whole_cells() {
    let source = format!("+>{}>{}<[>]<.", "+".repeat(256), "+".repeat(256));
    expect(&source, 8, &[], b"", &[1]);
    expect(&source, 16, &[], b"", &[0]);
    expect(&source, 32, &[], b"", &[0]);
    let flags = ["--cell-bits", "16", "--tape-size", "3", "-w"];
    each_mode(&MODES, source.as_bytes(), &flags, b"", |label, got| {
        assert_run(label, got, 3, b"", "tape overflow: cell 3 touched")
    });
}

/// `,` stores the byte read, zero-extended, and at the end of input with
/// `--eof minus-one` all ones: 65535 at 16 bits, so 255 less is not zero.
#[test]
fn input_stores_a_byte_and_eof_minus_one_all_ones() {
    let source = format!(",.>,.{}[>{}.<[-]]", "-".repeat(255), "+".repeat(33));
    let flags = ["--eof", "minus-one"];
    expect(&source, 16, &flags, b"\xfe", b"\xfe\xff!");
    expect(&source, 32, &flags, b"\xfe", b"\xfe\xff!");
    expect(&source, 8, &flags, b"\xfe", b"\xfe\xff");
    expect(",.,.", 16, &["--eof", "zero"], b"\x80", b"\x80\x00");
}

/// Tape errors name cells, not bytes: a walk off the end of a guarded
/// tape (4096 cells) and of a checked one (100), and off the start of a
/// margin.
#[test]
fn tape_errors_name_cells_at_wide_widths() {
    for (bits, tape, message) in [("16", "4096", "cell 4096 touched"), ("32", "100", "cell 100 touched")] {
        let flags = ["--cell-bits", bits, "--tape-size", tape, "-w"];
        each_mode(&MODES, b"+[>+]", &flags, b"", |label, got| assert_run(label, got, 3, b"", message));
    }
    let flags = ["--cell-bits", "32", "--left-margin", "2", "-w"];
    each_mode(&MODES, b"<<+.<+", &flags, b"", |label, got| assert_run(label, got, 3, b"\x01", "cell -3 touched"));
}

/// `#` shows whole cells.
#[test]
fn dumps_show_wide_values() {
    let flags = ["--cell-bits", "16", "--hash-dump", "-w"];
    each_mode(&MODES, b"-->+++#", &flags, b"", |label, got| {
        assert_run(label, got, 0, b"", "# ptr 1: [-3] -- -- -- 65534 >3< 0 0 0 0 0 0 0 0 0 0 0\n")
    });
    let flags = ["--cell-bits", "32", "--hash-dump", "-w"];
    each_mode(&MODES, b"-#", &flags, b"", |label, got| assert_run(label, got, 0, b"", ">4294967295<"));
}

/// `--emit passes` says which passes do not run at a width; at 8 bits
/// there is no such line.
#[test]
fn emit_passes_names_the_passes_turned_off() {
    let got = run_bfc(["--emit", "passes", "--cell-bits", "16", "-"], b"+[->+<]", TIMEOUT);
    assert_no_crash("passes", &got);
    let text = String::from_utf8_lossy(&got.stdout).to_string();
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with(";; skipped at 16-bit cells: closed-form-loops, value-scans"), "{text}");
    assert!(
        first
            .ends_with("compile-time execution, switch-tables, dead-stores, divmod-loops, shortcuts, linear-stretches"),
        "{text}"
    );
    assert!(!text.contains("after closed-form-loops"), "{text}");
    let got = run_bfc(["--emit", "passes", "-"], b"+[->+<]", TIMEOUT);
    assert!(!String::from_utf8_lossy(&got.stdout).contains("skipped"));
}

#[test]
fn other_widths_are_refused() {
    let got = run_bfc(["--jit", "--cell-bits", "12", "-"], b"+.", TIMEOUT);
    assert!(got.exited(2), "{}", got.summary());
    assert!(got.stderr_text().contains("8, 16 or 32"), "{}", got.stderr_text());
}

/// rdebath's bitwidth.b prints one of three variants of "Hello world",
/// then the largest cell value when it is small: its own comments say so,
/// and at 8 bits the corpus's expected output is the first.
#[test]
fn bitwidth_prints_its_variant_at_each_width() {
    let source = std::fs::read(corpus_dir().join("progs/bitwidth.b")).expect("the corpus has bitwidth.b");
    let source = String::from_utf8(source).expect("bitwidth.b is text");
    expect(&source, 8, &[], b"", b"Hello World! 255\n");
    expect(&source, 16, &[], b"", b"Hello world! 65535\n");
    expect(&source, 32, &[], b"", b"Hello, world!\n");
}
