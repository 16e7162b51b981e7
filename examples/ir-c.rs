//! Writes bfc's optimised IR of a program as C, for gcc: the same
//! instructions bfc's code generator gets, so gcc's code and bfc's can be
//! compared loop by loop (the C's line N is the IR's line N of `bfc
//! --emit ir`, below the prologue).
//!
//! ```sh
//! cargo run --release --example ir-c -- PROG.b > prog.c && gcc -O2 prog.c
//! cargo run --release --example ir-c -- -O1 PROG.b > prog1.c   # the IR of -O1
//! ```
//!
//! A shortcut runs its body (the code it stands for), and a tape has
//! 64 Ki cells beyond each end of the program's, unchecked: a diagnostic,
//! not a compiler.

use std::fmt::Write;

use bfc::ir::{Op, Program};
use bfc::opt::{optimise, Config, Level};

fn cell(off: i32) -> String {
    format!("p[{off}]")
}

fn translate(program: &Program) -> String {
    let mut c = String::new();
    c.push_str("#include <stdio.h>\n#include <string.h>\n");
    c.push_str("static unsigned char mem[65536 + 65536 + 65536];\nstatic char obuf[1 << 16];\n");
    c.push_str("int main(void) { setvbuf(stdout, obuf, _IOFBF, sizeof obuf);\n");
    c.push_str("unsigned char *p = mem + 65536; int c; (void)c;\n");
    for inst in &program.insts {
        let line = match inst.op {
            Op::Add { off, val } => format!("{} += {val};", cell(off)),
            Op::Set { off, val } => format!("{} = {val};", cell(off)),
            Op::AddMul { off, src, factor, .. } => format!("{} += {} * {factor};", cell(off), cell(src)),
            Op::Move(d) => format!("p += {d};"),
            Op::Out { off } => format!("putchar({});", cell(off)),
            Op::In { off } => format!("c = getchar(); if (c != EOF) {} = c;", cell(off)),
            Op::Loop { off } => format!("while ({}) {{", cell(off)),
            Op::If { off } => format!("if ({}) {{", cell(off)),
            Op::EndLoop | Op::EndIf => "}".to_string(),
            Op::Scan { stride, value } => format!("while (p[0] != {value}) p += {stride};"),
            Op::Print { start, len } => {
                let bytes = &program.data[start as usize..(start + len) as usize];
                let text: String = bytes.iter().map(|b| format!("\\x{b:02x}")).collect();
                format!("fwrite(\"{text}\", 1, {len}, stdout);")
            }
            Op::Switch { src, start, cells } => {
                let mut s = format!("{{ unsigned v = {};", cell(src));
                for sc in program.switch_cells(start, cells) {
                    let list = |t: &[u8; 256]| t.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
                    let _ = write!(
                        s,
                        " {{ static const unsigned char t[256] = {{{}}}, k[256] = {{{}}}, a[256] = {{{}}}; \
                         if (t[v]) {} = ({} & k[v]) + a[v]; }}",
                        list(sc.touch),
                        list(sc.keep),
                        list(sc.add),
                        cell(sc.off),
                        cell(sc.off)
                    );
                }
                s + " }"
            }
            // The body runs: the code the shortcut stands for.
            Op::Shortcut { .. } => "{".to_string(),
            Op::EndShortcut => "}".to_string(),
            Op::Dump => String::new(),
        };
        c.push_str(&line);
        c.push('\n');
    }
    c.push_str("return 0; }\n");
    c
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let level = match args.first().map(String::as_str) {
        Some("-O1") => Level::O1,
        _ => Level::O2,
    };
    if level == Level::O1 {
        args.remove(0);
    }
    let Some(path) = args.first().cloned() else {
        eprintln!("usage: ir-c [-O1] PROG.b");
        std::process::exit(2);
    };
    let source = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let program = bfc::parse::parse(&path, &source).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let config = Config { level, tape_cells: 65536, left_margin: 0, eval_steps: 0, cell_bits: 8 };
    print!("{}", translate(&optimise(program, config)));
}
