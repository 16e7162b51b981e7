//! The reference interpreter over the IR: the oracle the tests hold the
//! compiled code to, and the way to run programs where there is no x86-64.
//!
//! It is written for obviousness, not speed: every access is bounds checked
//! and every operation does what `ir::Op` documents, nothing more.

use std::io::{self, Read, Write};
use std::ops::Range;

use crate::code::{Status, TapeFault};
use crate::host::{self, Buffering, IO_BUF_SIZE};
use crate::ir::{widen, Change, DivMod, EofMode, Op, Program, Shortcut};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished(Status),
    /// The step budget ran out first (for fuzzing: the program may not end).
    OutOfSteps,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub tape_cells: usize,
    /// Of those, the cells left of where the pointer starts (cell 0):
    /// cells -left_margin..-1 (`--left-margin`).
    pub left_margin: usize,
    pub eof: EofMode,
    /// At most this many instructions are executed.
    pub max_steps: Option<u64>,
    /// Bits of a cell: 8, 16 or 32 (`--cell-bits`).
    pub cell_bits: u32,
}

/// Runs `program`, reading `input` and writing `output` (buffered: the
/// buffer is flushed when full, before every read and at the end, as
/// compiled code does); dumps (`Op::Dump`) go to stderr.
pub fn run(program: &Program, config: &Config, input: &mut dyn Read, output: &mut dyn Write) -> Outcome {
    run_buffered(program, config, input, output, &mut io::stderr(), Buffering::Full)
}

/// `run`, with output buffered as `buffering` says (`Unbuffered`: each `.`
/// is written at once) and dumps written to `dumps`.
pub fn run_buffered(
    program: &Program,
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
    dumps: &mut dyn Write,
    buffering: Buffering,
) -> Outcome {
    run_located(program, config, input, output, dumps, buffering).0
}

/// `run_buffered`, and where a tape error happened: the cell, and the
/// source position of the instruction that touched it.
pub fn run_located(
    program: &Program,
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
    dumps: &mut dyn Write,
    buffering: Buffering,
) -> (Outcome, Option<TapeFault>) {
    let mut out = Output::with_window(output, buffering.window());
    out.dumps = Some(dumps);
    match config.cell_bits {
        8 => run_cells::<u8>(program, config, input, &mut out),
        16 => run_cells::<u16>(program, config, input, &mut out),
        _ => run_cells::<u32>(program, config, input, &mut out),
    }
}

/// `run_located` on cells of type `W`, writing to `out`.
fn run_cells<W: Word>(
    program: &Program,
    config: &Config,
    input: &mut dyn Read,
    out: &mut Output,
) -> (Outcome, Option<TapeFault>) {
    let mut machine = Machine::<W>::new(program, config);
    let outcome = match machine.execute(0..program.insts.len(), Some(input), out) {
        Stop::End => Outcome::Finished(Status::Ok),
        Stop::OutOfSteps => Outcome::OutOfSteps,
        Stop::Failed(status) => Outcome::Finished(status),
        Stop::Input => unreachable!("input was given"),
    };
    let fault =
        matches!(outcome, Outcome::Finished(Status::TapeUnderflow | Status::TapeOverflow)).then(|| machine.fault());
    let outcome = match (outcome, out.flush()) {
        (Outcome::Finished(Status::Ok), Err(status)) => Outcome::Finished(status),
        (outcome, _) => outcome,
    };
    (outcome, fault)
}

pub(crate) struct Output<'a> {
    buf: Vec<u8>,
    /// The buffer is written out once it holds this many bytes.
    window: usize,
    sink: &'a mut dyn Write,
    /// Where dumps go; None: execution stops before a dump (compile time).
    dumps: Option<&'a mut dyn Write>,
}

impl<'a> Output<'a> {
    pub(crate) fn new(sink: &'a mut dyn Write) -> Self {
        Output::with_window(sink, IO_BUF_SIZE)
    }

    fn with_window(sink: &'a mut dyn Write, window: usize) -> Self {
        Output { buf: Vec::with_capacity(window), window, sink, dumps: None }
    }

    pub(crate) fn flush(&mut self) -> Result<(), Status> {
        if !self.buf.is_empty() {
            let result = self.sink.write_all(&self.buf).and_then(|_| self.sink.flush());
            self.buf.clear();
            result.map_err(|e| host::write_failure(&e))?;
        }
        Ok(())
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), Status> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= self.window {
            self.flush()?;
        }
        Ok(())
    }
}

