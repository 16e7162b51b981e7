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
//! [`run_jit_mapped`], which first writes perf's map or jitdump), [`run_interp`] after
//! [`front_end`] (whose observed form also tells the warnings of [`lint`]),
//! and [`build`] for every output it writes ([`build_object`] and
//! [`build_executable`] for one each); `--bang`'s input is fed by
//! [`run_jit_fed`] and [`run_interp_fed`] (and written into objects by
//! `build`), and `--verify` is [`verify::verify`]. The command line itself
//! is defined in [`cli`]. Runs use the process's stdin and stdout under the policy
//! of [`host`], which also says what their [`RunEnd`] means (message, exit
//! code). [`Options`] become each stage's configuration in one place, its
//! `impl` below.

pub mod bang;
pub mod cli;
pub mod code;
pub mod diagnostic;
pub mod disasm;
pub mod dwarf;
pub mod error;
pub mod host;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod jitdump;
pub mod linetable;
pub mod link;
pub mod lint;
pub mod object;
pub mod opt;
pub mod parse;
pub mod perfmap;
pub mod verify;
pub mod x64;

pub use error::{Error, Result};
pub use host::RunEnd;

use std::io::{BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use code::SourceMap;

/// Default number of cells of the tape.
pub const DEFAULT_TAPE_CELLS: usize = 65536;

/// Largest accepted tape: the tape is mapped lazily, so only the cells a
/// program touches cost memory, but the address space is finite.
pub const MAX_TAPE_CELLS: usize = 1 << 40;

/// Default compile-time execution budgets: a build's is paid once; the
/// JIT's would count against the run, which runs the same start of the
/// program many times faster than the interpreter can at compile time (and
/// then skips the second round of passes it needs). Measured on the
/// corpus's benchmarks and the wider set (docs/performance.md, "JIT
/// start"): no budget from 10^4 to 5·10^7 steps made any program faster,
/// and even 10^4 made some slower (awib 1.16x, hanoi 1.10x: the passes run
/// again once anything ran). `--interp` stays at 0 too: the same
/// interpreter runs the start either way, so compile-time execution could
/// only add (the second round of passes; a loop that does not finish
/// within the budget run twice).
pub const DEFAULT_EVAL_STEPS_JIT: u64 = 0;
pub const DEFAULT_EVAL_STEPS_BUILD: u64 = 50_000_000;

/// What the program is compiled for.
#[derive(Debug, Clone)]
pub struct Options {
    pub level: opt::Level,
    /// Cells of the tape (`--tape-size`), the margin's included.
    pub tape_cells: usize,
    /// The first cells of the tape, left of where the program starts
    /// (`--left-margin`): fewer than `tape_cells`.
    pub left_margin: usize,
    pub eof: ir::EofMode,
    /// Bits of a cell: 8, 16 or 32 (`--cell-bits`).
    pub cell_bits: u32,
    /// `#` dumps the tape to stderr (`--hash-dump`); otherwise a comment.
    pub hash_dump: bool,
    /// Steps of compile-time execution at `-O2` (see `opt::evaluate_prefix`).
    pub eval_steps: u64,
    /// Objects and executables carry debug info (`-g`, `dwarf`).
    pub debug_info: bool,
    /// `run_jit` and `run_interp` write output as it is made even to a pipe
    /// or a file (to a terminal they always do: `host::Buffering`).
    pub unbuffered: bool,
    /// `--bang`: the source ends at its first `!`, and the bytes after it
    /// are the program's first input (`bang`). `build` splits the source
    /// itself; a run's caller splits it (a stream is read only up to the
    /// `!`) and passes the input to `run_jit_fed` / `run_interp_fed`.
    pub bang: bool,
    /// Look for the program's warnings (`lint`); `-w` turns this off, which
    /// also saves the lint's time.
    pub warnings: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: opt::Level::O2,
            tape_cells: DEFAULT_TAPE_CELLS,
            left_margin: 0,
            eof: ir::EofMode::Unchanged,
            cell_bits: 8,
            hash_dump: false,
            eval_steps: DEFAULT_EVAL_STEPS_JIT,
            debug_info: false,
            unbuffered: false,
            bang: false,
            warnings: true,
        }
    }
}

