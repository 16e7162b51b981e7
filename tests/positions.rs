//! Tape errors at a source position: the command that touched the cell,
//! and which cell, the same in `--jit`, `--interp` and executables, at
//! every `-O` level (the differential and fuzz tests hold generated
//! programs to the unoptimised interpreter's command and cell in every
//! mode); output before the error is
//! flushed; `--error-format json` carries the place.

mod common;

use common::{bfc_in, each_mode, tempdir, write_file, Mode};

/// Every mode at -O0 and -O2.
const MODES: [Mode; 6] = [Mode::Jit(0), Mode::Jit(2), Mode::Exe(0), Mode::Exe(2), Mode::Interp, Mode::Interp];

/// In every mode and level (`--interp` as it is and at -O0): exit 3,
/// `stdout`, and the message `at` (line:col) with `what`.
fn fails_at(source: &[u8], tape: usize, stdout: &[u8], at: &str, what: &str) {
    fails_reading(source, b"", tape, stdout, at, what);
}

/// `fails_at`, the program reading `input`.
fn fails_reading(source: &[u8], input: &[u8], tape: usize, stdout: &[u8], at: &str, what: &str) {
    let tape = tape.to_string();
    let want = format!("prog.b:{at}: error: {what}");
    for (i, mode) in MODES.iter().enumerate() {
        let mut flags = vec!["-w", "--tape-size", &tape];
        if i == 5 {
            flags.push("-O0");
        }
        each_mode(&[*mode], source, &flags, input, |label, got| {
            assert!(got.exited(3), "{label}: {}", got.summary());
            assert_eq!(got.stdout, stdout, "{label}: output before the error is flushed");
            assert!(got.stderr_text().contains(&want), "{label}: want {want:?}, got {}", got.stderr_text());
        });
    }
}

#[test]
fn the_issue_example_names_line_column_and_cell() {
    fails_at(
        b"++.\n\n+++<+",
        65536,
        b"\x02",
        "3:5",
        "tape underflow: cell -1 touched (pointer moved left off the tape)",
    );
}

#[test]
fn merged_runs_name_the_command_of_the_cell() {
    // One run of arithmetic at -O1 and up: the failing `+` is the second.
    fails_at(b">+<<+>>>>+", 65536, b"", "1:5", "tape underflow: cell -1 touched");
    fails_at(b"+++++\n>>>>>>>>+<+", 8, b"", "2:9", "tape overflow: cell 8 touched (pointer moved right off the tape)");
}

#[test]
fn checked_tapes_report_the_explicit_check() {
    // 100 cells: not page aligned, every access is compared.
    fails_at(b"+[>+]", 100, b"", "1:4", "tape overflow: cell 100 touched");
    fails_at(b"+.>>+[<+<<]", 100, b"\x01", "1:11", "tape underflow: cell -1 touched");
}

#[test]
fn guarded_tapes_report_the_faulting_instruction() {
    fails_at(b"+[>+]", 4096, b"", "1:4", "tape overflow: cell 4096 touched");
    fails_at(b"+.\n>>>>+[-<<+]", 4096, b"\x01", "2:10", "tape underflow: cell -2 touched");
}

/// A walk whose multiply's target only a later cell of the iteration
/// proves on the tape runs the multiply without its `if` (`if_nonzero`):
/// where the counter is zero the program touches that later cell first
/// and fails there, else at the multiply. At both ends, on a guarded
/// (4096) and a checked (300) tape, with the counter loaded for the
/// multiply and kept in a run's register (decremented first, doubled).
#[test]
fn walks_fail_where_the_program_does_whatever_the_counter() {
    let right = |cells: usize, body: &str| format!("{},>,<[{body}]", ">".repeat(cells - 4));
    for (tape, col) in [(4096, 4096), (300, 300)] {
        let source = right(tape, ">[->>>+<<<]>>>>+<");
        let (mul, later) = (format!("1:{}", col + 8), format!("1:{}", col + 17));
        let overflow = |cell: usize| format!("tape overflow: cell {cell} touched");
        fails_reading(source.as_bytes(), b"\x01\x00", tape, b"", &later, &overflow(tape + 1));
        fails_reading(source.as_bytes(), b"\x01\x07", tape, b"", &mul, &overflow(tape));
        let source = right(tape, ">-[->>>++<<<]>>>>+<");
        let (mul, later) = (format!("1:{}", col + 9), format!("1:{}", col + 19));
        fails_reading(source.as_bytes(), b"\x01\x01", tape, b"", &later, &overflow(tape + 1));
        fails_reading(source.as_bytes(), b"\x01\x02", tape, b"", &mul, &overflow(tape));
        let left = b">>>,<,>[<[-<<<+>>>]<<<<+>]";
        fails_reading(left, b"\x01\x00", tape, b"", "1:24", "tape underflow: cell -2 touched");
        fails_reading(left, b"\x01\x07", tape, b"", "1:15", "tape underflow: cell -1 touched");
    }
}

