//! The `bfc` command: command line -> validated options -> run.
//!
//! This is the only place that prints errors and picks exit codes
//! (`bfc::host::Exit`; a run's from the status table in `bfc::host`):
//!
//! | code | meaning                                                        |
//! |------|----------------------------------------------------------------|
//! | 0    | success (also: stdout closed early by its reader)              |
//! | 1    | compile error: bad source, unreadable input, failed output/link |
//! | 2    | usage error: bad option or combination                          |
//! | 3    | runtime: tape underflow or overflow                            |
//! | 4    | runtime: I/O error (stdout full, stdin unreadable)             |
//! | 101  | internal compiler error (a bug)                                 |

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use bfc::diagnostic::{Diagnostic, Format};
use bfc::error::Error;
use bfc::host::{Exit, RunEnd, Stream};
use bfc::ir::EofMode;
use bfc::object;
use bfc::opt::Level;
use bfc::{Options, DEFAULT_TAPE_CELLS, MAX_TAPE_CELLS};

const EXAMPLES: &str = "\
Examples:
  bfc --jit hello.b              compile in memory and run now
  bfc hello.b                    build the executable ./hello
  bfc -O2 -o /usr/local/bin/hi hello.b
  bfc -c prog.b -o prog.o --symbol prog_main
                                 an object for C: int32_t prog_main(uint8_t*, bf_runtime*)
  bfc --emit ir prog.b           show the optimised IR
  bfc --emit passes prog.b       show the IR after each pass that changed it
  echo '+[,.]' | bfc --jit -     the program from stdin

Exit codes: 0 ok, 1 compile error, 2 usage error, 3 tape underflow/overflow
at run time, 4 I/O error at run time.";

#[derive(Parser, Debug)]
#[command(name = "bfc", version, about = "An optimising Brainfuck compiler for x86-64", after_help = EXAMPLES)]
struct Cli {
    /// The program ('-' reads it from stdin).
    file: String,
    /// Compile in memory and run now.
    #[arg(long, conflicts_with_all = ["interp", "compile_only", "output"])]
    jit: bool,
    /// Run with the reference interpreter.
    #[arg(long, conflicts_with_all = ["compile_only", "output"])]
    interp: bool,
    /// Output file (default: the source's name without extension, or NAME.o with -c).
    #[arg(short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Stop at an ELF object file.
    #[arg(short = 'c')]
    compile_only: bool,
    /// Optimisation level.
    #[arg(short = 'O', value_name = "LEVEL", default_value = "2", value_parser = ["0", "1", "2"])]
    opt: String,
    /// Number of cells of the tape.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TAPE_CELLS, value_parser = parse_tape_size)]
    tape_size: usize,
    /// What ',' stores at end of input.
    #[arg(long, value_enum, default_value_t = EofArg::Unchanged)]
    eof: EofArg,
    /// Name of the entry function in the object (a C identifier).
    #[arg(long, value_name = "NAME", default_value = object::DEFAULT_SYMBOL)]
    symbol: String,
    /// Steps of compile-time execution at -O2: the start of the program that
    /// reads no input is run by the compiler and replaced by its result
    /// [default: 0 (off) with --jit/--interp, 50000000 when building].
    #[arg(long, value_name = "N")]
    eval_steps: Option<u64>,
    /// Print an intermediate form instead of running or building.
    #[arg(long, value_enum, value_name = "WHAT")]
    emit: Option<Emit>,
    /// Colour diagnostics: on a terminal (unless NO_COLOR is set), always, or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// How diagnostics are written: for people, or one JSON object a line.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ErrorFormat::Human)]
    error_format: ErrorFormat,
    /// Print no warnings.
    #[arg(short = 'w')]
    no_warnings: bool,
    /// Write perf's map of the code, each loop named by its place, to /tmp/perf-PID.map.
    #[arg(long)]
    perf_map: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ErrorFormat {
    Human,
    Json,
}

/// How the command line asks for diagnostics to be written on stderr.
fn diagnostic_format(color: ColorArg, format: ErrorFormat) -> Format {
    use std::io::IsTerminal;
    match format {
        ErrorFormat::Json => Format::Json,
        ErrorFormat::Human => Format::Human {
            colour: match color {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => std::env::var_os("NO_COLOR").is_none() && io::stderr().is_terminal(),
            },
        },
    }
}

/// Writes diagnostics to stderr.
fn report(diagnostics: &[Diagnostic], format: Format) {
    let text: String = diagnostics.iter().map(|d| d.render(format)).collect();
    let _ = io::stderr().write_all(text.as_bytes());
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EofArg {
    Unchanged,
    Zero,
    MinusOne,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Emit {
    /// The optimised IR, one instruction a line.
    Ir,
    /// The IR as parsed and after each pass that changed it.
    Passes,
    /// The generated x86-64 code, disassembled.
    Asm,
}

fn parse_tape_size(s: &str) -> Result<usize, String> {
    let n: u64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number of cells"))?;
    if n == 0 || n > MAX_TAPE_CELLS as u64 {
        return Err(format!("the tape needs between 1 and {MAX_TAPE_CELLS} cells"));
    }
    Ok(n as usize)
}

/// What to do with the compiled program.
#[derive(Debug)]
enum Action {
    Jit,
    Interp,
    Emit(bfc::Emit),
    Object(PathBuf),
    Executable(PathBuf),
}

/// The validated command line.
#[derive(Debug)]
struct Invocation {
    input: Input,
    action: Action,
    options: Options,
    symbol: String,
    warn: bool,
    perf_map: bool,
}

#[derive(Debug)]
enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }

    fn read(&self) -> bfc::Result<Vec<u8>> {
        match self {
            Input::Stdin => {
                let mut v = Vec::new();
                Stream::stdin()
                    .read_to_end(&mut v)
                    .map_err(|source| Error::ReadSource { path: "<stdin>".into(), source })?;
                Ok(v)
            }
            Input::File(p) => std::fs::read(p).map_err(|source| Error::ReadSource { path: p.clone(), source }),
        }
    }
}

impl Invocation {
    fn from_cli(cli: Cli) -> bfc::Result<Invocation> {
        let input = if cli.file == "-" { Input::Stdin } else { Input::File(PathBuf::from(&cli.file)) };
        if !object::is_valid_symbol(&cli.symbol) {
            return Err(Error::Usage(format!("--symbol '{}' is not a C identifier", cli.symbol)));
        }
        let default_output = |ext: Option<&str>| -> bfc::Result<PathBuf> {
            match &input {
                Input::Stdin => Err(Error::Usage("a program read from stdin needs -o PATH (or --jit)".into())),
                Input::File(p) => {
                    let stem = p.file_stem().filter(|s| !s.is_empty()).ok_or_else(|| {
                        Error::Usage(format!("cannot name the output after '{}': give -o PATH", p.display()))
                    })?;
                    let mut out = PathBuf::from(stem);
                    if let Some(ext) = ext {
                        out.set_extension(ext);
                    }
                    Ok(out)
                }
            }
        };
        let action = if let Some(what) = cli.emit {
            Action::Emit(match what {
                Emit::Ir => bfc::Emit::Ir,
                Emit::Passes => bfc::Emit::Passes,
                Emit::Asm => bfc::Emit::Asm,
            })
        } else if cli.jit {
            Action::Jit
        } else if cli.interp {
            Action::Interp
        } else if cli.compile_only {
            Action::Object(match cli.output {
                Some(p) => p,
                None => default_output(Some("o"))?,
            })
        } else {
            Action::Executable(match cli.output {
                Some(p) => p,
                None => default_output(None)?,
            })
        };
        if let (Action::Object(out) | Action::Executable(out), Input::File(src)) = (&action, &input) {
            if same_file(out, src) {
                return Err(Error::OutputIsInput { path: out.clone() });
            }
        }
        if cli.perf_map && !matches!(action, Action::Jit) {
            return Err(Error::Usage("--perf-map needs --jit: it maps the code run in memory".into()));
        }
        let level = match cli.opt.as_str() {
            "0" => Level::O0,
            "1" => Level::O1,
            _ => Level::O2,
        };
        let eof = match cli.eof {
            EofArg::Unchanged => EofMode::Unchanged,
            EofArg::Zero => EofMode::Zero,
            EofArg::MinusOne => EofMode::MinusOne,
        };
        let eval_steps = cli.eval_steps.unwrap_or(match action {
            Action::Jit | Action::Interp => bfc::DEFAULT_EVAL_STEPS_JIT,
            Action::Emit(_) | Action::Object(_) | Action::Executable(_) => bfc::DEFAULT_EVAL_STEPS_BUILD,
        });
        let options = Options { level, tape_cells: cli.tape_size, eof, eval_steps };
        Ok(Invocation { input, action, options, symbol: cli.symbol, warn: !cli.no_warnings, perf_map: cli.perf_map })
    }
}

/// Do two paths name the same file (the second one exists)?
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Prints what `--emit` asked for; a reader that went away is no error.
fn print(text: &str) -> bfc::Result<()> {
    match Stream::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::WriteOutput { path: "<stdout>".into(), source: e })
        }
        _ => Ok(()),
    }
}