/// Each stage's configuration, from the options: the only place they are
/// mapped.
impl Options {
    fn opt_config(&self) -> opt::Config {
        opt::Config {
            level: self.level,
            tape_cells: self.tape_cells,
            left_margin: self.left_margin,
            eval_steps: self.eval_steps,
            cell_bits: self.cell_bits,
        }
    }

    fn syntax(&self) -> parse::Syntax {
        parse::Syntax { hash_dump: self.hash_dump }
    }

    /// The program the passes start from: at `-O1` and `-O2` with its runs
    /// folded, which their first pass would do anyway (`parse::parse_folded`).
    fn parse(&self, file: &str, source: &[u8]) -> Result<ir::Program> {
        match self.level {
            opt::Level::O0 => parse::parse_syntax(file, source, self.syntax()),
            _ => parse::parse_folded(file, source, self.syntax()),
        }
    }

    fn target(&self) -> x64::Target {
        x64::Target::new(self.eof, self.tape_cells).with_cell_bits(self.cell_bits)
    }

    fn interp_config(&self) -> interp::Config {
        interp::Config {
            tape_cells: self.tape_cells,
            left_margin: self.left_margin,
            eof: self.eof,
            max_steps: None,
            cell_bits: self.cell_bits,
        }
    }

    fn contract(&self) -> code::Contract {
        code::Contract::new(self.tape_cells, self.left_margin).with_cell_bits(self.cell_bits)
    }

    fn exe_options(&self, symbol: &str) -> link::ExeOptions {
        link::ExeOptions { symbol: symbol.to_string(), tape_cells: self.tape_cells }
    }
}

/// Parses and optimises a program; `file` names it in errors.
pub fn front_end(file: &str, source: &[u8], options: &Options) -> Result<ir::Program> {
    let program = options.parse(file, source)?;
    Ok(opt::optimise(program, options.opt_config()))
}

/// `front_end`, and the program's warnings (`lint`).
pub fn front_end_warned(
    file: &str,
    source: &[u8],
    options: &Options,
) -> Result<(ir::Program, Vec<diagnostic::Diagnostic>)> {
    let mut warnings = Vec::new();
    let program = front_end_observed(file, source, options, &mut |event| {
        if let Event::Warning(warning) = event {
            warnings.push(warning.clone());
        }
    })?;
    Ok((program, warnings))
}

/// `--emit passes`: the passes turned off at the cell width, if any, then
/// the IR as parsed, then again after each pass that changed it, under the
/// pass's name.
pub fn pass_trace(file: &str, source: &[u8], options: &Options) -> Result<String> {
    let program = parse::parse_syntax(file, source, options.syntax())?;
    let mut text = String::new();
    // The passes that do not run at this cell width, first: what the rest
    // shows is what did.
    let skipped = opt::skipped(options.opt_config());
    if !skipped.is_empty() {
        text += &format!(";; skipped at {}-bit cells: {}\n", options.cell_bits, skipped.join(", "));
    }
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
    disasm::disassemble(&code, &notes(program, source, starts))
}

/// Each IR instruction's text beside the offset of its code.
fn notes(program: &ir::Program, source: &[u8], starts: Vec<usize>) -> Vec<(usize, String)> {
    let ir = program.display(source);
    starts.into_iter().zip(ir.lines().map(str::to_string)).collect()
}

/// An output the command line can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// The optimised IR (`--emit ir`).
    Ir,
    /// The IR as parsed and after each pass that changed it.
    Passes,
    /// The generated code, disassembled (`--emit asm`).
    Asm,
    /// GNU assembler source for the object's code (`-S`).
    Gas,
    /// The ELF object (`-c`, `--emit obj`).
    Object,
    /// The executable (`--emit exe`, the default).
    Executable,
}