/// A loop whose cell is first touched in an `if` the first time round and
/// later outside it (here [-1]): its closed form touches it where the `if`
/// runs, else at the later command, as the program does; with the `if`'s
/// cell as read, and 3 on from it.
#[test]
fn closed_forms_fail_where_the_first_iteration_does() {
    let underflow = "tape underflow: cell -1 touched";
    for tape in [4096, 300] {
        let plain = b",>,<[->[<<+>>[-]]<<[-]>]";
        fails_reading(plain, b"\x01\x01", tape, b"", "1:11", underflow);
        fails_reading(plain, b"\x01\x00", tape, b"", "1:20", underflow);
        let shifted = b",>,<[->+++[<<+>>[-]]<<[-]>]";
        fails_reading(shifted, b"\x01\x00", tape, b"", "1:14", underflow);
        fails_reading(shifted, b"\x01\xfd", tape, b"", "1:23", underflow);
    }
}

/// A run that keeps such a multiply's product in a register, the target
/// not loaded until the run touches it again: off the tape, that load
/// names the multiply where the product is not zero, else itself.
#[test]
fn a_carried_product_fails_where_the_program_does() {
    let source = format!("{},>,<[>-[->>>+<<<]>>>+]", ">".repeat(4092));
    let overflow = "tape overflow: cell 4096 touched";
    fails_reading(source.as_bytes(), b"\x01\x01", 4096, b"", "1:4113", overflow);
    fails_reading(source.as_bytes(), b"\x01\x03", 4096, b"", "1:4105", overflow);
    // Not where the instruction that touches the target again reads a
    // cell first that the run had not touched: the second multiply's
    // source `[p-3]` (1:44), loaded before its target `[p-1]`, which the
    // first multiply touches first (1:34). Fuzz seed 1883777409259557.
    let underflow = "tape underflow: cell -1 touched";
    fails_at(b">>>>>>>>>>>><<<<<<<<+<<<+<+[>[-<<+++>>]<<<<[->>+<<]]", 4096, b"", "1:34", underflow);
}

/// A walk that clears a cell the next iteration sets (`[p+2]` here) keeps
/// the clear where it is when nothing before it proves the cell on the
/// tape: the program fails at that command (fuzz seed 918614), not at the
/// next iteration's set.
#[test]
fn a_clear_the_next_iteration_overwrites_fails_at_its_own_command() {
    fails_at(b"+[>[-]>[<<>>-]<-]", 4096, b"", "1:8", "tape overflow: cell 4096 touched");
}

#[test]
fn scans_name_the_test_that_ran_off_the_tape() {
    // The first cell is tested at `[`, each later one at `]`.
    fails_at(b">>+[<<<]", 4096, b"", "1:8", "tape underflow: cell -1 touched");
    fails_at(b">>>>>>+<<<<<<<<[>>]", 4096, b"", "1:16", "tape underflow: cell -2 touched");
}

#[test]
fn scans_of_stride_one_name_the_test_that_ran_off_the_tape() {
    // Off the tape at the first cell, among the first cells (tested one at
    // a time), and past them (where the scan searches 16 at a time).
    fails_at(b"<[<]", 4096, b"", "1:2", "tape underflow: cell -1 touched");
    fails_reading(b",>,>,[<]", b"\x01\x01\x01", 4096, b"", "1:8", "tape underflow: cell -1 touched");
    let long = [",>".repeat(29), ",[<]".to_string()].concat();
    fails_reading(long.as_bytes(), &[1; 30], 4096, b"", "1:62", "tape underflow: cell -1 touched");
    let right = [">".repeat(4093), ",>,>,<<[>]".to_string()].concat();
    fails_reading(right.as_bytes(), b"\x01\x01\x01", 4096, b"", "1:4103", "tape overflow: cell 4096 touched");
}

