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
//! | 5    | `--verify`: the optimised code and the interpreter differ      |
//! | 101  | internal compiler error (a bug)                                 |

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use bfc::cli::{gcc_style_args, Cli, ColorArg, EmitArg, EofArg, ErrorFormat};
use bfc::code::Status;
use bfc::diagnostic::{Diagnostic, Format, Location};
use bfc::error::Error;
use bfc::host::{Exit, RunEnd, Stream};
use bfc::ir::EofMode;
use bfc::opt::Level;
use bfc::verify::{Divergence, Inject};
use bfc::{object, Dest, Emit, Event, Options};

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

/// What to do with the compiled programs.
#[derive(Debug)]
enum Action {
    Jit(Input),
    Interp(Input),
    /// `--verify`, with the divergence `BFC_VERIFY_INJECT` asks for.
    Verify(Input, Option<Inject>),
    Build(Vec<Job>),
}

/// An input and the outputs made from it, in order.
type Job = (Input, Vec<(Emit, Dest)>);

/// The validated command line.
#[derive(Debug)]
struct Invocation {
    action: Action,
    options: Options,
    symbol: String,
    /// `-v`: show the commands run.
    verbose: bool,
    /// `--time-passes`: show each stage's time.
    time_passes: bool,
    /// Not `-w`: print warnings.
    warn: bool,
    /// `--perf-map`.
    perf_map: bool,
    /// `--jitdump`.
    jitdump: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
            Input::Stdin => read_stdin(),
            Input::File(p) => std::fs::read(p).map_err(|source| Error::ReadSource { path: p.clone(), source }),
        }
    }

    /// The program to run and the input it reads before stdin's: with
    /// `bang`, the source up to its first `!` and the bytes after it (from
    /// stdin, only those read with the program: the rest of the stream is
    /// left for the program to read as it goes); without, the whole source
    /// and nothing.
    fn read_program(&self, bang: bool) -> bfc::Result<(Vec<u8>, Vec<u8>)> {
        match (self, bang) {
            (_, false) => Ok((self.read()?, Vec::new())),
            (Input::Stdin, true) => bfc::bang::read_program(&mut Stream::stdin())
                .map_err(|source| Error::ReadSource { path: "<stdin>".into(), source }),
            (Input::File(_), true) => {
                let source = self.read()?;
                let split = bfc::bang::split(&source);
                Ok((split.program.to_vec(), split.input.unwrap_or_default().to_vec()))
            }
        }
    }

    /// The output of kind `what` named after this input, in the current
    /// directory (gcc's and rustc's rule).
    fn default_output(&self, what: Emit) -> bfc::Result<PathBuf> {
        match self {
            Input::Stdin => Err(Error::Usage("a program read from stdin needs -o PATH (or --jit)".into())),
            Input::File(p) => {
                let stem = p.file_stem().filter(|s| !s.is_empty()).ok_or_else(|| {
                    Error::Usage(format!("cannot name the output after '{}': give -o PATH", p.display()))
                })?;
                let mut out = PathBuf::from(stem);
                if let Some(ext) = what.extension() {
                    out.set_extension(ext);
                }
                Ok(out)
            }
        }
    }
}

/// All of stdin.
fn read_stdin() -> bfc::Result<Vec<u8>> {
    let mut v = Vec::new();
    Stream::stdin().read_to_end(&mut v).map_err(|source| Error::ReadSource { path: "<stdin>".into(), source })?;
    Ok(v)
}

/// The outputs asked for, in order, each once: `--emit`'s, then -c's and
/// -S's.
fn kinds(cli: &Cli) -> Vec<Emit> {
    let mut kinds = Vec::new();
    let asked = cli.emit.iter().map(|e| match e {
        EmitArg::Ir => Emit::Ir,
        EmitArg::Passes => Emit::Passes,
        EmitArg::Asm => Emit::Asm,
        EmitArg::Obj => Emit::Object,
        EmitArg::Exe => Emit::Executable,
    });
    let flags = [(cli.compile_only, Emit::Object), (cli.asm_source, Emit::Gas)];
    for what in asked.chain(flags.into_iter().filter(|(on, _)| *on).map(|(_, what)| what)) {
        if !kinds.contains(&what) {
            kinds.push(what);
        }
    }
    kinds
}