impl Emit {
    /// The extension of the file it goes to when named after its source
    /// (`None`: no extension).
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Emit::Ir => Some("ir"),
            Emit::Passes => Some("passes"),
            Emit::Asm => Some("lst"),
            Emit::Gas => Some("s"),
            Emit::Object => Some("o"),
            Emit::Executable => None,
        }
    }

    /// Does it go to stdout unless told otherwise (when it is the only one)?
    pub fn prints(self) -> bool {
        matches!(self, Emit::Ir | Emit::Passes | Emit::Asm)
    }
}

/// Where an output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// The process's stdout (`-o -`); a reader that goes away is no error.
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

/// What a compile tells whoever watches it (`-v`, `--time-passes`).
#[derive(Debug)]
pub enum Event<'a> {
    /// A stage ran for `time`; `insts`: the IR's size after it.
    Stage { name: &'a str, time: Duration, insts: Option<usize> },
    /// A command about to run, as a shell would take it.
    Command(&'a str),
    /// A warning about the program (`lint`), found on the parsed program.
    Warning(&'a diagnostic::Diagnostic),
}

/// [`front_end`], telling `observe` the time of parsing and of each pass,
/// and the program's warnings (`lint`, on the parsed program so that they
/// point at its commands).
pub fn front_end_observed(
    file: &str,
    source: &[u8],
    options: &Options,
    observe: &mut dyn FnMut(Event),
) -> Result<ir::Program> {
    let start = Instant::now();
    let program = options.parse(file, source)?;
    observe(Event::Stage { name: "parse", time: start.elapsed(), insts: Some(program.insts.len()) });
    if options.warnings {
        let start = Instant::now();
        let tape = opt::Config::tape(&options.opt_config());
        let warnings = lint::check_cells(file, source, &program, tape, options.cell_bits);
        observe(Event::Stage { name: "lint", time: start.elapsed(), insts: None });
        for warning in &warnings {
            observe(Event::Warning(warning));
        }
    }
    Ok(opt::optimise_timed(program, options.opt_config(), &mut |name, time, program| {
        observe(Event::Stage { name, time, insts: Some(program.insts.len()) })
    }))
}

/// Compiles `source` (named `file` in errors) once and writes each of
/// `outputs`, in order; an executable's or object's entry is `symbol`.
pub fn build(
    file: &str,
    source: &[u8],
    options: &Options,
    symbol: &str,
    outputs: &[(Emit, Dest)],
    observe: &mut dyn FnMut(Event),
) -> Result<()> {
    let (source, input) = match options.bang {
        true => {
            let split = bang::split(source);
            (split.program, split.input.filter(|input| !input.is_empty()))
        }
        false => (source, None),
    };
    let needs_program = outputs.iter().any(|(what, _)| *what != Emit::Passes);
    let program = if needs_program { Some(front_end_observed(file, source, options, observe)?) } else { None };
    let mut compiled = None;
    let mut object_bytes = None;
    for (what, dest) in outputs {
        if *what == Emit::Passes {
            write_output(dest, pass_trace(file, source, options)?.as_bytes())?;
            continue;
        }
        let program = program.as_ref().expect("compiled above");
        if *what == Emit::Ir {
            write_output(dest, program.display(source).as_bytes())?;
            continue;
        }
        let (code, starts) = compiled.get_or_insert_with(|| {
            x64::compile_timed(program, options.target(), &mut |name, time| {
                observe(Event::Stage { name, time, insts: None })
            })
        });
        match what {
            Emit::Asm => {
                let text = disasm::disassemble(code, &notes(program, source, starts.clone()));
                write_output(dest, text.as_bytes())?;
            }
            Emit::Gas => {
                let notes = notes(program, source, starts.clone());
                write_output(dest, disasm::gas_source(code, symbol, &notes).as_bytes())?;
            }
            Emit::Object | Emit::Executable => {
                let object = object_bytes.get_or_insert_with(|| {
                    let start = Instant::now();
                    let table = linetable::LineTable::new(&code.positions, source);
                    let debug = match options.debug_info {
                        true => debug_sections(file, &table, program, code, symbol),
                        false => Vec::new(),
                    };
                    let (contract, map) = (options.contract(), SourceMap::new(&table, file));
                    let beside = object::Beside { contract: &contract, source_map: &map, debug: &debug, input };
                    let bytes = object::write_object_with(code, symbol, beside);
                    observe(Event::Stage { name: "object", time: start.elapsed(), insts: None });
                    bytes
                });
                match (what, dest) {
                    (Emit::Object, _) => write_output(dest, object)?,
                    (_, Dest::File(path)) => {
                        let start = Instant::now();
                        let exe = options.exe_options(symbol);
                        link::link_executable_announced(object, &exe, path, &mut |command| {
                            observe(Event::Command(command))
                        })?;
                        observe(Event::Stage { name: "link", time: start.elapsed(), insts: None });
                    }
                    (_, Dest::Stdout) => return Err(Error::Usage("an executable cannot be written to stdout".into())),
                }
            }
            Emit::Ir | Emit::Passes => unreachable!("written above"),
        }
    }
    Ok(())
}

/// The debug sections (`-g`) of `program`'s `code`, whose rows `table`
/// gives, compiled from a source named `file`, in the current directory.
fn debug_sections(
    file: &str,
    table: &linetable::LineTable,
    program: &ir::Program,
    code: &code::CompiledCode,
    symbol: &str,
) -> Vec<dwarf::Section> {
    let comp_dir = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| ".".into());
    let len = code.bytes.len();
    let layout = dwarf::Layout { entry: code.entry, code_end: len - program.data.len(), len };
    dwarf::sections(table, layout, &dwarf::Unit { file, comp_dir: &comp_dir, symbol })
}

/// Writes an output to where it goes.
fn write_output(dest: &Dest, bytes: &[u8]) -> Result<()> {
    match dest {
        Dest::File(path) => link::write_atomically(path, bytes),
        Dest::Stdout => match host::Stream::stdout().write_all(bytes) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::WriteOutput { path: "<stdout>".into(), source: e })
            }
            _ => Ok(()),
        },
    }
}

