//! The command line's definition: the clap derive `bfc` parses with, and
//! that `examples/bfc-gen.rs` makes the man page and the shell completions
//! from, so the three never disagree.
//!
//! Raw arguments only: checking combinations and turning them into
//! options is `main.rs`'s job, and nothing here prints.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::{object, DEFAULT_TAPE_CELLS, MAX_TAPE_CELLS};

const EXAMPLES: &str = "\
Examples:
  bfc --jit hello.b              compile in memory and run now
  bfc hello.b                    build the executable ./hello
  bfc -O2 -o /usr/local/bin/hi hello.b
  bfc -c a.b b.b                 the objects a.o and b.o
  bfc -c prog.b -o prog.o --symbol prog_main
                                 an object for C: int32_t prog_main(uint8_t*, bf_runtime*)
  bfc -S prog.b                  GNU assembler source prog.s (as assembles it into prog.o's code)
  bfc --emit ir prog.b           show the optimised IR
  bfc --emit passes prog.b       show the IR after each pass that changed it
  bfc --emit ir,obj prog.b       prog.ir and prog.o
  echo '+[,.]' | bfc --jit -     the program from stdin
  echo ',[.,]!hi' | bfc --bang --jit -
                                 '!' ends the program, the rest is its input
  bfc --verify prog.b < in       the optimised code against the interpreter

Outputs: one output goes to -o PATH ('-': stdout); without -o, --emit
ir|passes|asm print on stdout and the others are named after the source
(NAME, NAME.o, NAME.s). Several outputs (several FILEs or several kinds)
each go to a file in the current directory named after its source:
NAME.ir, NAME.passes, NAME.lst (--emit asm), NAME.s, NAME.o, NAME; -o is
then an error.

Exit codes: 0 ok, 1 compile error, 2 usage error, 3 tape underflow/overflow
at run time, 4 I/O error at run time, 5 --verify found a divergence.";

/// `bfc`'s command line. Repeating an option is allowed and the last one
/// wins (`-O2 -O0` is `-O0`), as with gcc; `--emit` and FILE add up.
#[derive(Parser, Debug)]
#[command(
    name = "bfc",
    version,
    about = "An optimising Brainfuck compiler for x86-64",
    after_help = EXAMPLES,
    args_override_self = true
)]
pub struct Cli {
    /// The programs ('-' reads one from stdin). Each is compiled on its own
    /// (a Brainfuck program is a whole program): `bfc -c a.b b.b` writes
    /// a.o and b.o.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Compile in memory and run now (one FILE).
    #[arg(long, conflicts_with_all = ["interp", "compile_only", "asm_source", "output"])]
    pub jit: bool,
    /// Run with the reference interpreter (one FILE).
    #[arg(long, conflicts_with_all = ["compile_only", "asm_source", "output"])]
    pub interp: bool,
    /// Run the optimised code (as --jit) and the interpreter on the same
    /// input (stdin, read whole first) and compare their output and how
    /// they ended; on agreement print the output, else the first divergence
    /// (exit 5).
    #[arg(long, conflicts_with_all = ["jit", "interp", "compile_only", "asm_source", "output"])]
    pub verify: bool,
    /// '!' ends the program: the bytes after it are the program's input,
    /// before stdin's (from stdin, the rest of the stream is).
    #[arg(long)]
    pub bang: bool,
    /// With --jit/--interp: write output as it is made, also to a pipe or file
    /// (to a terminal it always is). Executables: BFRT_UNBUFFERED=1.
    #[arg(short = 'u', long)]
    pub unbuffered: bool,
    /// Output file, '-' for stdout (default: the source's name without
    /// extension, NAME.o with -c, NAME.s with -S). Only with a single output.
    #[arg(short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Stop at an ELF object file (NAME.o).
    #[arg(short = 'c')]
    pub compile_only: bool,
    /// Write GNU assembler source (NAME.s) that `as` assembles into the
    /// object's code, byte for byte.
    #[arg(short = 'S')]
    pub asm_source: bool,
    /// Optimisation level: 0, 1 or 2 (the default). -O, -O3 and -Os are
    /// accepted and mean -O2: there is no higher level, and none that
    /// trades speed for size.
    #[arg(short = 'O', value_name = "LEVEL", default_value = "2", value_parser = ["0", "1", "2", "3", "s"])]
    pub opt: String,
    /// Debug info: DWARF line table and compile unit in the object and the
    /// executable, for gdb (`break prog.b:12`), addr2line and perf. Not with
    /// --jit/--interp.
    #[arg(short = 'g')]
    pub debug_info: bool,
    /// Number of cells of the tape (a left margin's included).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TAPE_CELLS, value_parser = parse_tape_size)]
    pub tape_size: usize,
    /// The first N cells of the tape are left of where the program starts
    /// (cell 0): cells -N..-1, guarded like the right end (--tape-size
    /// counts them).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_left_margin)]
    pub left_margin: usize,
    /// '#' prints the pointer and the cells around it to stderr (otherwise
    /// it is a comment).
    #[arg(long)]
    pub hash_dump: bool,
    /// Bits of a cell: 8, 16 or 32. Cells wrap at that width; '.' writes a
    /// cell's low byte, ',' stores the byte read, --eof minus-one all ones.
    #[arg(long, value_name = "BITS", default_value_t = 8, value_parser = parse_cell_bits)]
    pub cell_bits: u32,
    /// What ',' stores at end of input.
    #[arg(long, value_enum, default_value_t = EofArg::Unchanged)]
    pub eof: EofArg,
    /// Name of the entry function in the object (a C identifier).
    #[arg(long, value_name = "NAME", default_value = object::DEFAULT_SYMBOL)]
    pub symbol: String,
    /// Steps of compile-time execution at -O2: the start of the program that
    /// reads no input is run by the compiler and replaced by its result
    /// [default: 0 (off) with --jit/--interp, 50000000 when building].
    #[arg(long, value_name = "N")]
    pub eval_steps: Option<u64>,
    /// Write intermediate forms or outputs instead of running or building an
    /// executable; several, comma-separated or repeated, add up.
    #[arg(long, value_enum, value_name = "WHAT", value_delimiter = ',')]
    pub emit: Vec<EmitArg>,
    /// Print the commands bfc runs (the C compiler's) on stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Print the time of each stage on stderr: parse, each optimisation
    /// pass (with the IR's size after it), select, emit, object, link.
    #[arg(long)]
    pub time_passes: bool,
    /// Colour diagnostics: on a terminal (unless NO_COLOR is set), always, or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// How diagnostics are written: for people, or one JSON object a line.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Print no warnings.
    #[arg(short = 'w')]
    pub no_warnings: bool,
    /// gcc's -Wall and -Wextra, accepted for Makefiles: every warning bfc
    /// has is on unless -w.
    #[arg(short = 'W', value_name = "all|extra", value_parser = ["all", "extra"])]
    pub warning_sets: Vec<String>,
    /// With --jit: write perf's map of the code, each loop named by its place, to /tmp/perf-PID.map.
    #[arg(long)]
    pub perf_map: bool,
    /// With --jit: write perf's jitdump of the code, with its lines, to
    /// $JITDUMPDIR (default: the temporary directory)/jit-PID.dump, for
    /// `perf record -k 1` then `perf inject --jit`.
    #[arg(long)]
    pub jitdump: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EofArg {
    Unchanged,
    Zero,
    MinusOne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    /// The optimised IR, one instruction a line.
    Ir,
    /// The IR as parsed and after each pass that changed it.
    Passes,
    /// The generated x86-64 code, disassembled (a listing).
    Asm,
    /// The ELF object (as -c).
    Obj,
    /// The executable (as without -c).
    Exe,
}

fn parse_tape_size(s: &str) -> Result<usize, String> {
    let n: u64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number of cells"))?;
    if n == 0 || n > MAX_TAPE_CELLS as u64 {
        return Err(format!("the tape needs between 1 and {MAX_TAPE_CELLS} cells"));
    }
    Ok(n as usize)
}

fn parse_cell_bits(s: &str) -> Result<u32, String> {
    match s.trim().parse() {
        Ok(bits) if crate::ir::CELL_BITS.contains(&bits) => Ok(bits),
        _ => Err(format!("'{s}' is not a cell width: 8, 16 or 32")),
    }
}

fn parse_left_margin(s: &str) -> Result<usize, String> {
    let n: u64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number of cells"))?;
    if n >= MAX_TAPE_CELLS as u64 {
        return Err(format!("the margin is less than the tape, at most {MAX_TAPE_CELLS} cells"));
    }
    Ok(n as usize)
}

/// The arguments as clap should see them: a bare `-O` (gcc's) becomes
/// `-O2`. clap cannot take `-O` both with an attached value and alone: an
/// optional value would swallow the next word (`-O prog.b`). After `--`
/// nothing is touched.
pub fn gcc_style_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut seen_end = false;
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            if i > 0 && !seen_end {
                if arg == "--" {
                    seen_end = true;
                } else if arg == "-O" {
                    return OsString::from("-O2");
                }
            }
            arg
        })
        .collect()
}

