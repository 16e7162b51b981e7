//! The optimiser: a list of passes, each a function `Program -> Program`,
//! run in order and repeated until the program stops changing (with a cap,
//! so a pair of passes that undo each other cannot loop forever).
//!
//! Every pass preserves what the program prints, reads and which tape error
//! it stops with; the tests hold each one to the interpreter.

use crate::ir::analysis::Hull;
use crate::ir::{Inst, Program};
use std::time::{Duration, Instant};

mod closed_form;
mod combine;
mod dead_stores;
mod divmod;
mod eval;
mod guards;
mod known;
mod linear;
mod loops;
mod offsets;
mod shortcuts;
mod switches;
mod value_scans;
mod walks;

pub use closed_form::closed_form_loops;
pub use combine::{combine, combine_wide};
pub use dead_stores::dead_stores;
pub use divmod::divmod_loops;
pub use eval::evaluate_prefix;
pub use guards::unguard_known_targets;
pub use known::known_values;
pub use linear::linear_stretches;
pub use loops::{clear_loops, counter_last, scan_loops};
pub use offsets::defer_moves;
pub use shortcuts::shortcuts;
pub use switches::switch_tables;
pub use value_scans::value_scans;
pub use walks::unguard_walks;

/// How hard to optimise (`-O0`, `-O1`, `-O2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    /// No pass: the code generator sees every command of the source.
    O0,
    /// Local rewrites: folded runs, offsets instead of moves, clear loops.
    O1,
    /// Everything.
    #[default]
    O2,
}

/// What the passes may assume about the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub level: Level,
    /// Cells of the tape the program will run on.
    pub tape_cells: usize,
    /// Of those, the cells left of where it starts (`--left-margin`).
    pub left_margin: usize,
    /// Steps of compile-time execution (`-O2` only; 0: none).
    pub eval_steps: u64,
    /// Bits of a cell (`--cell-bits`): at 16 and 32 only the passes whose
    /// values stay signed bytes run (`passes`, `skipped`).
    pub cell_bits: u32,
}

impl Config {
    /// The cells of the tape, by number from where the program starts.
    pub fn tape(&self) -> Hull {
        Hull::tape(self.tape_cells, self.left_margin)
    }
}

/// A named pass.
pub struct Pass {
    pub name: &'static str,
    pub run: Box<dyn Fn(Program) -> Program>,
}

/// `program` with blocks replaced: at each block's opener, from the
/// outermost in, `replace(block, data)` (the block from its opener to its
/// closer, and the program's data to add to) gives the instructions that
/// stand for the whole block, or None to keep it and look inside. What
/// `switch-tables` and `divmod-loops` share.
fn replace_blocks(program: Program, mut replace: impl FnMut(&[Inst], &mut Vec<u8>) -> Option<Vec<Inst>>) -> Program {
    let partner = program.block_partners();
    let Program { insts, mut data } = program;
    let mut out = Vec::with_capacity(insts.len());
    let mut i = 0;
    while i < insts.len() {
        if insts[i].op.opens() {
            let end = partner[i];
            if let Some(code) = replace(&insts[i..=end], &mut data) {
                out.extend(code);
                i = end + 1;
                continue;
            }
        }
        out.push(insts[i]);
        i += 1;
    }
    Program { insts: out, data }
}

fn pass(name: &'static str, run: impl Fn(Program) -> Program + 'static) -> Pass {
    Pass { name, run: Box::new(run) }
}

/// The passes of a level, in the order they run.
///
/// At cells wider than 8 bits only folding runs and moves (values kept
/// signed bytes: `combine_wide`), clearing loops (`[-]` clears a cell of any
/// width), deferring moves (offsets only) and, at -O2, scans for zero
/// (`[>]`: a test of zero at any width; `x64/emit/wide.rs` emits them) run:
/// the others compute with values as bytes modulo 256 (multiply loops,
/// closed forms, known values, marker walks, switch tables, compile-time
/// execution) or make forms the code generator emits for bytes only
/// (shortcuts). `skipped` names them.
pub fn passes(config: Config) -> Vec<Pass> {
    let mut list = Vec::new();
    let wide = config.cell_bits > 8;
    if config.level >= Level::O1 {
        list.push(pass("combine", if wide { combine_wide } else { combine }));
        list.push(pass("clear-loops", clear_loops));
        list.push(pass("defer-moves", defer_moves));
    }
    if wide {
        if config.level >= Level::O2 {
            list.push(pass("scan-loops", scan_loops));
        }
        return list;
    }
    if config.level >= Level::O2 {
        list.push(pass("closed-form-loops", closed_form_loops));
        list.push(pass("scan-loops", scan_loops));
        list.push(pass("value-scans", value_scans));
        let tape = config.tape();
        list.push(pass("known-values", move |p| known_values(p, tape)));
        list.push(pass("counter-last", counter_last));
        list.push(pass("unguard-walks", unguard_walks));
        list.push(pass("unguard-known-targets", unguard_known_targets));
    }
    list
}