/// Compiles an optimised program in memory and runs it on the process's
/// stdin and stdout.
pub fn run_jit(program: &ir::Program, options: &Options) -> Result<RunEnd> {
    run_jit_mapped(program, options, None)
}

/// What a JIT run tells profilers of its code (`--perf-map`,
/// `--jitdump`), naming it after `file`, with the lines of `source`.
#[derive(Debug, Clone, Copy)]
pub struct Profiling<'a> {
    pub file: &'a str,
    pub source: &'a [u8],
    /// perf's map of the code (`perfmap`).
    pub perf_map: bool,
    /// perf's jitdump of the code, with its lines (`jitdump`).
    pub jitdump: bool,
}

/// `run_jit`, first writing what `profiling` asks for.
pub fn run_jit_mapped(program: &ir::Program, options: &Options, profiling: Option<Profiling>) -> Result<RunEnd> {
    run_jit_fed(program, options, profiling, &[])
}

/// `run_jit_mapped`, the program reading `input` before stdin (`--bang`).
pub fn run_jit_fed(
    program: &ir::Program,
    options: &Options,
    profiling: Option<Profiling>,
    input: &[u8],
) -> Result<RunEnd> {
    let (code, marks) = x64::compile_marked(program, options.target());
    let loaded = jit::LoadedCode::load(&code).map_err(|source| Error::Jit { what: "map executable memory", source })?;
    // Kept mapped for perf until the run ends.
    let mut _jitdump = None;
    if let Some(Profiling { file, source, perf_map, jitdump }) = profiling {
        let code_len = code.bytes.len() - program.data.len();
        let symbols = perfmap::symbols(program, &marks, code_len, file, source);
        let base = loaded.bytes().as_ptr() as usize;
        if perf_map {
            perfmap::write(&symbols, base).map_err(|source| Error::WriteOutput { path: perfmap::path(), source })?;
        }
        if jitdump {
            let lines = linetable::LineTable::new(&code.positions, source);
            let bytes = &loaded.bytes()[..code_len];
            let dump = jitdump::Code { symbols: &symbols, lines: &lines, bytes, base: base as u64, file };
            let written =
                jitdump::write(&dump).map_err(|source| Error::WriteOutput { path: jitdump::path(), source })?;
            _jitdump = Some(written);
        }
    }
    let fds = host::Fds::std();
    let buffering = host::Buffering::choose(options.unbuffered, fds.output);
    loaded.run_fed(options.tape_cells, options.left_margin, fds, buffering, input).map_err(jit_run_error)
}

