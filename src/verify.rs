//! `--verify`: runs a program twice on the same input, as the optimised
//! code in the JIT and with the reference interpreter on the program as
//! parsed (no pass ran: the meaning `-O0` keeps), each writing its output
//! into memory, then compares what they printed and how they ended.
//!
//! Nothing here prints or picks an exit code: `main.rs` writes the
//! reference output and the divergences. The tests make the two sides
//! differ on purpose through [`Inject`] (`BFC_VERIFY_INJECT`, read by
//! `main.rs` for `--verify` only), which corrupts the optimised side.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;

use crate::code::Status;
use crate::error::{Error, Result};
use crate::host::{self, Buffering, Fds, RunEnd};
use crate::{interp, ir, jit, parse, Event, Options};

/// What one side printed and how its run ended.
#[derive(Debug)]
pub struct Capture {
    pub output: Vec<u8>,
    pub end: RunEnd,
}

/// A way the two runs differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Divergence {
    /// The outputs differ first at byte `offset`: each side's byte there,
    /// `None` for a side whose output ended before it.
    Output { offset: usize, optimised: Option<u8>, reference: Option<u8> },
    /// The runs ended differently in `what` (a row of `ENDING_FACTS`).
    Ending { what: &'static str, optimised: String, reference: String },
}

impl Divergence {
    /// A stable name, for `--error-format json`.
    pub fn code(&self) -> &'static str {
        match self {
            Divergence::Output { .. } => "verify-output",
            Divergence::Ending { .. } => "verify-ending",
        }
    }

    /// The message (after "error: ").
    pub fn message(&self) -> String {
        let both = "--verify: the optimised code and the interpreter differ";
        match self {
            Divergence::Output { offset, optimised: Some(a), reference: Some(b) } => {
                format!("{both} at output byte {offset}: {a:#04x} vs {b:#04x}")
            }
            Divergence::Output { offset, optimised: None, reference: Some(b) } => format!(
                "{both} at output byte {offset}: the optimised code's output ends there, the interpreter's goes on \
                 ({b:#04x})"
            ),
            Divergence::Output { offset, optimised: Some(a), reference: None } => format!(
                "{both} at output byte {offset}: the interpreter's output ends there, the optimised code's goes on \
                 ({a:#04x})"
            ),
            Divergence::Output { offset, optimised: None, reference: None } => {
                format!("{both} at output byte {offset}, where both end (a bug in --verify)")
            }
            Divergence::Ending { what, optimised, reference } => {
                format!("{both} in {what}: {optimised} vs {reference}")
            }
        }
    }
}

/// One fact of how a run ended, as text to compare and show.
type Fact = fn(&RunEnd) -> String;

/// How a run ended, fact by fact, in the order they are compared; only
/// the first that differs is reported (the later ones follow from it).
/// Another fact of a run's end is one more row.
const ENDING_FACTS: [(&str, Fact); 4] = [
    ("how the run ended", |end| host::row(end.status).what.to_string()),
    ("exit code", |end| (end.exit() as u8).to_string()),
    ("the cell of the tape error", |end| end.fault.map_or_else(String::new, |f| format!("cell {}", f.cell))),
    // Optimised code names the unoptimised program's command but in a few
    // merged constructs (docs/diagnostics.md): a difference here is one
    // in what the two runs' messages say.
    ("where the tape error happened", |end| {
        end.fault.and_then(|f| f.at).map_or_else(String::new, |at| format!("source byte {at}"))
    }),
];

/// The outcome of `--verify`: the interpreter's run, and how the optimised
/// one differs from it (empty: they agree). The output divergence comes
/// first, then the first differing fact of the ending.
#[derive(Debug)]
pub struct Verdict {
    pub reference: Capture,
    pub divergences: Vec<Divergence>,
}

/// A divergence forced on the optimised side, for testing `--verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// `output:N` (`output`: 0): byte N of the output is changed, or a byte
    /// added at the end if there is none.
    Output(usize),
    /// `truncate`: the output's last byte is dropped.
    Truncate,
    /// `status`: a run that ended well is a tape overflow, any other a
    /// success.
    Status,
    /// `position`: a tape error is said to happen one source byte later.
    Position,
}

impl Inject {
    /// The environment variable `main.rs` reads it from.
    pub const VAR: &'static str = "BFC_VERIFY_INJECT";

    pub fn parse(text: &str) -> Option<Inject> {
        match text.split_once(':') {
            None if text == "output" => Some(Inject::Output(0)),
            None if text == "truncate" => Some(Inject::Truncate),
            None if text == "status" => Some(Inject::Status),
            None if text == "position" => Some(Inject::Position),
            Some(("output", at)) => at.parse().ok().map(Inject::Output),
            _ => None,
        }
    }

    fn apply(self, side: &mut Capture) {
        match self {
            Inject::Output(at) => match side.output.get_mut(at) {
                Some(byte) => *byte = byte.wrapping_add(1),
                None => side.output.push(b'!'),
            },
            Inject::Truncate => {
                side.output.pop();
            }
            Inject::Status => {
                side.end.status = if side.end.status == Status::Ok { Status::TapeOverflow } else { Status::Ok };
                side.end.io_error = None;
            }
            Inject::Position => {
                if let Some(at) = side.end.fault.as_mut().and_then(|f| f.at.as_mut()) {
                    *at += 1;
                }
            }
        }
    }
}

