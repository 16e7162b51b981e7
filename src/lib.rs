//! bfc as a library: the compile pipeline, stage by stage.
//!
//! ```text
//! source --parse--> ir::Program --opt--> ir::Program --x64--> code::CompiledCode
//!        --> jit (run in memory) | object (ELF .o) --link--> executable
//! ```
//!
//! Data flows one way down this list; a stage never reaches back. The
//! interpreter runs the same IR and is the oracle the tests hold the
//! compiled code to.

pub mod code;
pub mod diagnostic;
pub mod disasm;
pub mod error;
pub mod host;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod link;
pub mod object;
pub mod opt;
pub mod parse;
pub mod x64;

pub use error::{Error, Result};

/// Default number of cells of the tape.
pub const DEFAULT_TAPE_CELLS: usize = 65536;

/// Largest accepted tape: the tape is mapped lazily, so only the cells a
/// program touches cost memory, but the address space is finite.
pub const MAX_TAPE_CELLS: usize = 1 << 40;

/// Default compile-time execution budgets: a build's is paid once; the
/// JIT's would count against the run, which runs the same start of the
/// program ten times faster than the interpreter can at compile time (and
/// then skips the second round of passes it needs): measured, off is
/// never slower (hanoi 0.85x, long 0.94x of the time with 200000 steps).
pub const DEFAULT_EVAL_STEPS_JIT: u64 = 0;
pub const DEFAULT_EVAL_STEPS_BUILD: u64 = 50_000_000;

/// What the program is compiled for.
#[derive(Debug, Clone)]
pub struct Options {
    pub level: opt::Level,
    pub tape_cells: usize,
    pub eof: ir::EofMode,
    /// Steps of compile-time execution at `-O2` (see `opt::evaluate_prefix`).
    pub eval_steps: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: opt::Level::O2,
            tape_cells: DEFAULT_TAPE_CELLS,
            eof: ir::EofMode::Unchanged,
            eval_steps: DEFAULT_EVAL_STEPS_JIT,
        }
    }
}

/// Parses and optimises a program; `file` names it in errors.
pub fn front_end(file: &str, source: &[u8], options: &Options) -> Result<ir::Program> {
    let program = parse::parse(file, source)?;
    Ok(opt::optimise(program, opt_config(options)))
}

/// `--emit passes`: the IR as parsed, then again after each pass that
/// changed it, under the pass's name.
pub fn pass_trace(file: &str, source: &[u8], options: &Options) -> Result<String> {
    let program = parse::parse(file, source)?;
    let mut text = String::new();
    let mut show = |title: &str, program: &ir::Program| {
        let count = program.insts.len();
        text += &format!(";; {title}: {count} instruction{}\n", if count == 1 { "" } else { "s" });
        text += &program.display(source);
    };
    show("parsed", &program);
    opt::optimise_traced(program, opt_config(options), &mut |pass, program| show(&format!("after {pass}"), program));
    Ok(text)
}

fn opt_config(options: &Options) -> opt::Config {
    opt::Config { level: options.level, tape_cells: options.tape_cells, eval_steps: options.eval_steps }
}

/// Generates machine code for an optimised program.
pub fn back_end(program: &ir::Program, options: &Options) -> code::CompiledCode {
    x64::compile(program, target(options))
}

/// `--emit asm`: the code of an optimised program, disassembled, with the
/// IR instruction (and its source position) above the code made for it.
pub fn listing(program: &ir::Program, source: &[u8], options: &Options) -> String {
    let (code, starts) = x64::compile_marked(program, target(options));
    let ir = program.display(source);
    let notes: Vec<(usize, String)> = starts.into_iter().zip(ir.lines().map(str::to_string)).collect();
    disasm::disassemble(&code, program.data.len(), &notes)
}

fn target(options: &Options) -> x64::Target {
    x64::Target::new(options.eof, options.tape_cells)
}