fn jit_run_error(e: jit::RunError) -> Error {
    match e {
        jit::RunError::Setup(source) => Error::Jit { what: "run the program", source },
        jit::RunError::CallbackPanicked => Error::Internal("a runtime callback panicked".into()),
    }
}

/// Runs a program with the reference interpreter on the process's stdin
/// and stdout.
pub fn run_interp(program: &ir::Program, options: &Options) -> RunEnd {
    run_interp_fed(program, options, &[])
}

/// `run_interp`, the program reading `input` before stdin (`--bang`).
pub fn run_interp_fed(program: &ir::Program, options: &Options, input: &[u8]) -> RunEnd {
    let mut input = input.chain(BufReader::with_capacity(host::IO_BUF_SIZE, host::Stream::stdin()));
    let mut output = host::Stream::stdout();
    let buffering = host::Buffering::choose(options.unbuffered, host::Fds::std().output);
    let config = options.interp_config();
    let mut dumps = host::Stream::stderr();
    let (outcome, fault) = interp::run_located(program, &config, &mut input, &mut output, &mut dumps, buffering);
    let status = match outcome {
        interp::Outcome::Finished(status) => status,
        interp::Outcome::OutOfSteps => unreachable!("no step limit"),
    };
    let io_error = match status {
        code::Status::ReadError => input.get_mut().1.get_mut().error.take(),
        code::Status::WriteError => output.error.take(),
        _ => None,
    };
    RunEnd { status, io_error, fault }
}

/// The ELF object of an optimised program (from `source`, named `file` in
/// its tape errors), its entry named `symbol`.
fn object_of(program: &ir::Program, (file, source): (&str, &[u8]), options: &Options, symbol: &str) -> Vec<u8> {
    let code = back_end(program, options);
    let map = SourceMap::new(&linetable::LineTable::new(&code.positions, source), file);
    object::write_object(&code, symbol, &options.contract(), &map)
}

/// Writes the ELF object of an optimised program (from `source`, named
/// `file` in its tape errors) to `output`, its entry named `symbol`.
pub fn build_object(
    program: &ir::Program,
    source: (&str, &[u8]),
    options: &Options,
    symbol: &str,
    output: &Path,
) -> Result<()> {
    link::write_atomically(output, &object_of(program, source, options, symbol))
}

/// Builds the executable of an optimised program (from `source`, named
/// `file` in its tape errors) at `output` (its object, the entry named
/// `symbol`, linked with the C runtime).
pub fn build_executable(
    program: &ir::Program,
    source: (&str, &[u8]),
    options: &Options,
    symbol: &str,
    output: &Path,
) -> Result<()> {
    let object = object_of(program, source, options, symbol);
    link::link_executable(&object, &options.exe_options(symbol), output)
}