/// Why `Machine::execute` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ran to the end of the range.
    End,
    OutOfSteps,
    Failed(Status),
    /// Reached a `,` with no input given, or a dump with nowhere to write
    /// it (before executing it).
    Input,
}

/// The cells touched so far, each side of cell 0 growing as cells are
/// touched, so a huge `--tape-size` or `--left-margin` costs only what the
/// program uses. Cells are `W`: `u8`, `u16` or `u32` (`--cell-bits`), so
/// that the 8-bit machine is the one it was (measured in docs/dialects.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cells<W> {
    /// Cells 0, 1, 2...
    pub(crate) right: Vec<W>,
    /// Cells -1, -2, -3...
    pub(crate) left: Vec<W>,
}

/// A cell of 8, 16 or 32 bits: wrapping arithmetic at its width.
pub(crate) trait Word: Copy + Default + Eq + Into<u32> + 'static {
    /// The low bits of `v`: a value taken modulo 2^width.
    fn truncate(v: u32) -> Self;
    fn wrapping_add(self, other: Self) -> Self;
    fn wrapping_mul(self, other: Self) -> Self;
    /// An instruction's byte as a value of this width (`ir::widen`).
    #[inline]
    fn widen(val: u8) -> Self {
        Self::truncate(widen(val))
    }
}

macro_rules! word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            #[inline]
            fn truncate(v: u32) -> Self {
                v as $t
            }
            #[inline]
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
            #[inline]
            fn wrapping_mul(self, other: Self) -> Self {
                <$t>::wrapping_mul(self, other)
            }
        }
    )*};
}
word!(u8, u16, u32);

impl<W: Word> Cells<W> {
    /// The side that holds `cell`, and its index there.
    fn side(&self, cell: i64) -> (&Vec<W>, usize) {
        if cell >= 0 {
            (&self.right, cell as usize)
        } else {
            (&self.left, (-1 - cell) as usize)
        }
    }

    fn get(&self, cell: i64) -> W {
        let (side, i) = self.side(cell);
        side.get(i).copied().unwrap_or_default()
    }
}

/// The interpreter's state.
pub(crate) struct Machine<'p, W> {
    program: &'p Program,
    partner: Vec<usize>,
    pub(crate) tape: Cells<W>,
    /// The tape's cells by number: cell 0 is where the pointer starts.
    cells: std::ops::Range<i64>,
    /// The number of the cell the pointer is at.
    pub(crate) ptr: i64,
    eof: EofMode,
    pub(crate) steps_left: u64,
    /// Cells each side of the tape may grow to before execution gives up
    /// (as if out of steps): compile-time execution must not hold a huge
    /// tape.
    pub(crate) grow_limit: usize,
    /// The instruction being executed, and the last cell found off the
    /// tape: where a tape error happened.
    pc: usize,
    fault_cell: std::cell::Cell<i64>,
    /// Whether the scan at `pc` has moved (its later cells are touched at
    /// the instruction's `next_at`).
    scanned: bool,
    /// In a switch at `pc`: the command of the cell it touches.
    switch_at: Option<u32>,
}

impl<'p, W: Word> Machine<'p, W> {
    pub(crate) fn new(program: &'p Program, config: &Config) -> Self {
        Machine {
            program,
            partner: program.block_partners(),
            tape: Cells::default(),
            cells: {
                let first = -(config.left_margin as i64);
                first..first + config.tape_cells as i64
            },
            ptr: 0,
            eof: config.eof,
            steps_left: config.max_steps.unwrap_or(u64::MAX),
            grow_limit: usize::MAX,
            pc: 0,
            fault_cell: std::cell::Cell::new(0),
            scanned: false,
            switch_at: None,
        }
    }

    /// Where the tape error that stopped execution happened.
    fn fault(&self) -> TapeFault {
        let inst = self.program.insts[self.pc];
        let at = match inst.op {
            Op::Scan { .. } if self.scanned => inst.next_at,
            // It reads its source first.
            Op::AddMul { src, .. } if self.fault_cell.get() == self.ptr + src as i64 => inst.next_at,
            Op::Switch { .. } => self.switch_at.unwrap_or(inst.at),
            _ => inst.at,
        };
        TapeFault { cell: self.fault_cell.get(), at: Some(at) }
    }

    /// The number of the cell at `off`, if it is on the tape.
    fn index(&self, off: i32) -> Result<i64, Status> {
        let at = self.ptr + off as i64;
        if at < self.cells.start {
            self.fault_cell.set(at);
            Err(Status::TapeUnderflow)
        } else if at >= self.cells.end {
            self.fault_cell.set(at);
            Err(Status::TapeOverflow)
        } else {
            Ok(at)
        }
    }