#[test]
fn strided_scans_that_search_16_bytes_name_the_test_that_ran_off_the_tape() {
    // Cells a stride apart, then off the tape: past the cells tested one
    // at a time, and (16 cells of stride 2, 12 of stride 4: 8 one at a
    // time and a block) past a 16-byte search.
    let left = [",>>".repeat(15), ",[<<]".to_string()].concat();
    fails_reading(left.as_bytes(), &[1; 16], 4096, b"", "1:50", "tape underflow: cell -2 touched");
    for cells in [8, 12] {
        let start = 4096 - 4 * cells;
        let right = [
            ">".repeat(start),
            ",>>>>".repeat(cells - 1),
            ",".to_string(),
            "<".repeat(4 * (cells - 1)),
            "[>>>>]".to_string(),
        ]
        .concat();
        let at = format!("1:{}", right.len());
        fails_reading(right.as_bytes(), &vec![1; cells], 4096, b"", &at, "tape overflow: cell 4096 touched");
    }
}

#[test]
fn unrolled_loops_name_the_copy_that_failed() {
    // A short loop runs as two copies of its body; the second copy and the
    // test between them are the body's and the `]`'s.
    fails_at(b"+[-<+]", 4096, b"", "1:5", "tape underflow: cell -1 touched");
    fails_at(b"++++++[->+<]+[>+]", 100, b"", "1:16", "tape overflow: cell 100 touched");
}

#[test]
fn switches_name_the_command_of_the_cell() {
    // A chain of ifs on the counter read by `,` becomes a table switch at
    // -O2; the cell off the tape is touched by the `+` of the second level.
    fails_reading(b",[->+<[->>>>+<<<<[-]]]", b"\x02", 4, b"", "1:13", "tape overflow: cell 4 touched");
}

#[test]
fn json_runtime_errors_carry_the_place() {
    let dir = tempdir();
    write_file(dir.path(), "prog.b", b"+\n.<+");
    for mode in ["--jit", "--interp"] {
        let run = bfc_in(dir.path(), &[mode, "-w", "--error-format", "json", "prog.b"], b"");
        assert!(run.exited(3), "{mode}: {}", run.summary());
        let v: serde_json::Value = serde_json::from_str(run.stderr_text().trim_end()).expect("one JSON object");
        assert_eq!(v["code"].as_str(), Some("tape-underflow"), "{mode}");
        assert_eq!((v["file"].as_str(), v["line"].as_u64(), v["column"].as_u64()), (Some("prog.b"), Some(2), Some(3)));
        assert!(v["message"].as_str().unwrap().contains("cell -1 touched"), "{mode}: {v}");
    }
}

/// Compile-time execution in the JIT (`--jit --eval-steps N`, and whatever
/// the JIT's default is): a start that stops on the tape is undone and left
/// to run time, which fails at the same command after the same output —
/// the part run at compile time printed from the code, the rest as it runs.
/// Budgets: enough for all of it, one that ends inside the first loop, and
/// one that ends inside the second.
#[test]
fn jit_compile_time_execution_leaves_tape_errors_to_run_time() {
    let dir = tempdir();
    // 'A' from a loop that finishes; then a loop that prints 'B' and \x01
    // and touches cell -1 with the `+` at 2:5.
    write_file(dir.path(), "prog.b", b"++++++++[>++++++++<-]>+.\n+[.<+]");
    let want = "prog.b:2:5: error: tape underflow: cell -1 touched";
    for budget in [None, Some("1000000"), Some("30"), Some("3"), Some("0")] {
        let mut args = vec!["--jit", "-w"];
        args.extend(budget.map(|n| ["--eval-steps", n]).iter().flatten());
        args.push("prog.b");
        let run = bfc_in(dir.path(), &args, b"");
        assert!(run.exited(3), "{args:?}: {}", run.summary());
        assert_eq!(run.stdout, b"AB\x01", "{args:?}: output before the error is flushed");
        assert!(run.stderr_text().contains(want), "{args:?}: want {want:?}, got {}", run.stderr_text());
    }
}