/// The passes (and stages) of the level that do not run at the width of
/// `config`'s cells, in the order they would: what `--emit passes` says
/// was turned off.
pub fn skipped(config: Config) -> Vec<&'static str> {
    if config.cell_bits == 8 || config.level < Level::O2 {
        return Vec::new();
    }
    let mut names: Vec<&str> = passes(Config { cell_bits: 8, ..config }).iter().map(|p| p.name).collect();
    names.retain(|name| !["combine", "clear-loops", "defer-moves", "scan-loops"].contains(name));
    names.extend([
        "compile-time execution",
        "switch-tables",
        "dead-stores",
        "divmod-loops",
        "shortcuts",
        "linear-stretches",
    ]);
    names
}

/// Rounds of the whole pass list before giving up on a fixed point. Past
/// the third round programs of the corpus shrink by a few instructions in
/// ten thousand, for the price of a round each time (measured on hanoi).
const MAX_ROUNDS: usize = 3;

/// Optimises `program`: the passes to a fixed point; at `-O2` then the
/// input-free start of the program is run at compile time, the passes run
/// again on what remains (now with its known tape), the chains of ifs that
/// are left become switches, writes a later set overwrites unread go,
/// divmod loops become divisions, loops that do the same on zeroed cells
/// every time get shortcuts, and last stretches of arithmetic are written
/// from the values they leave.
pub fn optimise(program: Program, config: Config) -> Program {
    optimise_with(program, config, &mut Trace::None)
}

/// `optimise`, calling `after` with the name of each pass that changed the
/// program (and the round, for the repeated ones) and what it made
/// (`--emit passes`).
pub fn optimise_traced(program: Program, config: Config, after: &mut dyn FnMut(&str, &Program)) -> Program {
    optimise_with(program, config, &mut Trace::Changes(after))
}

/// `optimise`, calling `after` with the name of every pass run (changed or
/// not; the round too, for the repeated ones), how long it took and what it
/// made (`--time-passes`). Nothing is copied to compare, so the times are
/// those of an untraced compile.
pub fn optimise_timed(program: Program, config: Config, after: &mut dyn FnMut(&str, Duration, &Program)) -> Program {
    optimise_with(program, config, &mut Trace::Times(after))
}

/// Who watches the passes.
enum Trace<'a> {
    None,
    /// Each pass that changed the program.
    Changes(&'a mut dyn FnMut(&str, &Program)),
    /// Every pass, with its time.
    Times(&'a mut dyn FnMut(&str, Duration, &Program)),
}

fn optimise_with(program: Program, config: Config, trace: &mut Trace) -> Program {
    let passes = passes(config);
    let mut program = fixed_point_traced(program, &passes, trace);
    if config.level >= Level::O2 && config.cell_bits == 8 {
        let ran;
        let start = Instant::now();
        (program, ran) = eval::evaluate(program, config.tape_cells, config.left_margin, config.eval_steps);
        match trace {
            Trace::Changes(after) if ran => after("compile-time execution", &program),
            Trace::Times(after) => after("compile-time execution", start.elapsed(), &program),
            _ => {}
        }
        if ran {
            program = fixed_point_traced(program, &passes, trace);
        }
        program = traced(program, "switch-tables", None, &switch_tables, trace);
        program = traced(program, "dead-stores", None, &dead_stores, trace);
        program = traced(program, "divmod-loops", None, &divmod_loops, trace);
        program = traced(program, "shortcuts", None, &shortcuts, trace);
        program = traced(program, "linear-stretches", None, &linear_stretches, trace);
    }
    program
}

/// Runs a pass, and tells `trace` if it changed the program (only then is
/// the program copied, to compare) or how long it took.
fn traced(
    program: Program,
    name: &str,
    round: Option<usize>,
    run: &dyn Fn(Program) -> Program,
    trace: &mut Trace,
) -> Program {
    let title = || match round {
        Some(round) => format!("{name} (round {round})"),
        None => name.to_string(),
    };
    match trace {
        Trace::None => run(program),
        Trace::Changes(after) => {
            let before = program.clone();
            let program = run(program);
            if program != before {
                after(&title(), &program);
            }
            program
        }
        Trace::Times(after) => {
            let start = Instant::now();
            let program = run(program);
            after(&title(), start.elapsed(), &program);
            program
        }
    }
}

/// The passes to a fixed point, untraced (for the passes' tests).
#[cfg(test)]
fn to_fixed_point(program: Program, passes: &[Pass]) -> Program {
    fixed_point_traced(program, passes, &mut Trace::None)
}

fn fixed_point_traced(mut program: Program, passes: &[Pass], trace: &mut Trace) -> Program {
    // A fingerprint instead of a copy: a big program is not held twice.
    // A collision would only end the rounds early, never change code. The
    // first round always runs, so the program as it came (the parser's, up
    // to one instruction a source byte) is not hashed.
    let mut before = None;
    for round in 1..=MAX_ROUNDS {
        for pass in passes {
            program = traced(program, pass.name, Some(round), &pass.run, trace);
        }
        let after = fingerprint(&program);
        if before == Some(after) {
            break;
        }
        before = Some(after);
    }
    program
}

fn fingerprint(program: &Program) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = FastHasher::default();
    program.insts.len().hash(&mut hasher);
    for inst in &program.insts {
        inst.op.hash(&mut hasher);
    }
    program.data.hash(&mut hasher);
    hasher.finish()
}