    fn get(&self, off: i32) -> Result<W, Status> {
        Ok(self.tape.get(self.index(off)?))
    }

    fn cell(&mut self, off: i32) -> Result<&mut W, Fail> {
        let at = self.index(off)?;
        let (side, i, len) = match at {
            0.. => (&mut self.tape.right, at as usize, self.cells.end as usize),
            _ => (&mut self.tape.left, (-1 - at) as usize, -self.cells.start as usize),
        };
        if i >= side.len() {
            if i >= self.grow_limit {
                return Err(Fail::TapeTooBig);
            }
            let grown = (i + 1).max(2 * side.len()).min(len);
            side.resize(grown, W::default());
        }
        Ok(&mut side[i])
    }

    /// `Op::Dump`'s line: the pointer and the cells around it, those off
    /// the tape shown as such.
    fn dump_line(&self) -> String {
        host::dump_line(self.ptr, |cell| self.cells.contains(&cell).then(|| self.tape.get(cell).into()))
    }

    /// Whether a shortcut applies here: its cells on the tape, its zeros
    /// zero.
    fn shortcut_applies(&self, shortcut: &Shortcut) -> bool {
        let (lo, hi) = shortcut.reach;
        self.index(lo).is_ok()
            && self.index(hi).is_ok()
            && shortcut.zeros.iter().all(|&off| self.get(off) == Ok(W::default()))
    }

    /// A shortcut's divmod (`DivMod`) made, if it has one, where its
    /// closed form holds (its cells are on the tape: `shortcut_applies`);
    /// false where it does not, and the loop must run. Shortcuts are made
    /// at 8-bit cells only.
    fn divmod(&mut self, divmod: Option<DivMod>) -> Result<bool, Fail> {
        let Some(d) = divmod else { return Ok(true) };
        let byte = |m: &Self, off: i32| m.get(off).map(|v| Into::<u32>::into(v) as u8);
        let n = byte(self, 0)?;
        let Some((count, rest, restarts)) = DivMod::run(n, byte(self, d.count)?, byte(self, d.rest)?) else {
            return Ok(false);
        };
        *self.cell(0)? = W::default();
        if let Some(copy) = d.copy {
            let c = self.cell(copy)?;
            *c = c.wrapping_add(W::widen(n));
        }
        *self.cell(d.count)? = W::widen(count);
        *self.cell(d.rest)? = W::widen(rest);
        let q = self.cell(d.quotient)?;
        *q = q.wrapping_add(W::widen(restarts));
        Ok(true)
    }

    /// Runs the instructions of `range` (whole blocks). Without `input`,
    /// stops before the first `,`.
    pub(crate) fn execute(&mut self, range: Range<usize>, input: Option<&mut dyn Read>, out: &mut Output) -> Stop {
        match self.execute_inner(range, input, out) {
            Ok(true) => Stop::End,
            Ok(false) => Stop::OutOfSteps,
            Err(Fail::Status(status)) => Stop::Failed(status),
            Err(Fail::Input) => Stop::Input,
            Err(Fail::TapeTooBig) => Stop::OutOfSteps,
        }
    }