impl Invocation {
    fn from_cli(cli: Cli) -> bfc::Result<Invocation> {
        let inputs: Vec<Input> =
            cli.files.iter().map(|f| if f == "-" { Input::Stdin } else { Input::File(PathBuf::from(f)) }).collect();
        if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
            return Err(Error::Usage("stdin ('-') can be read only once".into()));
        }
        if !object::is_valid_symbol(&cli.symbol) {
            return Err(Error::Usage(format!("--symbol '{}' is not a C identifier", cli.symbol)));
        }
        let mut kinds = kinds(&cli);
        let runs = kinds.is_empty() && (cli.jit || cli.interp || cli.verify);
        if runs && inputs.len() > 1 {
            let mode = if cli.jit {
                "--jit"
            } else if cli.interp {
                "--interp"
            } else {
                "--verify"
            };
            return Err(Error::Usage(format!("{mode} runs one program: give one FILE")));
        }
        if kinds.is_empty() {
            kinds.push(Emit::Executable);
        }
        let action = if runs {
            let input = inputs.into_iter().next().expect("FILE is required");
            if cli.jit {
                Action::Jit(input)
            } else if cli.interp {
                Action::Interp(input)
            } else {
                Action::Verify(input, injected()?)
            }
        } else {
            Action::Build(outputs(inputs, &kinds, cli.output)?)
        };
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
        // With --jit, --interp or --verify, --emit shows what that run would run.
        let eval_steps = cli.eval_steps.unwrap_or(match cli.jit || cli.interp || cli.verify {
            true => bfc::DEFAULT_EVAL_STEPS_JIT,
            false => bfc::DEFAULT_EVAL_STEPS_BUILD,
        });
        if cli.left_margin >= cli.tape_size {
            let (margin, size) = (cli.left_margin, cli.tape_size);
            return Err(Error::Usage(format!(
                "--left-margin {margin} leaves no cell 0 on a tape of {size} cells (--tape-size counts the margin)"
            )));
        }
        let options = Options {
            level,
            tape_cells: cli.tape_size,
            left_margin: cli.left_margin,
            eof,
            cell_bits: cli.cell_bits,
            hash_dump: cli.hash_dump,
            eval_steps,
            unbuffered: cli.unbuffered,
            debug_info: cli.debug_info,
            bang: cli.bang,
            warnings: !cli.no_warnings,
        };
        for (asked, flag) in [(cli.perf_map, "--perf-map"), (cli.jitdump, "--jitdump")] {
            if asked && !matches!(action, Action::Jit(_)) {
                return Err(Error::Usage(format!("{flag} needs --jit: it describes the code run in memory")));
            }
        }
        if cli.debug_info && !matches!(action, Action::Build(_)) {
            let mode = if cli.jit { "--jit" } else { "--interp" };
            return Err(Error::Usage(format!(
                "-g writes debug info into objects and executables, and {mode} makes neither (--jit --perf-map names the code for perf)"
            )));
        }
        if cli.unbuffered && matches!(action, Action::Build(_)) {
            return Err(Error::Usage(
                "-u applies to --jit and --interp runs; an executable writes output as it is made when run with BFRT_UNBUFFERED=1".into(),
            ));
        }
        let (warn, perf_map, jitdump) = (!cli.no_warnings, cli.perf_map, cli.jitdump);
        Ok(Invocation {
            action,
            options,
            symbol: cli.symbol,
            verbose: cli.verbose,
            time_passes: cli.time_passes,
            warn,
            perf_map,
            jitdump,
        })
    }
}

