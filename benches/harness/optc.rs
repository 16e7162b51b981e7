//! The optimising C baseline: what a good Brainfuck-to-C translator such as
//! tritium's C output does, compiled with `gcc -O2`. Runs are folded,
//! pointer moves become offsets, multiply and copy loops become multiplies,
//! clear loops stores and scans plain loops.
//!
//! The folding is bfc's own, at a level no stronger than such a translator:
//! the -O1 passes (combine, clear loops, deferred moves) and the closed
//! forms of balanced loops (`closed_form_loops`: multiplies) and scans
//! (`scan_loops`), to a fixed point. None of -O2's compile-time execution,
//! known values, switch tables or shortcuts. The C uses only `Add`, `Set`,
//! `AddMul`, `Move`, `Out`, `In`, `Loop`, `If` and `Scan`; anything else is
//! an error (it would mean a pass here made more than a translator would).

use std::fmt::Write as _;

use bfc::ir::{Op, Program};
use bfc::opt::{self, Config, Level};

/// Cells left free on each side of the tape, so that offsets past either
/// end of what the program uses stay inside the array (bfc checks the
/// bounds; the baseline, like tritium's C, does not).
const MARGIN: usize = 1 << 16;

/// The folded program.
pub fn fold(source: &[u8], tape_cells: usize) -> Result<Program, String> {
    let program = bfc::parse::parse("prog.b", source).map_err(|e| e.to_string())?;
    let passes = opt::passes(Config { level: Level::O1, tape_cells, left_margin: 0, eval_steps: 0, cell_bits: 8 });
    let mut program = program;
    for _ in 0..3 {
        for pass in &passes {
            program = (pass.run)(program);
        }
        program = opt::closed_form_loops(program);
        program = opt::scan_loops(program);
    }
    Ok(program)
}

/// The C translation of `source`, for a tape of `tape_cells`; stdout with
/// a 64 KiB buffer, as bfc's.
pub fn translate(source: &[u8], tape_cells: usize) -> Result<String, String> {
    let program = fold(source, tape_cells)?;
    let mut c = format!(
        "#include <stdio.h>\n\
         static unsigned char mem[{MARGIN} + {tape_cells} + {MARGIN}];\n\
         static char obuf[1 << 16];\n\
         int main(void) {{\n\
         setvbuf(stdout, obuf, _IOFBF, sizeof obuf);\n\
         unsigned char *p = mem + {MARGIN};\n\
         int c;\n"
    );
    let mut depth = 1;
    for op in program.ops() {
        let indent = |depth: usize| "  ".repeat(depth);
        let line = match op {
            Op::Add { off, val } => format!("p[{off}] += {val};"),
            Op::Set { off, val } => format!("p[{off}] = {val};"),
            Op::AddMul { off, src, factor, .. } => format!("p[{off}] += p[{src}] * {factor};"),
            Op::Move(delta) => format!("p += {delta};"),
            Op::Out { off } => format!("putchar(p[{off}]);"),
            Op::In { off } => format!("c = getchar(); if (c != EOF) p[{off}] = c;"),
            Op::Loop { off } => format!("while (p[{off}]) {{"),
            Op::If { off } => format!("if (p[{off}]) {{"),
            Op::EndLoop | Op::EndIf => {
                depth -= 1;
                writeln!(c, "{}}}", indent(depth)).unwrap();
                continue;
            }
            Op::Scan { stride, value: 0 } => format!("while (*p) p += {stride};"),
            Op::Scan { stride, value } => format!("while (*p != {value}) p += {stride};"),
            other => return Err(format!("the optimising C has no translation for {other:?}")),
        };
        writeln!(c, "{}{line}", indent(depth)).unwrap();
        if op.opens() {
            depth += 1;
        }
    }
    c += "  (void)c;\n  return 0;\n}\n";
    Ok(c)
}