    /// Ok(false) when the step budget ran out.
    fn execute_inner(
        &mut self,
        range: Range<usize>,
        mut input: Option<&mut dyn Read>,
        out: &mut Output,
    ) -> Result<bool, Fail> {
        let insts = &self.program.insts;
        let mut pc = range.start;
        while pc < range.end {
            if self.steps_left == 0 {
                return Ok(false);
            }
            self.steps_left -= 1;
            self.pc = pc;
            self.switch_at = None;
            match insts[pc].op {
                Op::Add { off, val } => {
                    let c = self.cell(off)?;
                    *c = c.wrapping_add(W::widen(val));
                }
                Op::Set { off, val } => *self.cell(off)? = W::widen(val),
                Op::AddMul { off, src, factor, if_nonzero } => {
                    let source = self.get(src)?;
                    if !(if_nonzero && source == W::default()) {
                        let c = self.cell(off)?;
                        *c = c.wrapping_add(source.wrapping_mul(W::widen(factor)));
                    }
                }
                Op::Move(d) => self.ptr += d as i64,
                Op::Out { off } => {
                    // The low byte.
                    let v = self.get(off)?.into() as u8;
                    out.push(&[v])?;
                }
                Op::In { off } => {
                    let Some(input) = input.as_deref_mut() else { return Err(Fail::Input) };
                    // Touched before reading, as compiled code does.
                    self.index(off)?;
                    out.flush()?;
                    let mut byte = [0u8];
                    let got = loop {
                        match input.read(&mut byte) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(_) => return Err(Status::ReadError.into()),
                        }
                    };
                    let eof = self.eof;
                    let c = self.cell(off)?;
                    match (got, eof) {
                        (1, _) => *c = W::truncate(byte[0] as u32),
                        (_, EofMode::Unchanged) => {}
                        (_, EofMode::Zero) => *c = W::default(),
                        (_, EofMode::MinusOne) => *c = W::truncate(u32::MAX),
                    }
                }
                Op::Loop { off } | Op::If { off } => {
                    if self.get(off)? == W::default() {
                        pc = self.partner[pc];
                    }
                }
                Op::EndLoop => {
                    let Op::Loop { off } = insts[self.partner[pc]].op else { unreachable!("EndLoop closes a Loop") };
                    if self.get(off)? != W::default() {
                        pc = self.partner[pc];
                    }
                }
                Op::EndIf | Op::EndShortcut => {}
                Op::Shortcut { start } => {
                    let shortcut = self.program.shortcut(start);
                    if self.shortcut_applies(&shortcut) && self.divmod(shortcut.divmod)? {
                        for (off, change) in shortcut.changes {
                            let c = self.cell(off)?;
                            *c = match change {
                                Change::Set(v) => W::widen(v),
                                Change::Add(v) => c.wrapping_add(W::widen(v)),
                            };
                        }
                        self.ptr += shortcut.delta as i64;
                        pc = self.partner[pc];
                    }
                }
                Op::Scan { stride, value } => {
                    self.scanned = false;
                    while self.get(0)? != W::widen(value) {
                        if self.steps_left == 0 {
                            return Ok(false);
                        }
                        self.steps_left -= 1;
                        self.ptr += stride as i64;
                        self.scanned = true;
                    }
                }
                Op::Print { start, len } => {
                    out.push(&self.program.data[start as usize..(start + len) as usize])?;
                }
                Op::Dump => {
                    if out.dumps.is_none() {
                        return Err(Fail::Input);
                    }
                    // Stdout first, so that on a terminal the two come in
                    // program order; a dump that cannot be written is lost,
                    // as a diagnostic would be.
                    out.flush()?;
                    let line = self.dump_line();
                    if let Some(dumps) = out.dumps.as_deref_mut() {
                        let _ = dumps.write_all(line.as_bytes()).and_then(|_| dumps.flush());
                    }
                }
                Op::Switch { src, start, cells } => {
                    // Made at 8 bits only (`opt::passes`): tables of bytes.
                    let v = self.get(src)?.into() as usize;
                    let program = self.program;
                    for cell in program.switch_cells(start, cells).filter(|cell| cell.touch[v] != 0) {
                        self.switch_at = Some(cell.at);
                        let c = self.cell(cell.off)?;
                        *c = W::truncate(((*c).into() & cell.keep[v] as u32).wrapping_add(cell.add[v] as u32));
                    }
                }
            }
            pc += 1;
        }
        Ok(true)
    }
}

/// Why execution left `execute_inner` early.
enum Fail {
    Status(Status),
    Input,
    /// Past `Machine::grow_limit`.
    TapeTooBig,
}