/// The divergence `BFC_VERIFY_INJECT` forces on `--verify`'s optimised
/// side (a testing aid: docs/driver.md).
fn injected() -> bfc::Result<Option<Inject>> {
    match std::env::var(Inject::VAR) {
        Err(_) => Ok(None),
        Ok(text) => Inject::parse(&text).map(Some).ok_or_else(|| {
            Error::Usage(format!("{}='{text}': expected output, output:N, truncate or status", Inject::VAR))
        }),
    }
}

/// Where each output of each input goes. A single output goes to `-o`
/// (`-`: stdout), or by default to stdout (the text forms) or a file named
/// after the source; with several, each goes to a file named after its
/// source and `-o` is an error (gcc's rule for `-c` with several inputs).
fn outputs(inputs: Vec<Input>, kinds: &[Emit], output: Option<PathBuf>) -> bfc::Result<Vec<Job>> {
    let single = inputs.len() * kinds.len() == 1;
    if !single && output.is_some() {
        let count = inputs.len() * kinds.len();
        return Err(Error::Usage(format!(
            "-o names a single output, and this makes {count}: leave -o out to name each after its source"
        )));
    }
    let mut jobs = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for input in inputs {
        if !single && input == Input::Stdin {
            return Err(Error::Usage(
                "several outputs are named after their sources, and stdin has none: ask for one, with -o PATH".into(),
            ));
        }
        let mut dests = Vec::new();
        for &what in kinds {
            let dest = match &output {
                Some(path) if path.as_os_str() == "-" => Dest::Stdout,
                Some(path) => Dest::File(path.clone()),
                None if single && what.prints() => Dest::Stdout,
                None => Dest::File(input.default_output(what)?),
            };
            if let Dest::File(path) = &dest {
                if files.contains(path) {
                    return Err(Error::Usage(format!("two outputs would be {}: give them apart", path.display())));
                }
                files.push(path.clone());
            }
            if what == Emit::Executable && dest == Dest::Stdout {
                return Err(Error::Usage("an executable cannot be written to stdout: give -o PATH".into()));
            }
            dests.push((what, dest));
        }
        jobs.push((input, dests));
    }
    for path in &files {
        for (input, _) in &jobs {
            if let Input::File(src) = input {
                if same_file(path, src) {
                    return Err(Error::OutputIsInput { path: path.clone() });
                }
            }
        }
    }
    Ok(jobs)
}