/// The clap command, for generating the man page and completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let args = gcc_style_args(std::iter::once("bfc").chain(args.iter().copied()).map(OsString::from));
        Cli::try_parse_from(args).expect("parses")
    }

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn bare_o_is_o2_and_does_not_take_the_file() {
        let cli = parse(&["-O", "prog.b"]);
        assert_eq!((cli.opt.as_str(), cli.files.as_slice()), ("2", &["prog.b".to_string()][..]));
        assert_eq!(parse(&["--", "-O"]).files, ["-O"]);
    }

    #[test]
    fn the_last_of_a_repeated_option_wins() {
        let cli =
            parse(&["-O2", "-O0", "--tape-size", "10", "--tape-size=20", "--eof", "zero", "--eof=minus-one", "a"]);
        assert_eq!((cli.opt.as_str(), cli.tape_size, cli.eof), ("0", 20, EofArg::MinusOne));
        assert_eq!(parse(&["-o", "x", "-o", "y", "-c", "-c", "a"]).output, Some(PathBuf::from("y")));
    }

    #[test]
    fn emit_and_files_add_up() {
        let cli = parse(&["--emit", "ir,obj", "a.b", "--emit=asm", "b.b"]);
        assert_eq!(cli.emit, [EmitArg::Ir, EmitArg::Obj, EmitArg::Asm]);
        assert_eq!(cli.files, ["a.b", "b.b"]);
    }
}