impl From<Status> for Fail {
    fn from(status: Status) -> Self {
        Fail::Status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn run_src(src: &[u8], input: &[u8], eof: EofMode, cells: usize) -> (Outcome, Vec<u8>) {
        let p = parse("t.b", src).unwrap();
        let mut out = Vec::new();
        let cfg = Config { tape_cells: cells, left_margin: 0, eof, max_steps: Some(10_000_000), cell_bits: 8 };
        let outcome = run(&p, &cfg, &mut &input[..], &mut out);
        (outcome, out)
    }

    #[test]
    fn hello() {
        let src = b"++++++++[>++++++++<-]>+.+.";
        assert_eq!(run_src(src, b"", EofMode::Unchanged, 16), (Outcome::Finished(Status::Ok), b"AB".to_vec()));
    }

    #[test]
    fn cells_wrap() {
        let (_, out) = run_src(b"-.+.", b"", EofMode::Unchanged, 1);
        assert_eq!(out, vec![255, 0]);
    }

    #[test]
    fn eof_modes() {
        let src = b"+,.,.";
        assert_eq!(run_src(src, b"a", EofMode::Unchanged, 1).1, b"aa");
        assert_eq!(run_src(src, b"a", EofMode::Zero, 1).1, b"a\0");
        assert_eq!(run_src(src, b"a", EofMode::MinusOne, 1).1, b"a\xff");
    }

    #[test]
    fn touching_outside_the_tape_is_an_error_moving_is_not() {
        assert_eq!(run_src(b"+.<+", b"", EofMode::Unchanged, 4), (Outcome::Finished(Status::TapeUnderflow), vec![1]));
        assert_eq!(run_src(b">>>>+", b"", EofMode::Unchanged, 4).0, Outcome::Finished(Status::TapeOverflow));
        assert_eq!(run_src(b"<<>>+", b"", EofMode::Unchanged, 4).0, Outcome::Finished(Status::Ok));
    }

    #[test]
    fn a_multiply_fails_at_its_source_read_or_at_its_target() {
        use crate::ir::Inst;
        let fault = |mul: Inst| {
            let p = Program { insts: vec![mul], data: vec![] };
            let cfg = Config { tape_cells: 4, left_margin: 0, eof: EofMode::Zero, max_steps: None, cell_bits: 8 };
            let mut out = Vec::new();
            run_located(&p, &cfg, &mut &b""[..], &mut out, &mut Vec::new(), Buffering::Full).1
        };
        // Read at 2, written at 5.
        assert_eq!(fault(Inst::multiply(1, -1, 3, 5, 2)), Some(TapeFault { cell: -1, at: Some(2) }));
        assert_eq!(fault(Inst::multiply(-1, 1, 3, 5, 2)), Some(TapeFault { cell: -1, at: Some(5) }));
        // Both off: the source is read first.
        assert_eq!(fault(Inst::multiply(4, -1, 3, 5, 2)), Some(TapeFault { cell: -1, at: Some(2) }));
        // `if_nonzero`: a zero source touches no target; another one does.
        let if_nonzero = |src_value: u8| {
            let mul = Inst::multiply(-1, 1, 3, 5, 2).if_nonzero();
            let set = Inst::new(Op::Set { off: 1, val: src_value }, 0);
            let p = Program { insts: vec![set, mul], data: vec![] };
            let cfg = Config { tape_cells: 4, left_margin: 0, eof: EofMode::Zero, max_steps: None, cell_bits: 8 };
            run_located(&p, &cfg, &mut &b""[..], &mut Vec::new(), &mut Vec::new(), Buffering::Full)
        };
        assert_eq!(if_nonzero(0), (Outcome::Finished(Status::Ok), None));
        assert_eq!(if_nonzero(1).1, Some(TapeFault { cell: -1, at: Some(5) }));
    }

    #[test]
    fn a_left_margin_puts_cells_left_of_cell_0_on_the_tape() {
        let run = |src: &[u8], margin| {
            let p = parse("t.b", src).unwrap();
            let cfg = Config {
                tape_cells: 4 + margin,
                left_margin: margin,
                eof: EofMode::Zero,
                max_steps: Some(1000),
                cell_bits: 8,
            };
            let mut out = Vec::new();
            (run(&p, &cfg, &mut &b""[..], &mut out), out)
        };
        assert_eq!(run(b"<<+.>>++.<<.", 2), (Outcome::Finished(Status::Ok), vec![1, 2, 1]));
        assert_eq!(run(b"<<<+", 2).0, Outcome::Finished(Status::TapeUnderflow));
        assert_eq!(run(b"<<>>>>>>+", 2).0, Outcome::Finished(Status::TapeOverflow));
    }

    #[test]
    fn dumps_come_after_the_output_before_them() {
        let p = crate::parse::parse_syntax("t.b", b"+.#<<#", crate::parse::Syntax { hash_dump: true }).unwrap();
        let cfg = Config { tape_cells: 3, left_margin: 1, eof: EofMode::Zero, max_steps: None, cell_bits: 8 };
        let (mut out, mut dumps) = (Vec::new(), Vec::new());
        let outcome = run_buffered(&p, &cfg, &mut &b""[..], &mut out, &mut dumps, Buffering::Full);
        assert_eq!((outcome, out), (Outcome::Finished(Status::Ok), vec![1]));
        let dumps = String::from_utf8(dumps).unwrap();
        assert_eq!(
            dumps,
            "# ptr 0: [-4] -- -- -- 0 >1< 0 -- -- -- -- -- -- -- -- -- --\n\
             # ptr -2: [-6] -- -- -- -- >--< 0 1 0 -- -- -- -- -- -- -- --\n"
        );
    }

    #[test]
    fn step_budget_stops_endless_loops() {
        assert_eq!(run_src(b"+[]", b"", EofMode::Unchanged, 1).0, Outcome::OutOfSteps);
    }
}