/// A multiply-rotate hash (as in rustc's FxHash): the passes hash small
/// integers by the million, where SipHash's resistance to crafted keys buys
/// nothing and costs a third of the compile time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(n as u32 as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// Helpers for the passes' tests: the interpreter as the judge.
#[cfg(test)]
pub(crate) mod testing {
    use crate::interp::{self, Config, Outcome};
    use crate::ir::{EofMode, Op, Program};
    use crate::parse::parse;

    pub fn program(src: &str) -> Program {
        parse("t.b", src.as_bytes()).unwrap()
    }

    /// -O2 on the 64-cell tape of `behaviour`.
    pub fn o2() -> super::Config {
        super::Config { level: super::Level::O2, tape_cells: 64, left_margin: 0, eval_steps: 0, cell_bits: 8 }
    }

    pub fn ops(p: &Program) -> Vec<Op> {
        p.ops().collect()
    }

    /// What a program prints and how it ends, on a small tape.
    pub fn behaviour(p: &Program, input: &[u8]) -> (Vec<u8>, Outcome) {
        let mut out = Vec::new();
        let cfg = Config { tape_cells: 64, left_margin: 0, eof: EofMode::Zero, max_steps: Some(100_000), cell_bits: 8 };
        let outcome = interp::run(p, &cfg, &mut &input[..], &mut out);
        (out, outcome)
    }

    /// `behaviour`, and where a tape error happened: the cell, and the
    /// command that touched it.
    pub fn behaviour_located(p: &Program, input: &[u8]) -> (Vec<u8>, Outcome, Option<crate::code::TapeFault>) {
        let mut out = Vec::new();
        let cfg = Config { tape_cells: 64, left_margin: 0, eof: EofMode::Zero, max_steps: Some(100_000), cell_bits: 8 };
        let (outcome, fault) =
            interp::run_located(p, &cfg, &mut &input[..], &mut out, &mut Vec::new(), crate::host::Buffering::Full);
        (out, outcome, fault)
    }