/// Do two paths name the same file (the second one exists)?
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Shows what `-v` and `--time-passes` asked to see, on stderr.
fn show(event: Event, verbose: bool, time_passes: bool, warnings: Option<Format>) {
    let line = match event {
        Event::Command(command) if verbose => format!("{command}\n"),
        Event::Warning(warning) => match warnings {
            Some(format) => warning.render(format),
            None => return,
        },
        Event::Stage { name, time, insts } if time_passes => {
            let size = insts.map(|n| format!("{n:>10} insts")).unwrap_or_default();
            format!("time: {name:<36} {:>10.3} ms{size}\n", ms(time))
        }
        _ => return,
    };
    let _ = io::stderr().write_all(line.as_bytes());
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

/// A run of the program, and the source it ran (where its errors are).
struct Ran {
    end: RunEnd,
    file: String,
    source: Vec<u8>,
}

/// How what the command line asked for ended.
enum Finished {
    /// Outputs written.
    Built,
    /// The program ran (`--jit`, `--interp`, `--verify` that agreed).
    Ran(Ran),
    /// `--verify` found the two runs differ.
    Diverged(Vec<Divergence>),
}

/// Does what the command line asks.
fn run(inv: Invocation, format: Format) -> bfc::Result<Finished> {
    let options = &inv.options;
    let (verbose, time_passes, warnings) = (inv.verbose, inv.time_passes, inv.warn.then_some(format));
    let mut observe = |event: Event| show(event, verbose, time_passes, warnings);
    match inv.action {
        Action::Jit(input) => {
            let (file, (source, first_input)) = (input.name(), input.read_program(options.bang)?);
            let program = bfc::front_end_observed(&file, &source, options, &mut observe)?;
            let profiling = (inv.perf_map || inv.jitdump).then_some(bfc::Profiling {
                file: &file,
                source: &source,
                perf_map: inv.perf_map,
                jitdump: inv.jitdump,
            });
            let end = bfc::run_jit_fed(&program, options, profiling, &first_input)?;
            Ok(Finished::Ran(Ran { end, file, source }))
        }
        Action::Interp(input) => {
            let (file, (source, first_input)) = (input.name(), input.read_program(options.bang)?);
            let program = bfc::front_end_observed(&file, &source, options, &mut observe)?;
            let end = bfc::run_interp_fed(&program, options, &first_input);
            Ok(Finished::Ran(Ran { end, file, source }))
        }
        Action::Verify(input, inject) => {
            let (file, (source, mut all_input)) = (input.name(), input.read_program(options.bang)?);
            if let Err(e) = Stream::stdin().read_to_end(&mut all_input) {
                // As a run of the program would end at its first ','.
                let end = RunEnd { status: Status::ReadError, io_error: Some(e), fault: None };
                return Ok(Finished::Ran(Ran { end, file, source }));
            }
            let verdict = bfc::verify::verify(&file, &source, options, &all_input, inject, &mut observe)?;
            let written = write_stdout(&verdict.reference.output);
            if !verdict.divergences.is_empty() {
                return Ok(Finished::Diverged(verdict.divergences));
            }
            Ok(Finished::Ran(Ran { end: written.unwrap_or(verdict.reference.end), file, source }))
        }
        Action::Build(jobs) => {
            for (input, outputs) in jobs {
                bfc::build(&input.name(), &input.read()?, options, &inv.symbol, &outputs, &mut observe)?;
            }
            Ok(Finished::Built)
        }
    }
}

/// Writes a run's output to stdout; how the run ends if that failed (as if
/// the program's own write had: quietly for a reader gone away).
fn write_stdout(output: &[u8]) -> Option<RunEnd> {
    let mut stdout = Stream::stdout();
    let error = stdout.write_all(output).err()?;
    let status = bfc::host::write_failure(&error);
    Some(RunEnd { status, io_error: stdout.error.take().filter(|_| status == Status::WriteError), fault: None })
}

/// Says how the run ended, if there is anything to say (a tape error at
/// the command that touched the cell); its exit code.
fn status_exit(ran: Ran, format: Format) -> Exit {
    let end = &ran.end;
    if let Some(message) = end.message() {
        let at = end.fault.and_then(|fault| fault.at).filter(|&at| (at as usize) < ran.source.len());
        let location = at.map(|at| Location::at(&ran.file, &ran.source, at as usize, "this command touched it"));
        report(&[Diagnostic::error(bfc::host::row(end.status).code, message, location)], format);
    }
    end.exit()
}

fn main() -> ExitCode {
    bfc::host::keep_freed_memory();
    let cli = match Cli::try_parse_from(gcc_style_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage } else { Exit::Ok } as u8);
        }
    };
    let format = diagnostic_format(cli.color, cli.error_format);
    let result = std::panic::catch_unwind(|| Invocation::from_cli(cli).and_then(|inv| run(inv, format)));
    let code = match result {
        Ok(Ok(Finished::Built)) => Exit::Ok,
        Ok(Ok(Finished::Ran(ran))) => status_exit(ran, format),
        Ok(Ok(Finished::Diverged(divergences))) => {
            let diagnostics: Vec<Diagnostic> =
                divergences.iter().map(|d| Diagnostic::error(d.code(), d.message(), None)).collect();
            report(&diagnostics, format);
            Exit::Diverged
        }
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