/// Compiles `source` (named `file` in errors) both ways and runs each on
/// `input` (then end of input), the optimised side corrupted as `inject`
/// says. `observe` sees the optimised front end (warnings, times).
pub fn verify(
    file: &str,
    source: &[u8],
    options: &Options,
    input: &[u8],
    inject: Option<Inject>,
    observe: &mut dyn FnMut(Event),
) -> Result<Verdict> {
    let optimised_program = crate::front_end_observed(file, source, options, observe)?;
    let reference_program = parse::parse(file, source)?;
    let mut optimised = run_optimised(&optimised_program, options, input)?;
    if let Some(inject) = inject {
        inject.apply(&mut optimised);
    }
    let reference = run_reference(&reference_program, options, input);
    let divergences = compare(&optimised, &reference);
    Ok(Verdict { reference, divergences })
}

/// The optimised code in the JIT, reading `input` and then end of input
/// (/dev/null), writing into an unnamed temporary file: the output may be
/// larger than a pipe would hold without a reader beside it.
fn run_optimised(program: &ir::Program, options: &Options, input: &[u8]) -> Result<Capture> {
    let setup = |what| move |source| Error::Jit { what, source };
    let code = crate::back_end(program, options);
    let loaded = jit::LoadedCode::load(&code).map_err(setup("map executable memory"))?;
    let mut file = tempfile::tempfile().map_err(setup("make a temporary file for the output"))?;
    let nothing = File::open("/dev/null").map_err(setup("open /dev/null for the end of input"))?;
    let fds = Fds { input: nothing.as_raw_fd(), output: file.as_raw_fd() };
    let end = loaded
        .run_fed(options.tape_cells, options.left_margin, fds, Buffering::Full, input)
        .map_err(crate::jit_run_error)?;
    if let (Status::WriteError, Some(source)) = (end.status, &end.io_error) {
        let source = std::io::Error::new(source.kind(), source.to_string());
        return Err(setup("write the output to a temporary file")(source));
    }
    let mut output = Vec::new();
    file.rewind().and_then(|()| file.read_to_end(&mut output)).map_err(setup("read the output back"))?;
    Ok(Capture { output, end })
}

/// The reference interpreter, reading `input` and writing into memory.
fn run_reference(program: &ir::Program, options: &Options, mut input: &[u8]) -> Capture {
    let mut output = Vec::new();
    let config = options.interp_config();
    // `#`'s dumps come from the optimised run only.
    let mut dumps = std::io::sink();
    let (outcome, fault) = interp::run_located(program, &config, &mut input, &mut output, &mut dumps, Buffering::Full);
    let status = match outcome {
        interp::Outcome::Finished(status) => status,
        interp::Outcome::OutOfSteps => unreachable!("no step limit"),
    };
    Capture { output, end: host::RunEnd { status, io_error: None, fault } }
}

/// How `optimised` differs from `reference`: where the outputs part, and
/// the first fact of the ending they disagree on.
pub fn compare(optimised: &Capture, reference: &Capture) -> Vec<Divergence> {
    let mut found = Vec::new();
    let (a, b) = (&optimised.output, &reference.output);
    if a != b {
        let offset = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        found.push(Divergence::Output { offset, optimised: a.get(offset).copied(), reference: b.get(offset).copied() });
    }
    let ending = ENDING_FACTS.iter().find_map(|(what, fact)| {
        let (x, y) = (fact(&optimised.end), fact(&reference.end));
        (x != y).then_some(Divergence::Ending { what, optimised: x, reference: y })
    });
    found.extend(ending);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(output: &[u8], status: Status) -> Capture {
        Capture { output: output.to_vec(), end: RunEnd { status, io_error: None, fault: None } }
    }

    #[test]
    fn agreement_is_no_divergence() {
        assert_eq!(compare(&capture(b"abc", Status::Ok), &capture(b"abc", Status::Ok)), []);
    }

    #[test]
    fn the_first_differing_byte_and_which_side_ended_early() {
        let diverged = |a: &[u8], b: &[u8]| compare(&capture(a, Status::Ok), &capture(b, Status::Ok));
        let at = |offset, optimised, reference| vec![Divergence::Output { offset, optimised, reference }];
        assert_eq!(diverged(b"abXd", b"abYd"), at(2, Some(b'X'), Some(b'Y')));
        assert_eq!(diverged(b"ab", b"abc"), at(2, None, Some(b'c')));
        assert_eq!(diverged(b"abc", b"ab"), at(2, Some(b'c'), None));
        assert_eq!(diverged(b"", b"a"), at(0, None, Some(b'a')));
        let message = diverged(b"xA", b"xB")[0].message();
        assert_eq!(message, "--verify: the optimised code and the interpreter differ at output byte 1: 0x41 vs 0x42");
    }

    #[test]
    fn a_different_ending_is_reported_once() {
        let found = compare(&capture(b"a", Status::TapeUnderflow), &capture(b"a", Status::Ok));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(&found[0], Divergence::Ending { what: "how the run ended", .. }), "{found:?}");
        assert!(found[0].message().ends_with("differ in how the run ended: tape underflow vs success"), "{found:?}");
    }

    #[test]
    fn injections_parse_and_corrupt_the_optimised_side() {
        assert_eq!(Inject::parse("output"), Some(Inject::Output(0)));
        assert_eq!(Inject::parse("output:17"), Some(Inject::Output(17)));
        assert_eq!(Inject::parse("truncate"), Some(Inject::Truncate));
        assert_eq!(Inject::parse("status"), Some(Inject::Status));
        assert_eq!(Inject::parse("output:x"), None);
        assert_eq!(Inject::parse("nonsense"), None);
        let mut side = capture(b"ab", Status::Ok);
        Inject::Output(1).apply(&mut side);
        Inject::Output(5).apply(&mut side);
        Inject::Status.apply(&mut side);
        assert_eq!((&side.output[..], side.end.status), (&b"ac!"[..], Status::TapeOverflow));
        Inject::Truncate.apply(&mut side);
        Inject::Status.apply(&mut side);
        assert_eq!((&side.output[..], side.end.status), (&b"ac"[..], Status::Ok));
    }
}