    /// A generator of pseudo-random numbers below its argument, the same
    /// every run for a seed (splitmix64): the random programs of the tests.
    pub fn random(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % n
        }
    }

    /// A program of `ops`, each at source offset 0.
    pub fn ir(ops: &[Op]) -> Program {
        Program { insts: ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect(), data: vec![] }
    }

    pub fn add(off: i32, val: u8) -> Op {
        Op::Add { off, val }
    }

    pub fn set(off: i32, val: u8) -> Op {
        Op::Set { off, val }
    }

    /// `[off] += [src] * factor`, always.
    pub fn mul(off: i32, src: i32, factor: u8) -> Op {
        Op::AddMul { off, src, factor, if_nonzero: false }
    }

    /// A random piece of straight-line code for the passes' random tests,
    /// at the pointer: a clear, adds, a move or a multiply into the cell
    /// `other` away (a clear where that is 0), a clear and a set; with `io`
    /// also a `.`, a `,` or a digit chain whose flag is `other` away.
    pub fn random_piece(next: &mut impl FnMut(u64) -> u64, other: i64, io: bool) -> String {
        let into = |factor: &str| match other {
            0 => "[-]".to_string(),
            _ => format!("[-{}{factor}{}]", moves(other), moves(-other)),
        };
        match next(if io { 9 } else { 6 }) {
            0 => "[-]".to_string(),
            1 => "+".repeat(1 + next(4) as usize),
            2 => "-".repeat(1 + next(4) as usize),
            3 => into("+"),
            4 => into(if io { "+++" } else { "++" }),
            5 if io => ".".to_string(),
            6 if io => ",".to_string(),
            7 if io => format!("[-[-[-]{}+{}]]", moves(other), moves(-other)),
            _ => "[-]++".to_string(),
        }
    }

    /// `pieces` random pieces (`random_piece`), each at a random cell of
    /// `lo..lo + span` into another: the code, and where it leaves the
    /// pointer (from 0).
    pub fn random_stretch(
        next: &mut impl FnMut(u64) -> u64,
        pieces: u64,
        lo: i64,
        span: u64,
        io: bool,
    ) -> (String, i64) {
        let (mut src, mut pos) = (String::new(), 0);
        for _ in 0..pieces {
            let to = next(span) as i64 + lo;
            src += &moves(to - pos);
            pos = to;
            let other = next(span) as i64 + lo - to;
            src += &random_piece(next, other, io);
        }
        (src, pos)
    }

    /// The commands that move the pointer by `d`.
    pub fn moves(d: i64) -> String {
        if d < 0 {
            "<".repeat(-d as usize)
        } else {
            ">".repeat(d as usize)
        }
    }

    /// Asserts that `pass` leaves the behaviour of `src` unchanged.
    pub fn assert_preserves(pass: impl Fn(Program) -> Program, src: &str, input: &[u8]) {
        let p = program(src);
        let before = behaviour(&p, input);
        assert_ne!(before.1, Outcome::OutOfSteps, "test program must end: {src}");
        let after = behaviour(&pass(p), input);
        assert_eq!(before, after, "pass changed the behaviour of {src}");
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::ir::Op;

    fn config(level: Level) -> Config {
        Config { level, tape_cells: 64, left_margin: 0, eval_steps: 1000, cell_bits: 8 }
    }

    #[test]
    fn o0_changes_nothing() {
        let p = program("+++>>[-]");
        assert_eq!(optimise(p.clone(), config(Level::O0)), p);
    }

    #[test]
    fn o1_folds_to_a_fixed_point() {
        let p = optimise(program("+++>>-<<[-]>>."), config(Level::O1));
        assert_eq!(ops(&p), vec![Op::Set { off: 0, val: 0 }, Op::Add { off: 2, val: 255 }, Op::Out { off: 2 }]);
    }

    #[test]
    fn wide_cells_run_only_the_passes_that_keep_values_signed_bytes() {
        let wide = Config { cell_bits: 16, ..config(Level::O2) };
        let names: Vec<_> = passes(wide).iter().map(|p| p.name).collect();
        assert_eq!(names, ["combine", "clear-loops", "defer-moves", "scan-loops"]);
        let off = skipped(wide);
        assert!(off.contains(&"closed-form-loops") && off.contains(&"compile-time execution"), "{off:?}");
        assert!(skipped(config(Level::O2)).is_empty());
        // 300 `+` then `.`: 300 mod 65536 is 300, whose low byte is 44.
        let p = optimise(program(&format!("{}.", "+".repeat(300))), wide);
        let mut out = Vec::new();
        let cfg = crate::interp::Config {
            tape_cells: 4,
            left_margin: 0,
            eof: crate::ir::EofMode::Zero,
            max_steps: None,
            cell_bits: 16,
        };
        crate::interp::run(&p, &cfg, &mut &b""[..], &mut out);
        assert_eq!(out, [44]);
        assert!(ops(&p).iter().all(|op| matches!(op, Op::Add { .. } | Op::Out { .. })));
    }

    #[test]
    fn optimised_programs_behave_the_same() {
        let programs = ["++++++++[>++++++++<-]>+.+.<<", "+[->+<]>.>,.[-]<<+++[>+++[>+<-]<-]>>.", ">>>+<<<-[+]+.>[>]<."];
        for src in programs {
            for level in [Level::O1, Level::O2] {
                let p = program(src);
                assert_eq!(behaviour(&p, b"xy"), behaviour(&optimise(p.clone(), config(level)), b"xy"), "{src}");
            }
        }
    }
}