/// Does what the command line asks; how a run of the program ended, if it
/// ran.
fn run(inv: Invocation, format: Format) -> bfc::Result<Option<RunEnd>> {
    let source = inv.input.read()?;
    let name = inv.input.name();
    let options = &inv.options;
    if let Action::Emit(what) = inv.action {
        return print(&bfc::emit(what, &name, &source, options)?).map(|()| None);
    }
    let (program, warnings) = bfc::front_end_warned(&name, &source, options, inv.warn)?;
    report(&warnings, format);
    Ok(match inv.action {
        Action::Jit => Some(bfc::run_jit_mapped(&program, options, inv.perf_map.then_some((&*name, &*source)))?),
        Action::Interp => Some(bfc::run_interp(&program, options)),
        Action::Object(path) => bfc::build_object(&program, options, &inv.symbol, &path).map(|()| None)?,
        Action::Executable(path) => bfc::build_executable(&program, options, &inv.symbol, &path).map(|()| None)?,
        Action::Emit(_) => unreachable!("printed above"),
    })
}

/// Says how the run ended, if there is anything to say; its exit code.
fn status_exit(end: RunEnd, format: Format) -> Exit {
    if let Some(message) = end.message() {
        report(&[Diagnostic::error(bfc::host::row(end.status).code, message, None)], format);
    }
    end.exit()
}

fn main() -> ExitCode {
    bfc::host::keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage } else { Exit::Ok } as u8);
        }
    };
    let format = diagnostic_format(cli.color, cli.error_format);
    let result = std::panic::catch_unwind(|| Invocation::from_cli(cli).and_then(|inv| run(inv, format)));
    let code = match result {
        Ok(Ok(None)) => Exit::Ok,
        Ok(Ok(Some(end))) => status_exit(end, format),
        Ok(Err(e)) => {
            report(&e.diagnostics(), format);
            if e.is_internal() {
                eprintln!("(this is a bug in bfc: please report it)");
                Exit::Internal
            } else if e.is_usage() {
                Exit::Usage
            } else {
                Exit::Compile
            }
        }
        Err(_) => {
            // The panic hook has printed where.
            eprintln!("error: internal compiler error (this is a bug in bfc: please report it)");
            Exit::Internal
        }
    };
    ExitCode::from(code as u8)
}
