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
//!
//! What the command line does, each a function here: [`run_jit`] (or
//! [`run_jit_mapped`], which first writes perf's map), [`run_interp`],
//! [`build_object`], [`build_executable`] and [`emit`], after
//! [`front_end`] (or [`front_end_warned`], which also returns the warnings
//! of [`lint`]). Runs use the process's stdin and stdout under the policy
//! of [`host`], which also says what their [`RunEnd`] means (message, exit
//! code). [`Options`] become each stage's configuration in one place, its
//! `impl` below.

pub mod code;
pub mod diagnostic;
pub mod disasm;
pub mod error;
pub mod host;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod link;
pub mod lint;
pub mod object;
pub mod opt;
pub mod parse;
pub mod perfmap;
pub mod x64;

pub use error::{Error, Result};
pub use host::RunEnd;

use std::io::BufReader;
use std::path::Path;

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

/// Each stage's configuration, from the options: the only place they are
/// mapped.
impl Options {
    fn opt_config(&self) -> opt::Config {
        opt::Config { level: self.level, tape_cells: self.tape_cells, eval_steps: self.eval_steps }
    }

    fn target(&self) -> x64::Target {
        x64::Target::new(self.eof, self.tape_cells)
    }

    fn interp_config(&self) -> interp::Config {
        interp::Config { tape_cells: self.tape_cells, eof: self.eof, max_steps: None }
    }

    fn exe_options(&self, symbol: &str) -> link::ExeOptions {
        link::ExeOptions { symbol: symbol.to_string(), tape_cells: self.tape_cells }
    }
}

/// Parses and optimises a program; `file` names it in errors.
pub fn front_end(file: &str, source: &[u8], options: &Options) -> Result<ir::Program> {
    front_end_warned(file, source, options, false).map(|(program, _)| program)
}

/// `front_end`, and the program's warnings (`lint`, on the parsed program
/// so that they point at its commands) if `warn`.
pub fn front_end_warned(
    file: &str,
    source: &[u8],
    options: &Options,
    warn: bool,
) -> Result<(ir::Program, Vec<diagnostic::Diagnostic>)> {
    let program = parse::parse(file, source)?;
    let warnings = if warn { lint::check(file, source, &program, options.tape_cells) } else { Vec::new() };
    Ok((opt::optimise(program, options.opt_config()), warnings))
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
    opt::optimise_traced(program, options.opt_config(), &mut |pass, program| show(&format!("after {pass}"), program));
    Ok(text)
}

/// Generates machine code for an optimised program.
pub fn back_end(program: &ir::Program, options: &Options) -> code::CompiledCode {
    x64::compile(program, options.target())
}

/// `--emit asm`: the code of an optimised program, disassembled, with the
/// IR instruction (and its source position) above the code made for it.
pub fn listing(program: &ir::Program, source: &[u8], options: &Options) -> String {
    let (code, starts) = x64::compile_marked(program, options.target());
    let ir = program.display(source);
    let notes: Vec<(usize, String)> = starts.into_iter().zip(ir.lines().map(str::to_string)).collect();
    disasm::disassemble(&code, program.data.len(), &notes)
}

/// An intermediate form `--emit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// The optimised IR.
    Ir,
    /// The IR as parsed and after each pass that changed it.
    Passes,
    /// The generated code, disassembled.
    Asm,
}

/// The text of `what` for a program; `file` names it in errors.
pub fn emit(what: Emit, file: &str, source: &[u8], options: &Options) -> Result<String> {
    if what == Emit::Passes {
        return pass_trace(file, source, options);
    }
    let program = front_end(file, source, options)?;
    Ok(match what {
        Emit::Ir => program.display(source),
        Emit::Asm => listing(&program, source, options),
        Emit::Passes => unreachable!("traced above"),
    })
}

/// Compiles an optimised program in memory and runs it on the process's
/// stdin and stdout.
pub fn run_jit(program: &ir::Program, options: &Options) -> Result<RunEnd> {
    run_jit_mapped(program, options, None)
}

/// `run_jit`; with `perf_map` (the program's file name and source), first
/// writes perf's map of the code in memory (`perfmap`).
pub fn run_jit_mapped(program: &ir::Program, options: &Options, perf_map: Option<(&str, &[u8])>) -> Result<RunEnd> {
    let (code, marks) = x64::compile_marked(program, options.target());
    let loaded = jit::LoadedCode::load(&code).map_err(|source| Error::Jit { what: "map executable memory", source })?;
    if let Some((file, source)) = perf_map {
        let symbols = perfmap::symbols(program, &marks, code.bytes.len() - program.data.len(), file, source);
        let base = loaded.bytes().as_ptr() as usize;
        perfmap::write(&symbols, base).map_err(|source| Error::WriteOutput { path: perfmap::path(), source })?;
    }
    loaded.run_with(options.tape_cells, host::Fds::std()).map_err(|e| match e {
        jit::RunError::Setup(source) => Error::Jit { what: "run the program", source },
        jit::RunError::CallbackPanicked => Error::Internal("a runtime callback panicked".into()),
    })
}

/// Runs a program with the reference interpreter on the process's stdin
/// and stdout.
pub fn run_interp(program: &ir::Program, options: &Options) -> RunEnd {
    let mut input = BufReader::with_capacity(host::IO_BUF_SIZE, host::Stream::stdin());
    let mut output = host::Stream::stdout();
    let status = match interp::run(program, &options.interp_config(), &mut input, &mut output) {
        interp::Outcome::Finished(status) => status,
        interp::Outcome::OutOfSteps => unreachable!("no step limit"),
    };
    let io_error = match status {
        code::Status::ReadError => input.get_mut().error.take(),
        code::Status::WriteError => output.error.take(),
        _ => None,
    };
    RunEnd { status, io_error }
}

/// Writes the ELF object of an optimised program to `output`, its entry
/// named `symbol`.
pub fn build_object(program: &ir::Program, options: &Options, symbol: &str, output: &Path) -> Result<()> {
    let code = back_end(program, options);
    link::write_atomically(output, &object::write_object(&code, symbol))
}

/// Builds the executable of an optimised program at `output` (its object,
/// the entry named `symbol`, linked with the C runtime).
pub fn build_executable(program: &ir::Program, options: &Options, symbol: &str, output: &Path) -> Result<()> {
    let code = back_end(program, options);
    link::link_executable(&object::write_object(&code, symbol), &options.exe_options(symbol), output)
}
