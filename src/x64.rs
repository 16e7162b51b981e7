//! IR -> x86-64 machine code (System V), with dynasm. Nothing else.
//!
//! The code is position independent and holds no absolute address: it
//! reaches the host only through the `bf_runtime` table it is given (see
//! `code.rs` and `runtime-c/bfrt.h`), so the same bytes run in the JIT and
//! in an object file.
//!
//! Register roles, for the whole function:
//!   rbx  data pointer (address of the current cell)
//!   r12  the runtime table
//!   r13  output cursor: where the next `.` byte goes
//!   r14  end of the output buffer
//!   r15  cell 0 (for explicit bounds checks)
//!   rbp  frame pointer: exits and the fault handler restore rsp from it
//! and, where they are live (never across a call into the runtime):
//!   rsi, rdi, r8-r11  the cells of a loop that runs in registers
//!   r11  where a scan started, for the scan back (`scan_return`)
//!   eax, ecx, edx     scratch
//!
//! Tape errors: the host surrounds the tape with `GUARD_BYTES` of
//! inaccessible memory, so an access that lands there faults and the host's
//! handler resumes at `fault_resume` with the status in eax. Accesses that
//! could land beyond the guard area, and every access when the tape size is
//! not page aligned (`checked`), are compared with the tape bounds instead.

use dynasmrt::x64::{Rq, X64Relocation};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use crate::code::{rt_offset as rt, CompiledCode, Status, GUARD_BYTES, READ_EOF, TAPE_ALIGN};
use crate::ir::{EofMode, Inst, Op, Program, SwitchCell};

/// What the generated code must know about the run it will serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub eof: EofMode,
    /// Check every tape access explicitly instead of relying on guard pages.
    pub checked: bool,
}

impl Target {
    pub fn new(eof: EofMode, tape_cells: usize) -> Target {
        Target { eof, checked: !tape_cells.is_multiple_of(TAPE_ALIGN) }
    }
}

type Asm = VecAssembler<X64Relocation>;

/// Emits with the register roles named.
macro_rules! asm {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops
            ; .arch x64
            ; .alias a_ptr, rbx
            ; .alias a_rt, r12
            ; .alias a_out, r13
            ; .alias a_out_end, r14
            ; .alias a_tape, r15
            // Where a scan started, while a later scan back can use it (see
            // `scan_return`): caller-saved; nothing between the two uses it.
            ; .alias a_scan_start, r11
            // In a carry loop: the pointer values from which its switch's
            // last cell is past the tape's end, and below which its first
            // cell is before the tape's start (see `emit_carry_loop`).
            ; .alias a_switch_end, r8
            ; .alias a_switch_start, r9
            ; $($t)*
        )
    };
}

/// Cells a strided scan tests per loop iteration.
const SCAN_UNROLL: usize = 4;

/// Stack slot (below the saved registers) holding the status while the
/// exit path flushes output.
const STATUS_SLOT: i32 = -48;

/// Compiles `program` for `target`.
pub fn compile(program: &Program, target: Target) -> CompiledCode {
    compile_marked(program, target).0
}

/// Compiles `program` for `target`, and tells where in the code each
/// instruction of the program starts (the first copy, where the code
/// generator makes two), for listings.
pub fn compile_marked(program: &Program, target: Target) -> (CompiledCode, Vec<usize>) {
    let mut gen = Gen {
        ops: Asm::new(0),
        target,
        unchecked_shift: 0,
        blocks: Vec::new(),
        in_eax: EaxCells::NONE,
        zf_cell: None,
        scan_return: None,
    };
    gen.prologue();
    let partner = program.block_partners();
    let mut starts = Vec::with_capacity(program.insts.len());
    let mut i = 0;
    while i < program.insts.len() {
        let op = program.insts[i].op;
        starts.push(gen.ops.offset().0);
        if let Some((test, switch, stride)) = carry_loop(program, i) {
            gen.in_eax = EaxCells::NONE;
            gen.zf_cell = None;
            starts.extend(gen.emit_carry_loop(test, switch, stride, program));
            i += 4;
            continue;
        }
        if let Op::Loop { off } = op {
            let body = &program.insts[i + 1..partner[i]];
            if let Some(cells) = register_loop(body, off).filter(|_| !gen.target.checked) {
                gen.emit_register_loop(off, body, &cells, program, &mut starts);
                i = partner[i] + 1;
                continue;
            }
            if is_small_inner_loop(body) {
                let carried = gen.carried_in_eax(off, body, program);
                gen.open_loop(off, carried);
                // Two copies of the body per iteration, the loop tested
                // between them: one taken branch for two iterations.
                gen.straight(body, program, &mut starts);
                gen.exit_if_zero(off);
                gen.straight(body, program, &mut Vec::new());
                if let Some(cell) = carried.filter(|&cell| !gen.in_eax.holds(cell)) {
                    // Not where the body was expected to leave it.
                    gen.touch(cell);
                    gen.cell(CellInst::MovzxEax, cell);
                    gen.zf_cell = None;
                }
                i = partner[i];
                continue;
            }
        }
        if let Op::Scan { stride } = op {
            match gen.scan_return.take() {
                Some(back) if back.at == i => gen.resume_scan(stride, back.compare),
                _ => {
                    gen.scan_return = scan_return(program, i);
                    if gen.scan_return.is_some() {
                        asm!(gen.ops; mov a_scan_start, a_ptr);
                    }
                }
            }
        }
        let done = gen.op_or_fused(&program.insts[i..], program);
        starts.extend(std::iter::repeat_n(gen.ops.offset().0, done - 1));
        i += done;
    }
    gen.epilogue(&program.data);
    let bytes = gen.ops.finalize().expect("all labels are defined");
    (CompiledCode { bytes, entry: 0 }, starts)
}

/// `Loop`, `Switch`, `Move`, `EndLoop` at `i`, where the switch updates
/// the cell the next iteration switches on: (tested cell, switch, stride).
fn carry_loop(program: &Program, i: usize) -> Option<(i32, Op, i32)> {
    let [Op::Loop { off: test }, switch @ Op::Switch { src, start, cells }, Op::Move(stride), Op::EndLoop] =
        program.insts.get(i..i + 4)?.iter().map(|inst| inst.op).collect::<Vec<_>>()[..]
    else {
        return None;
    };
    program.switch_cells(start, cells).any(|cell| cell.off == src + stride).then_some((test, switch, stride))
}

/// A scan back to where a scan started (`[>>>]` ... `[<<<]`): the first
/// scan passed only non-zero cells from where it started to the zero it
/// stopped at, so the second need not pass them again.
#[derive(Clone, Copy)]
struct ScanReturn {
    /// Index of the scan back.
    at: usize,
    /// Whether it may start behind where the first scan started, where it
    /// knows nothing (the pointer is compared with that start at run time).
    compare: bool,
}

/// For the scan at `i`, the later scan back along the same cells that can
/// skip what this one passed: `[>>>]` (stops at Z, having passed only
/// non-zero cells from where it started, P), straight-line code that moves
/// the pointer to L and writes no cell the way back passes between L and
/// P, except to set it non-zero, then `[<<<]`. From L at or after P, that
/// scan passes the same non-zero cells and goes on from the one before P;
/// so it jumps there. Cells from Z on are not known: those between Z and L
/// the code must set non-zero. No I/O in between: it may call the runtime,
/// which may change the register that holds P.
fn scan_return(program: &Program, i: usize) -> Option<ScanReturn> {
    let Op::Scan { stride } = program.insts[i].op else { return None };
    let (dir, step) = (stride.signum() as i64, stride.unsigned_abs() as i64);
    // Offsets from Z, counted along the first scan's direction: the last
    // write to each, and whether it set a non-zero value.
    let mut written: Vec<(i64, bool)> = Vec::new();
    let mut moved = 0i64;
    for (j, inst) in program.insts.iter().enumerate().skip(i + 1) {
        match inst.op {
            Op::Move(d) => moved += d as i64 * dir,
            Op::Set { off, val } => written.push((moved + off as i64 * dir, val != 0)),
            Op::Add { val: 0, .. } => {}
            Op::Add { off, .. } | Op::AddMul { off, .. } => written.push((moved + off as i64 * dir, false)),
            // L is `moved` from Z; the way back passes L, L - step, ...:
            // the cells the first scan passed if `moved` is a whole number
            // of steps.
            Op::Scan { stride: back } if back == -stride && moved.rem_euclid(step) == 0 => {
                let passed = |u: i64| u <= moved && u.rem_euclid(step) == 0;
                let last_write = |u: i64| written.iter().rev().find(|w| w.0 == u).map(|w| w.1);
                let spoiled = written.iter().any(|&(u, _)| passed(u) && last_write(u) == Some(false));
                // From Z to L, every cell passed must be set non-zero.
                let unknown = (0..=moved).filter(|&u| passed(u)).any(|u| last_write(u) != Some(true));
                return (!spoiled && !unknown).then_some(ScanReturn { at: j, compare: moved < 0 });
            }
            _ => return None,
        }
    }
    None
}

/// Registers a run of arithmetic keeps its cells in (see `run_registers`):
/// caller-saved, and used by nothing else in straight-line code (r11 holds
/// where a scan started, for a scan back after such code).
const RUN_REGS: [Rq; 5] = [Rq::RSI, Rq::RDI, Rq::R8, Rq::R9, Rq::R10];

/// Instructions of a run that `run_registers` looks at: a longer run is
/// taken in pieces (runs that long are rare, and not in loops).
const RUN_MAX: usize = 32;

/// The run of adds, sets and multiplies `insts` starts with (at most
/// `RUN_MAX` of them), if some of its cells are worth keeping in
/// registers: those read after the run computed them (mandelbrot's `[p]`
/// in `[p] -= 1; [p] += [p+2]; [p+2] = [p]; [p+3] += [p]; [p] = 1`), which
/// in memory would each be a store and a load of what it stored, a
/// store-to-load forward on the way. (A cell the run only set is a known
/// constant, and a multiply into a cell just cleared stores the product:
/// neither reads it back.) Returns the run's length and those cells (at
/// most `RUN_REGS.len()`, the first found).
///
/// A cell in a register is loaded at its first read and stored at the run's
/// end: one first set is touched only then, after cells the run touches
/// later. That is the same error if its cells are closer than the smallest
/// tape (the run has no I/O).
fn run_registers(insts: &[Inst]) -> Option<(usize, RunCells)> {
    let is_arithmetic = |inst: &Inst| matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. });
    let len = insts.iter().take(RUN_MAX).take_while(|inst| is_arithmetic(inst)).count();
    // The cells written so far, each with whether its value was computed
    // (not just set).
    let mut written = [(0, false); RUN_MAX];
    let mut hot = RunCells { cells: [0; RUN_REGS.len()], len: 0 };
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for (k, inst) in insts[..len].iter().enumerate() {
        // The cell's last write in the run: whether it computed the value.
        let last_write = |cell: i32| written[..k].iter().rev().find(|w| w.0 == cell).map(|w| w.1);
        let computed = |cell: i32| last_write(cell) == Some(true);
        let (target, reads) = match inst.op {
            Op::Add { off, .. } => (off, [Some(off), None]),
            Op::Set { off, .. } => (off, [None, None]),
            Op::AddMul { off, src, .. } => (off, [Some(off), Some(src)]),
            _ => unreachable!("a run of arithmetic"),
        };
        for cell in reads.into_iter().flatten() {
            if computed(cell) && !hot.get().contains(&cell) && hot.len < RUN_REGS.len() {
                hot.cells[hot.len] = cell;
                hot.len += 1;
            }
        }
        for cell in inst.op.cells() {
            (lo, hi) = (lo.min(cell), hi.max(cell));
        }
        // A set makes a constant, and so does an add to one; an add to a
        // cell from the tape, or a multiply, computes a value.
        let constant = match inst.op {
            Op::Set { .. } => true,
            Op::Add { .. } => last_write(target) == Some(false),
            _ => false,
        };
        written[k] = (target, !constant);
    }
    (hot.len > 0 && hi.abs_diff(lo) < TAPE_ALIGN as u32).then_some((len, hot))
}

/// What holds the value of a run's cell kept in a register.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Not read yet: the tape.
    Memory,
    /// The register.
    Register,
    /// This constant, not yet in the register.
    Constant(u8),
}

/// The cells of a run kept in registers, in `RUN_REGS`'s order.
struct RunCells {
    cells: [i32; RUN_REGS.len()],
    len: usize,
}

impl RunCells {
    fn get(&self) -> &[i32] {
        &self.cells[..self.len]
    }
}

/// Registers a register loop keeps its cells in: caller-saved, and used by
/// nothing else inside such a loop.
const CELL_REGS: [Rq; 6] = [Rq::RSI, Rq::RDI, Rq::R8, Rq::R9, Rq::R10, Rq::R11];

/// The cells (sorted) that a loop keeps in registers, if it can: an
/// innermost loop that does not move the pointer, with only adds, sets,
/// multiplies and ifs inside. Those cells are loaded before the first
/// iteration and stored after the last, instead of each iteration going
/// through memory (prime8's modulo loop: a chain of stores and loads of the
/// same cells); the loop's other cells stay in memory.
///
/// Loading a cell that the loop touches only on some paths touches it
/// earlier than the loop would, and maybe where it never would; so a cell
/// is kept in a register only if it lies between two cells the first
/// iteration touches on every path (the counter, and what is outside any
/// `If`): then if it is off the tape one of those is too, on the same side
/// (they are closer than the smallest tape), and the loop stops with the
/// same error, having printed nothing in between.
fn register_loop(body: &[Inst], counter: i32) -> Option<Vec<i32>> {
    let mut cells = vec![counter];
    let (mut lo, mut hi) = (counter, counter);
    let mut depth = 0;
    for inst in body {
        let op = inst.op;
        match op {
            Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } => {
                let test = match op {
                    Op::If { off } => Some(off),
                    _ => None,
                };
                for off in op.cells().chain(test) {
                    if depth == 0 {
                        (lo, hi) = (lo.min(off), hi.max(off));
                    }
                    cells.push(off);
                }
                if op.opens() {
                    depth += 1;
                }
            }
            Op::EndIf => depth -= 1,
            _ => return None,
        }
    }
    cells.sort_unstable();
    cells.dedup();
    cells.retain(|off| (lo..=hi).contains(off));
    // With more than there are registers, the counter and the cells
    // nearest it.
    cells.sort_unstable_by_key(|&off| (off != counter, off.abs_diff(counter), off));
    cells.truncate(CELL_REGS.len());
    cells.sort_unstable();
    (hi.abs_diff(lo) < TAPE_ALIGN as u32).then_some(cells)
}

/// Innermost loops this short are unrolled once.
const UNROLL_MAX_BODY: usize = 12;

fn is_small_inner_loop(body: &[Inst]) -> bool {
    body.len() <= UNROLL_MAX_BODY
        && body.iter().all(|i| !matches!(i.op, Op::Loop { .. } | Op::Scan { .. } | Op::In { .. }))
}

struct Gen {
    ops: Asm,
    target: Target,
    /// Upper bound of the distance between the data pointer and the last
    /// cell known to be on the tape (the last one touched). Accesses within
    /// `GUARD_BYTES` of such a cell fault if off the tape; others are checked.
    unchecked_shift: u64,
    /// The open loops and ifs.
    blocks: Vec<Block>,
    /// The cells whose value eax holds (zero-extended).
    in_eax: EaxCells,
    /// The cell whose new value the zero flag reflects (the last
    /// instruction added to it), if any.
    zf_cell: Option<i32>,
    /// The scan back of the last scan, if it can skip what that one passed.
    scan_return: Option<ScanReturn>,
}

/// The cells whose value eax holds (zero-extended): one loaded, or both
/// cells of a copy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct EaxCells([Option<i32>; 2]);

impl EaxCells {
    const NONE: EaxCells = EaxCells([None, None]);

    fn only(cell: i32) -> EaxCells {
        EaxCells([Some(cell), None])
    }

    fn holds(&self, cell: i32) -> bool {
        self.0.contains(&Some(cell))
    }

    /// The cell was written: eax no longer holds it.
    fn forget(&mut self, cell: i32) {
        self.0.iter_mut().filter(|held| **held == Some(cell)).for_each(|held| *held = None);
    }

    /// The pointer moved by `delta`: the same cells, at new offsets.
    fn shift(&mut self, delta: i32) {
        self.0.iter_mut().flatten().for_each(|cell| *cell -= delta);
    }
}

/// An open loop or if.
struct Block {
    /// Start of the body.
    top: DynamicLabel,
    /// After the block.
    exit: DynamicLabel,
    /// The cell it tests.
    off: i32,
}

impl Gen {
    fn prologue(&mut self) {
        asm!(self.ops;
            ->code_start:
            ; push rbp
            ; mov rbp, rsp
            ; push rbx
            ; push r12
            ; push r13
            ; push r14
            ; push r15
            ; sub rsp, 8 // status slot; keeps rsp 16-byte aligned for calls
            ; mov a_ptr, rdi
            ; mov a_rt, rsi
            ; mov a_out, [a_rt + rt::OUT_BUF]
            ; mov a_out_end, [a_rt + rt::OUT_END]
            ; mov a_tape, [a_rt + rt::TAPE_START]
            ; lea rax, [->code_start]
            ; mov [a_rt + rt::CODE_START], rax
            ; lea rax, [->code_end]
            ; mov [a_rt + rt::CODE_END], rax
            ; lea rax, [->fault_resume]
            ; mov [a_rt + rt::FAULT_RESUME], rax
        );
    }

    fn epilogue(&mut self, data: &[u8]) {
        let read_error = Status::ReadError as i32;
        let underflow = Status::TapeUnderflow as i32;
        let overflow = Status::TapeOverflow as i32;
        asm!(self.ops;
            xor eax, eax
            // The host's fault handler resumes here with the status in eax.
            ; ->fault_resume:
            // eax: the status to return. Output is flushed whatever it is.
            ; ->exit:
            ; lea rsp, [rbp + STATUS_SLOT]
            ; mov [rbp + STATUS_SLOT], eax
            ; call ->flush
            ; mov ecx, [rbp + STATUS_SLOT]
            ; test ecx, ecx
            ; cmovnz eax, ecx // the first failure wins over a flush error
            ; lea rsp, [rbp - 40]
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbx
            ; pop rbp
            ; ret

            // Writes out the buffer; eax = status. Called with rsp aligned,
            // so the pushed return address is re-aligned by the sub.
            ; ->flush:
            ; xor eax, eax
            ; mov rsi, [a_rt + rt::OUT_BUF]
            ; mov rdx, a_out
            ; sub rdx, rsi
            ; jz >done
            ; sub rsp, 8
            ; mov rdi, a_rt
            ; call QWORD [a_rt + rt::WRITE]
            ; add rsp, 8
            ; mov a_out, [a_rt + rt::OUT_BUF]
            ; done:
            ; ret

            // Flushes, then reads a byte; eax = byte, READ_EOF or failure.
            ; ->read:
            ; call ->flush
            ; test eax, eax
            ; jnz >failed
            ; sub rsp, 8
            ; mov rdi, a_rt
            ; call QWORD [a_rt + rt::READ]
            ; add rsp, 8
            ; ret
            ; failed:
            ; add rsp, 8 // drop the return address: leave from here
            ; jmp ->exit

            ; ->read_error:
            ; mov eax, read_error
            ; jmp ->exit
            ; ->underflow:
            ; mov eax, underflow
            ; jmp ->exit
            ; ->overflow:
            ; mov eax, overflow
            ; jmp ->exit
            ; ->code_end:
            ; ->data:
        );
        self.ops.extend(data.iter().copied());
    }

    /// Makes sure an access to `[a_ptr + off]` faults or fails when it is
    /// off the tape; afterwards that cell is known to be on the tape.
    fn touch(&mut self, off: i32) {
        self.touch_within(off, self.unchecked_shift + off.unsigned_abs() as u64);
    }

    /// `touch`, for a cell `distance` from one known to be on the tape.
    fn touch_within(&mut self, off: i32, distance: u64) {
        if self.target.checked || distance >= GUARD_BYTES as u64 {
            // rdx: eax may hold a cell value (`in_eax`).
            asm!(self.ops;
                lea rdx, [a_ptr + off]
                ; cmp rdx, a_tape
                ; jb ->underflow
                ; cmp rdx, [a_rt + rt::TAPE_END]
                ; jae ->overflow
            );
        }
        // The access itself (or the check) ties the pointer to a tape cell
        // within |off| of it.
        self.unchecked_shift = off.unsigned_abs() as u64;
    }

    /// `insts`, in order (a loop body's straight-line run), noting where
    /// each starts in `starts`.
    fn straight(&mut self, insts: &[Inst], program: &Program, starts: &mut Vec<usize>) {
        let mut i = 0;
        while i < insts.len() {
            starts.push(self.ops.offset().0);
            let done = self.op_or_fused(&insts[i..], program);
            starts.extend(std::iter::repeat_n(self.ops.offset().0, done - 1));
            i += done;
        }
    }

    /// The first of `insts`, or several as one where they make one: a run
    /// of arithmetic with cells in registers (`run_registers`), or `set [t]
    /// = 0` then `mul [t] += [s] * k`, which stores the product (no load of
    /// the cell just cleared). Returns how many it took.
    fn op_or_fused(&mut self, insts: &[Inst], program: &Program) -> usize {
        if !self.target.checked {
            if let Some((len, cells)) = run_registers(insts) {
                self.emit_register_run(&insts[..len], cells.get(), program);
                // The instruction after the run may read a cell it kept in
                // a register: eax takes it from there, not from the store
                // just made.
                let read_next = match insts.get(len).map(|inst| inst.op) {
                    Some(Op::If { off }) => Some(off),
                    Some(Op::AddMul { src, .. }) => Some(src),
                    _ => None,
                };
                if let Some(k) = read_next.and_then(|off| cells.get().iter().position(|&cell| cell == off)) {
                    asm!(self.ops; mov eax, Rd(RUN_REGS[k]));
                    self.in_eax = EaxCells::only(cells.get()[k]);
                }
                return len;
            }
        }
        self.copy_or_op(insts, program)
    }

    /// `set [t] = 0` then `mul [t] += [s] * k` as one (see `op_or_fused`), or
    /// the first of `insts`. Returns how many it took.
    fn copy_or_op(&mut self, insts: &[Inst], program: &Program) -> usize {
        if let [Inst { op: Op::Set { off: target, val: 0 }, .. }, Inst { op: Op::AddMul { off, src, factor }, .. }, ..] =
            *insts
        {
            // The order of the two accesses decides the error only if both
            // cells are off the tape, at opposite ends: checked code checks
            // the cleared cell first, as before; guarded code reads first,
            // which is the same when the cells are closer than the smallest
            // guarded tape.
            if off == target && src != off && (self.target.checked || off.abs_diff(src) < TAPE_ALIGN as u32) {
                self.zf_cell = None;
                self.touch(target);
                self.touch(src);
                if !self.in_eax.holds(src) {
                    self.cell(CellInst::MovzxEax, src);
                }
                self.in_eax = match factor {
                    1 => {
                        self.cell(CellInst::StoreAl, target);
                        EaxCells([Some(src), Some(target)])
                    }
                    _ => {
                        self.multiply_eax_into_ecx(factor);
                        self.cell(CellInst::StoreCl, target);
                        EaxCells::only(src)
                    }
                };
                return 2;
            }
        }
        self.op(insts[0].op, program);
        1
    }

    fn op(&mut self, op: Op, program: &Program) {
        match op {
            Op::AddMul { .. } | Op::Move(_) | Op::If { .. } => {}
            Op::Add { off, .. } | Op::Set { off, .. } => self.in_eax.forget(off),
            _ => self.in_eax = EaxCells::NONE,
        }
        let zf_cell = self.zf_cell.take();
        match op {
            Op::Add { off, val: 0 } => {
                // Changes nothing but must fail off the tape.
                self.touch(off);
                if !self.target.checked {
                    self.cell(CellInst::CmpZero, off);
                }
            }
            Op::Add { off, val } => {
                self.touch(off);
                self.cell(CellInst::AddImm(val), off);
                self.zf_cell = Some(off);
            }
            Op::Set { off, val } => {
                self.touch(off);
                self.cell(CellInst::MovImm(val), off);
            }
            Op::AddMul { off, src, factor } => {
                self.touch(src);
                if !self.in_eax.holds(src) {
                    self.cell(CellInst::MovzxEax, src);
                    self.in_eax = EaxCells::only(src);
                }
                self.touch(off);
                match factor {
                    1 => self.cell(CellInst::AddAl, off),
                    255 => self.cell(CellInst::SubAl, off),
                    _ => {
                        self.multiply_eax_into_ecx(factor);
                        self.cell(CellInst::AddCl, off);
                    }
                }
                // eax still holds cell[src], unless src was the target.
                self.in_eax.forget(off);
            }
            Op::Move(delta) => {
                self.move_ptr(delta);
                self.unchecked_shift += delta.unsigned_abs() as u64;
                // The cell eax holds, now seen from the new position.
                self.in_eax.shift(delta);
            }
            Op::Out { off } => {
                self.touch(off);
                self.cell(CellInst::LoadAl, off);
                self.emit_output_al();
            }
            Op::Print { start, len } => self.emit_print(&program.data[start as usize..(start + len) as usize], start),
            Op::In { off } => self.emit_input(off),
            Op::Loop { off } => self.open_loop(off, None),
            Op::If { off } => {
                let top = self.ops.new_dynamic_label();
                let exit = self.ops.new_dynamic_label();
                // The value stays in eax: a multiply loop's body reads it.
                if !self.in_eax.holds(off) {
                    self.touch(off);
                    self.cell(CellInst::MovzxEax, off);
                }
                asm!(self.ops
                    ; test eax, eax
                    ; jz =>exit
                );
                self.in_eax = EaxCells::only(off);
                self.blocks.push(Block { top, exit, off });
            }
            Op::EndLoop => {
                let Block { top, exit, off } = self.blocks.pop().expect("balanced IR");
                // Tested at the bottom: one jump per iteration. When the body
                // ended by adding to the tested cell, the add set the flags.
                if zf_cell == Some(off) {
                    asm!(self.ops; jne =>top; =>exit);
                } else {
                    self.touch(off);
                    self.cell(CellInst::CmpZero, off);
                    asm!(self.ops
                        ; jne =>top
                        ; =>exit
                    );
                }
            }
            Op::EndIf => {
                let Block { exit, .. } = self.blocks.pop().expect("balanced IR");
                asm!(self.ops; =>exit);
                // Either the body ran or it did not: the pointer may be where
                // the `If` tested it or where the body left it. Both are
                // within the body's moves of a touched cell, which the shift
                // already counts.
            }
            Op::Scan { stride } => self.emit_scan(stride),
            Op::Switch { src, start, cells } => self.emit_switch(src, start, cells, program),
        }
    }

    /// A loop's test and the top of its body; with a `carried` cell, eax
    /// holds it at the top (see `carried_in_eax`).
    fn open_loop(&mut self, off: i32, carried: Option<i32>) {
        let top = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        self.touch(off);
        self.cell(CellInst::CmpZero, off);
        asm!(self.ops; je =>exit);
        if let Some(cell) = carried {
            self.touch(cell);
            self.cell(CellInst::MovzxEax, cell);
            // From here and from the loop's end alike, the pointer is where
            // the loop's test touched a cell.
            self.unchecked_shift = off.unsigned_abs() as u64;
            self.in_eax = EaxCells::only(cell);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        self.blocks.push(Block { top, exit, off });
    }

    /// The cell that a small loop's body (`straight`) leaves in eax, when
    /// the next iteration reads it first: a walk that carries a value
    /// along (factor.b's `[<[-]>>>>>>>>>>[-<<<<<<<<<<+>>>>>>>>>>]<<<<<<<<<<<]`
    /// stores a cell and reads it back one step on). Kept in eax from one
    /// iteration to the next, that read leaves the loop's critical path (a
    /// store-to-load forward); the first iteration's is made before the
    /// loop.
    ///
    /// That load touches the cell before the body's other accesses; it
    /// makes the same error if they would only if the body does no I/O
    /// and its cells are closer than the smallest tape (not on checked
    /// tapes, which may be smaller).
    fn carried_in_eax(&self, off: i32, body: &[Inst], program: &Program) -> Option<i32> {
        if self.target.checked || body.iter().any(|inst| matches!(inst.op, Op::Out { .. } | Op::Print { .. })) {
            return None;
        }
        let cells = body.iter().flat_map(|inst| inst.op.cells()).chain([off]);
        let (lo, hi) = cells.fold((off, off), |(lo, hi), cell| (lo.min(cell), hi.max(cell)));
        if hi.abs_diff(lo) >= TAPE_ALIGN as u32 {
            return None;
        }
        // The body as it would be compiled, without and with the cell.
        let dry_run = |in_eax| {
            let mut gen = Gen {
                ops: Asm::new(0),
                target: self.target,
                unchecked_shift: self.unchecked_shift,
                blocks: Vec::new(),
                in_eax,
                zf_cell: None,
                scan_return: None,
            };
            gen.straight(body, program, &mut Vec::new());
            (gen.ops.offset().0, gen.in_eax)
        };
        let (plain, left) = dry_run(EaxCells::NONE);
        let cell = left.0.into_iter().flatten().next()?;
        let (carrying, still) = dry_run(EaxCells::only(cell));
        (carrying < plain && still.holds(cell)).then_some(cell)
    }

    /// The byte register holding what `cell += source * factor` adds (or,
    /// for 255, subtracts): the source itself, or the product in cl.
    fn addend_byte(&mut self, source: Rq, factor: u8) -> Rq {
        match factor {
            1 | 255 => source,
            _ => self.product_byte(source, factor),
        }
    }

    /// cl = source * factor: only the low byte of the product counts, and
    /// it depends only on the low byte of the source.
    fn product_byte(&mut self, source: Rq, factor: u8) -> Rq {
        if source != Rq::RAX {
            asm!(self.ops; mov eax, Rd(source));
            // eax no longer holds the cell it held.
            self.in_eax = EaxCells::NONE;
        }
        self.multiply_eax_into_ecx(factor);
        Rq::RCX
    }

    /// ecx = eax * factor (the low byte is what counts): `lea` where it
    /// can, one cycle where `imul` takes three, on loops' critical paths.
    fn multiply_eax_into_ecx(&mut self, factor: u8) {
        match factor {
            2 => asm!(self.ops; lea ecx, [rax + rax]),
            3 => asm!(self.ops; lea ecx, [rax + rax * 2]),
            4 => asm!(self.ops; lea ecx, [rax * 4]),
            5 => asm!(self.ops; lea ecx, [rax + rax * 4]),
            8 => asm!(self.ops; lea ecx, [rax * 8]),
            9 => asm!(self.ops; lea ecx, [rax + rax * 8]),
            _ => asm!(self.ops; imul ecx, eax, factor as i32),
        }
    }

    /// Before the scan back of a `ScanReturn` (stride `stride`): where the
    /// first scan started, or past it, jump to the cell before that start.
    fn resume_scan(&mut self, stride: i32, compare: bool) {
        let behind = self.ops.new_dynamic_label();
        if compare {
            // `stride` runs back towards the first scan's start: the
            // pointer is behind it if it is already past it that way.
            asm!(self.ops; cmp a_ptr, a_scan_start);
            if stride < 0 {
                asm!(self.ops; jb =>behind);
            } else {
                asm!(self.ops; ja =>behind);
            }
        }
        // The first scan's stride is `-stride`: the cell before its start.
        asm!(self.ops; lea a_ptr, [a_scan_start + stride]; =>behind);
        // That cell is `stride` from the start, which the first scan touched.
        self.unchecked_shift = self.unchecked_shift.max(stride.unsigned_abs() as u64);
    }

    /// A loop `register_loop` accepted, with `cells` in registers: loaded
    /// once the counter is found non-zero, stored back after the last
    /// iteration. Notes where each instruction starts in `starts`.
    fn emit_register_loop(
        &mut self,
        counter: i32,
        body: &[Inst],
        cells: &[i32],
        program: &Program,
        starts: &mut Vec<usize>,
    ) {
        let reg = |off: i32| cells.binary_search(&off).ok().map(|i| CELL_REGS[i]);
        let counter_reg = reg(counter).expect("the counter is in a register");
        let (top, exit) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
        self.touch(counter);
        self.cell(CellInst::CmpZero, counter);
        asm!(self.ops; je =>exit);
        for &off in cells {
            self.touch(off);
            asm!(self.ops; movzx Rd(reg(off).expect("in a register")), BYTE [a_ptr + off]);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        // Whether the zero flag reflects the counter's new value.
        let mut zf_counter = false;
        let mut ifs = Vec::new();
        let mut written = Vec::new();
        for inst in body {
            starts.push(self.ops.offset().0);
            zf_counter = match inst.op {
                Op::Add { off, val } => match reg(off) {
                    // Changes nothing, and the cell was loaded: touched.
                    Some(_) if val == 0 => zf_counter,
                    Some(r) => {
                        asm!(self.ops; add Rb(r), val as i8);
                        written.push(off);
                        off == counter
                    }
                    // In memory, as anywhere else (the add sets the flags).
                    None => {
                        self.op(inst.op, program);
                        false
                    }
                },
                Op::Set { off, val } => match reg(off) {
                    Some(r) => {
                        asm!(self.ops; mov Rb(r), val as i8);
                        written.push(off);
                        zf_counter && off != counter
                    }
                    None => {
                        // The touch may compare (far cells): flags lost.
                        self.op(inst.op, program);
                        false
                    }
                },
                Op::AddMul { off, src, factor } => {
                    const AL: Rq = Rq::RAX;
                    let source = reg(src).unwrap_or_else(|| {
                        self.touch(src);
                        self.cell(CellInst::MovzxEax, src);
                        AL
                    });
                    // The byte register that holds what to add (or subtract).
                    let by = self.addend_byte(source, factor);
                    match (reg(off), factor) {
                        (Some(target), 255) => asm!(self.ops; sub Rb(target), Rb(by)),
                        (Some(target), _) => asm!(self.ops; add Rb(target), Rb(by)),
                        (None, 255) => {
                            self.touch(off);
                            asm!(self.ops; sub BYTE [a_ptr + off], Rb(by));
                        }
                        (None, _) => {
                            self.touch(off);
                            asm!(self.ops; add BYTE [a_ptr + off], Rb(by));
                        }
                    }
                    if reg(off).is_some() {
                        written.push(off);
                    }
                    off == counter
                }
                Op::If { off } => {
                    let skip = self.ops.new_dynamic_label();
                    match reg(off) {
                        Some(r) => asm!(self.ops; test Rb(r), Rb(r)),
                        None => {
                            self.touch(off);
                            self.cell(CellInst::CmpZero, off);
                        }
                    }
                    asm!(self.ops; jz =>skip);
                    ifs.push(skip);
                    false
                }
                Op::EndIf => {
                    let skip = ifs.pop().expect("balanced IR");
                    asm!(self.ops; =>skip);
                    false
                }
                op => unreachable!("register_loop accepts no {op:?}"),
            };
        }
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
        starts.push(self.ops.offset().0);
        if !zf_counter {
            asm!(self.ops; test Rb(counter_reg), Rb(counter_reg));
        }
        asm!(self.ops; jnz =>top);
        written.sort_unstable();
        written.dedup();
        for off in written {
            asm!(self.ops; mov BYTE [a_ptr + off], Rb(reg(off).expect("in a register")));
        }
        asm!(self.ops; =>exit);
        // Both ways the counter was touched, and every cell is on the tape.
        self.unchecked_shift = counter.unsigned_abs() as u64;
    }

    /// A run `run_registers` accepted, with `cells` in registers (the others
    /// in memory, as anywhere else). A cell set to a constant stays a
    /// constant until something needs it in its register: adds to it are
    /// folded, multiplies by it are adds of a constant, and one only
    /// stored is stored as an immediate.
    fn emit_register_run(&mut self, run: &[Inst], cells: &[i32], program: &Program) {
        let slot = |off: i32| cells.iter().position(|&cell| cell == off);
        let mut held = vec![Held::Memory; cells.len()];
        let mut dirty = vec![false; cells.len()];
        for &cell in cells {
            // eax holds memory's value of a cell, which the run changes in
            // its register.
            self.in_eax.forget(cell);
        }
        self.zf_cell = None;
        let mut i = 0;
        while i < run.len() {
            let inst = run[i];
            i += 1;
            match inst.op {
                Op::Add { off, val } if slot(off).is_some() => {
                    let k = slot(off).expect("a cell in a register");
                    match held[k] {
                        Held::Constant(v) => held[k] = Held::Constant(v.wrapping_add(val)),
                        _ => {
                            let r = self.run_register(cells, &mut held, k);
                            asm!(self.ops; add Rb(r), val as i8);
                        }
                    }
                    dirty[k] = true;
                }
                Op::Set { off, val } if slot(off).is_some() => {
                    let k = slot(off).expect("a cell in a register");
                    held[k] = Held::Constant(val);
                    dirty[k] = true;
                }
                Op::AddMul { off, src, factor } if slot(off).is_some() || slot(src).is_some() => {
                    self.run_multiply(cells, &mut held, off, src, factor);
                    if let Some(k) = slot(off) {
                        dirty[k] = true;
                    }
                }
                Op::Set { off, val: 0 } => match run.get(i).map(|next| next.op) {
                    // A copy from a cell in a register: its byte stored.
                    Some(Op::AddMul { off: target, src, factor }) if target == off && slot(src).is_some() => {
                        let source = self.run_register(cells, &mut held, slot(src).expect("in a register"));
                        // The product itself (an addend of 255 would be
                        // subtracted).
                        let by = match factor {
                            1 => source,
                            _ => self.product_byte(source, factor),
                        };
                        self.touch(off);
                        self.cell(CellInst::StoreReg(by), off);
                        self.in_eax.forget(off);
                        i += 1;
                    }
                    _ => i += self.copy_or_op(&run[i - 1..], program) - 1,
                },
                _ => i += self.copy_or_op(&run[i - 1..], program) - 1,
            }
        }
        for (k, &off) in cells.iter().enumerate().filter(|&(k, _)| dirty[k]) {
            self.touch(off);
            match held[k] {
                Held::Constant(v) => self.cell(CellInst::MovImm(v), off),
                _ => self.cell(CellInst::StoreReg(RUN_REGS[k]), off),
            }
        }
        self.zf_cell = None;
    }

    /// The register of a run's cell (`k` of `cells`), made to hold its
    /// value: loaded at its first read, or set to its constant.
    fn run_register(&mut self, cells: &[i32], held: &mut [Held], k: usize) -> Rq {
        let r = RUN_REGS[k];
        match held[k] {
            Held::Memory => {
                self.touch(cells[k]);
                self.cell(CellInst::MovzxReg(r), cells[k]);
            }
            Held::Constant(v) => asm!(self.ops; mov Rd(r), v as i32),
            Held::Register => {}
        }
        held[k] = Held::Register;
        r
    }

    /// `cell[off] += cell[src] * factor` in a run, one of them (or both) in
    /// a register.
    fn run_multiply(&mut self, cells: &[i32], held: &mut [Held], off: i32, src: i32, factor: u8) {
        const AL: Rq = Rq::RAX;
        let slot = |cell: i32| cells.iter().position(|&c| c == cell);
        let target = slot(off);
        // A constant source: an add of a constant.
        if let Some(Held::Constant(v)) = slot(src).map(|k| held[k]) {
            let product = v.wrapping_mul(factor);
            match target {
                Some(t) => match held[t] {
                    Held::Constant(c) => held[t] = Held::Constant(c.wrapping_add(product)),
                    _ => {
                        let r = self.run_register(cells, held, t);
                        asm!(self.ops; add Rb(r), product as i8);
                    }
                },
                None => {
                    // Changes the cell, or only touches it.
                    self.touch(off);
                    self.cell(if product == 0 { CellInst::CmpZero } else { CellInst::AddImm(product) }, off);
                    self.in_eax.forget(off);
                }
            }
            return;
        }
        let source = match slot(src) {
            Some(k) => self.run_register(cells, held, k),
            None => {
                self.touch(src);
                if !self.in_eax.holds(src) {
                    self.cell(CellInst::MovzxEax, src);
                    self.in_eax = EaxCells::only(src);
                }
                AL
            }
        };
        // A copy into a cleared cell in a register: a move of the whole
        // (zero-extended) register.
        if let (Some(t), 1) = (target, factor) {
            if held[t] == Held::Constant(0) {
                let r = RUN_REGS[t];
                asm!(self.ops; mov Rd(r), Rd(source));
                held[t] = Held::Register;
                return;
            }
        }
        let by = self.addend_byte(source, factor);
        match target {
            Some(t) => {
                let r = self.run_register(cells, held, t);
                match factor {
                    255 => asm!(self.ops; sub Rb(r), Rb(by)),
                    _ => asm!(self.ops; add Rb(r), Rb(by)),
                }
            }
            None => {
                self.touch(off);
                self.cell(if factor == 255 { CellInst::SubReg(by) } else { CellInst::AddReg(by) }, off);
                self.in_eax.forget(off);
            }
        }
    }

    /// A switch on `cell[src]` (see `Op::Switch`): when all its cells are
    /// on the tape, which a predictable bounds check decides, every cell is
    /// updated from its tables without a branch. Otherwise (the pointer is
    /// at an end of the tape) each cell is touched only where its `touch`
    /// table says, in order, so the tape error is the one the ifs had.
    fn emit_switch(&mut self, src: i32, start: u32, count: u16, program: &Program) {
        let cells: Vec<SwitchCell> = program.switch_cells(start, count).collect();
        let done = self.ops.new_dynamic_label();
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        asm!(self.ops; lea rsi, [->data]);
        let (lo, hi) = switch_span(&cells);
        let at_edge = self.ops.new_dynamic_label();
        asm!(self.ops
            ; lea rcx, [a_ptr + lo]
            ; cmp rcx, a_tape
            ; jb =>at_edge
            ; lea rcx, [a_ptr + hi]
            ; cmp rcx, [a_rt + rt::TAPE_END]
            ; jae =>at_edge
        );
        self.switch_from_tables(&cells, start, None);
        asm!(self.ops; jmp =>done; =>at_edge);
        self.switch_checked(&cells, start);
        asm!(self.ops; =>done);
        // Both ways read cell[src] last of all the cells known on the tape.
        self.unchecked_shift = src.unsigned_abs() as u64;
    }

    /// A loop of a switch and a move, where the switch updates the cell the
    /// next iteration switches on (factor.b's carries along a number): the
    /// new value stays in a register for the next iteration, instead of
    /// being loaded back from the store just made, a store-to-load forward
    /// on the loop's critical path.
    ///
    /// The bounds check compares the pointer with two registers set before
    /// the loop; as the pointer moves one way, the check of the end it
    /// moves away from is made once, and again only after an iteration at
    /// the tape's edge.
    ///
    /// Returns where the switch, the move and the loop's test start (the
    /// unchecked way), for listings.
    fn emit_carry_loop(&mut self, test: i32, switch: Op, stride: i32, program: &Program) -> [usize; 3] {
        let Op::Switch { src, start, cells: count } = switch else { unreachable!("a switch") };
        let cells: Vec<SwitchCell> = program.switch_cells(start, count).collect();
        let (lo, hi) = switch_span(&cells);
        let (recheck, top, exit, at_edge) = (
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
        );
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        asm!(self.ops; je =>exit);
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        // rsi: the tables, for every iteration.
        asm!(self.ops
            ; lea rsi, [->data]
            ; mov a_switch_end, [a_rt + rt::TAPE_END]
            ; sub a_switch_end, hi
            ; lea a_switch_start, [a_tape - lo]
            ; =>recheck
        );
        // eax: cell[src], here and at every jump to `recheck` or `top`.
        if stride > 0 {
            asm!(self.ops; cmp a_ptr, a_switch_start; jb =>at_edge);
        } else {
            asm!(self.ops; cmp a_ptr, a_switch_end; jae =>at_edge);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        let switch_at = self.ops.offset().0;
        if stride > 0 {
            asm!(self.ops; cmp a_ptr, a_switch_end; jae =>at_edge);
        } else {
            asm!(self.ops; cmp a_ptr, a_switch_start; jb =>at_edge);
        }
        self.switch_from_tables(&cells, start, Some(src + stride));
        let move_at = self.ops.offset().0;
        self.move_ptr(stride);
        asm!(self.ops; mov eax, edx);
        self.unchecked_shift = (src.unsigned_abs() + stride.unsigned_abs()) as u64;
        let test_at = self.ops.offset().0;
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        asm!(self.ops; jne =>top; jmp =>exit; =>at_edge);
        self.switch_checked(&cells, start);
        self.move_ptr(stride);
        self.unchecked_shift = (src.unsigned_abs() + stride.unsigned_abs()) as u64;
        self.touch(test);
        self.cell(CellInst::CmpZero, test);
        asm!(self.ops; je =>exit);
        self.touch(src);
        self.cell(CellInst::MovzxEax, src);
        asm!(self.ops; jmp =>recheck; =>exit);
        self.unchecked_shift = test.unsigned_abs() as u64;
        [switch_at, move_at, test_at]
    }

    /// Every cell of a switch from its tables, all on the tape (v in eax,
    /// the tables' base in rsi); `carried`, if one of the cells, also
    /// leaves its new value in dl.
    fn switch_from_tables(&mut self, cells: &[SwitchCell], start: u32, carried: Option<i32>) {
        for (k, cell) in cells.iter().enumerate() {
            let tables = switch_tables_at(start, k);
            if Some(cell.off) == carried {
                self.switch_cell_via_dl(cell, tables);
            } else {
                self.switch_cell(cell, tables);
            }
        }
    }

    /// The switch with each cell touched only where its `touch` table says
    /// (v in eax, the tables' base in rsi).
    fn switch_checked(&mut self, cells: &[SwitchCell], start: u32) {
        for (k, cell) in cells.iter().enumerate() {
            let tables = switch_tables_at(start, k);
            let skip = self.ops.new_dynamic_label();
            asm!(self.ops
                ; cmp BYTE [rsi + rax + tables + SwitchCell::TOUCH as i32], 0
                ; je =>skip
            );
            self.touch(cell.off);
            if !self.switch_cell(cell, tables) && !self.target.checked {
                // Changes nothing but must fail off the tape.
                self.cell(CellInst::CmpZero, cell.off);
            }
            asm!(self.ops; =>skip);
        }
    }

    /// `switch_cell`, computed in edx and stored, so edx keeps the new
    /// value.
    fn switch_cell_via_dl(&mut self, cell: &SwitchCell, tables: i32) {
        let (keep, add) = (tables + SwitchCell::KEEP as i32, tables + SwitchCell::ADD as i32);
        // edx stays zero-extended, so that the next iteration can take it
        // with a plain `mov` (free: done by renaming) instead of a `movzx`.
        if cell.keep.iter().all(|&k| k == 0) {
            asm!(self.ops; movzx edx, BYTE [rsi + rax + add]);
        } else if let (true, Some(step)) = (cell.keep.iter().all(|&k| k == 0xff), Step::of(cell.add)) {
            // A carry: one compare and one add with carry, not a load from
            // the table, on the loop's critical path.
            self.cell(CellInst::MovzxEdx, cell.off);
            asm!(self.ops; cmp eax, step.at as i32);
            match step.add {
                StepAdd::OneMoreFromAt(below) => asm!(self.ops; sbb dl, (below as i8).wrapping_add(1).wrapping_neg()),
                StepAdd::OneMoreBelowAt(above) => asm!(self.ops; adc dl, above as i8),
            }
        } else {
            self.cell(CellInst::MovzxEdx, cell.off);
            if cell.keep.iter().any(|&k| k != 0xff) {
                asm!(self.ops; and dl, BYTE [rsi + rax + keep]);
            }
            asm!(self.ops; add dl, BYTE [rsi + rax + add]);
        }
        self.cell(CellInst::StoreDl, cell.off);
    }

    /// `cell = (cell & keep[v]) + add[v]` with the tables at `rsi + tables`
    /// and v in rax, leaving out what the tables make a no-op. False when
    /// nothing was left.
    fn switch_cell(&mut self, cell: &SwitchCell, tables: i32) -> bool {
        let (keep, add) = (tables + SwitchCell::KEEP as i32, tables + SwitchCell::ADD as i32);
        let sets = cell.keep.iter().all(|&k| k == 0);
        let ands = !sets && cell.keep.iter().any(|&k| k != 0xff);
        let adds = cell.add.iter().any(|&a| a != 0);
        if sets && cell.add.iter().all(|&a| a == cell.add[0]) {
            self.cell(CellInst::MovImm(cell.add[0]), cell.off);
            return true;
        }
        if sets {
            asm!(self.ops; mov cl, BYTE [rsi + rax + add]);
            self.cell(CellInst::StoreCl, cell.off);
            return true;
        }
        if ands {
            asm!(self.ops; mov cl, BYTE [rsi + rax + keep]);
            self.cell(CellInst::AndCl, cell.off);
        }
        if adds {
            asm!(self.ops; mov cl, BYTE [rsi + rax + add]);
            self.cell(CellInst::AddCl, cell.off);
        }
        ands || adds
    }

    /// Output known at compile time. Short runs are stored into the buffer
    /// as immediates; long ones are handed to `write` straight from the
    /// copy of `Program::data` placed after the code.
    fn emit_print(&mut self, bytes: &[u8], start: u32) {
        const INLINE: usize = 32;
        if bytes.len() <= INLINE {
            let len = bytes.len() as i32;
            asm!(self.ops
                ; lea rax, [a_out + len]
                ; cmp rax, a_out_end
                ; jbe >room
                ; call ->flush
                ; test eax, eax
                ; jnz ->exit
                ; room:
            );
            for (i, &byte) in bytes.iter().enumerate() {
                asm!(self.ops; mov BYTE [a_out + i as i32], byte as i8);
            }
            asm!(self.ops; add a_out, len);
        } else {
            asm!(self.ops
                ; call ->flush
                ; test eax, eax
                ; jnz ->exit
                ; mov rdi, a_rt
                ; lea rsi, [->data]
                ; add rsi, start as i32
                ; mov rdx, QWORD bytes.len() as i64
                ; call QWORD [a_rt + rt::WRITE]
                ; test eax, eax
                ; jnz ->exit
            );
        }
    }

    /// Pads to a 16-byte boundary with the fewest (multi-byte) NOPs, so a
    /// loop body's placement does not decide its speed.
    fn align_loop_top(&mut self) {
        // The recommended NOP encodings of 1 to 8 bytes.
        const NOPS: [&[u8]; 8] = [
            &[0x90],
            &[0x66, 0x90],
            &[0x0f, 0x1f, 0x00],
            &[0x0f, 0x1f, 0x40, 0x00],
            &[0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
            &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        ];
        let mut pad = (16 - self.ops.offset().0 % 16) % 16;
        while pad > 0 {
            let nop = NOPS[pad.min(8) - 1];
            self.ops.extend(nop.iter().copied());
            pad -= nop.len();
        }
    }

    /// Leaves the innermost loop when its cell is zero (a test in the
    /// middle of an unrolled body).
    fn exit_if_zero(&mut self, off: i32) {
        let exit = self.blocks.last().expect("inside a loop").exit;
        if self.zf_cell.take() != Some(off) {
            self.touch(off);
            self.cell(CellInst::CmpZero, off);
        }
        asm!(self.ops; je =>exit);
    }

    /// Appends al to the output buffer, flushing it when full.
    fn emit_output_al(&mut self) {
        asm!(self.ops
            ; mov [a_out], al
            ; add a_out, 1
            ; cmp a_out, a_out_end
            ; jb >room
            ; call ->flush
            ; test eax, eax
            ; jnz ->exit
            ; room:
        );
    }

    fn emit_input(&mut self, off: i32) {
        // Touch the cell first, so a bad cell fails the same way whether
        // or not input remains (the interpreter checks it first too).
        self.touch(off);
        // While input is buffered a byte is taken inline: no call, and no
        // flush (the program cannot be waiting on a prompt then).
        asm!(self.ops
            ; cmp BYTE [a_ptr + off], 0
            ; mov rax, [a_rt + rt::IN_CUR]
            ; cmp rax, [a_rt + rt::IN_END]
            ; jae >refill
            ; movzx ecx, BYTE [rax]
            ; add rax, 1
            ; mov [a_rt + rt::IN_CUR], rax
            ; mov [a_ptr + off], cl
            ; jmp >done
            ; refill:
            ; call ->read
            ; test eax, eax
            ; js >eof
            ; mov [a_ptr + off], al
            ; jmp >done
            ; eof:
            ; cmp eax, READ_EOF
            ; jne ->read_error
        );
        match self.target.eof {
            EofMode::Unchanged => {}
            EofMode::Zero => asm!(self.ops; mov BYTE [a_ptr + off], 0),
            EofMode::MinusOne => asm!(self.ops; mov BYTE [a_ptr + off], -1),
        }
        asm!(self.ops; done:);
    }

    fn emit_scan(&mut self, stride: i32) {
        let done = self.ops.new_dynamic_label();
        match stride {
            1 => self.emit_vector_scan_right(done),
            -1 => self.emit_vector_scan_left(done),
            _ => {}
        }
        // One cell at a time: strides other than 1, and near the tape's ends.
        // Unrolled: one taken branch per SCAN_UNROLL cells (mandelbrot, whose
        // scans of stride 9 are a quarter of its work: 0.67 s -> 0.59 s
        // unrolled twice), and one pointer step: the cells between are
        // compared at their offsets, each found one moving the pointer to
        // itself on the way out.
        self.touch(0);
        asm!(self.ops
            ; cmp BYTE [a_ptr], 0
            ; je =>done
        );
        let again = self.ops.new_dynamic_label();
        let found: Vec<DynamicLabel> = (1..SCAN_UNROLL).map(|_| self.ops.new_dynamic_label()).collect();
        asm!(self.ops; =>again);
        for (k, &at) in found.iter().enumerate() {
            let off = stride * (k as i32 + 1);
            // The cell before was touched: this one is |stride| from it.
            self.touch_within(off, stride.unsigned_abs() as u64);
            self.cell(CellInst::CmpZero, off);
            asm!(self.ops; je =>at);
        }
        let step = stride * SCAN_UNROLL as i32;
        self.move_ptr(step);
        self.unchecked_shift = stride.unsigned_abs() as u64;
        self.touch(0);
        asm!(self.ops; cmp BYTE [a_ptr], 0; jne =>again; jmp =>done);
        for (k, &at) in found.iter().enumerate() {
            asm!(self.ops; =>at);
            self.move_ptr(stride * (k as i32 + 1));
            if k + 2 < SCAN_UNROLL {
                asm!(self.ops; jmp =>done);
            }
        }
        asm!(self.ops; =>done);
        self.unchecked_shift = 0;
    }

    /// `[>]` 16 cells at a time (SSE2, which every x86-64 has), while the
    /// 16 cells are all on the tape; then the one-at-a-time loop that
    /// follows takes over (and fails where the scan leaves the tape).
    fn emit_vector_scan_right(&mut self, done: DynamicLabel) {
        asm!(self.ops
            ; pxor xmm1, xmm1
            ; block:
            ; cmp a_ptr, a_tape
            ; jb >cells
            ; lea rdx, [a_ptr + 16]
            ; cmp rdx, [a_rt + rt::TAPE_END]
            ; ja >cells
            ; movdqu xmm0, [a_ptr]
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
            ; test eax, eax
            ; jnz >found
            ; add a_ptr, 16
            ; jmp <block
            ; found:
            ; bsf eax, eax // the first zero cell
            ; add a_ptr, rax
            ; jmp =>done
            ; cells:
        );
    }

    /// `[<]` 16 cells at a time; see `emit_vector_scan_right`.
    fn emit_vector_scan_left(&mut self, done: DynamicLabel) {
        asm!(self.ops
            ; pxor xmm1, xmm1
            ; block:
            ; lea rdx, [a_ptr - 15]
            ; cmp rdx, a_tape
            ; jb >cells
            ; cmp a_ptr, [a_rt + rt::TAPE_END]
            ; jae >cells
            ; movdqu xmm0, [rdx]
            ; pcmpeqb xmm0, xmm1
            ; pmovmskb eax, xmm0
            ; test eax, eax
            ; jnz >found
            ; sub a_ptr, 16
            ; jmp <block
            ; found:
            ; bsr eax, eax // the last zero cell before the pointer
            ; lea a_ptr, [rdx + rax]
            ; jmp =>done
            ; cells:
        );
    }
}

/// Where the tables of cell `k` of the switch at `start` begin in the data.
/// A table of adds that is one value below an index and another, one
/// more or one less, from that index on: a carry (factor.b's `v >= 10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// The first index of the second value, 1..=255.
    at: u8,
    add: StepAdd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepAdd {
    /// `below` below `at`, `below + 1` from it: after `cmp v, at` (carry
    /// set below), `sbb dl, -(below + 1)`.
    OneMoreFromAt(u8),
    /// `above + 1` below `at`, `above` from it: `adc dl, above`.
    OneMoreBelowAt(u8),
}

impl Step {
    fn of(table: &[u8; 256]) -> Option<Step> {
        let at = table.iter().position(|&v| v != table[0])?;
        let (below, above) = (table[0], table[at]);
        if table[at..].iter().any(|&v| v != above) {
            return None;
        }
        let add = if above == below.wrapping_add(1) {
            StepAdd::OneMoreFromAt(below)
        } else if below == above.wrapping_add(1) {
            StepAdd::OneMoreBelowAt(above)
        } else {
            return None;
        };
        Some(Step { at: at as u8, add })
    }
}

/// The first and last cell of a switch.
fn switch_span(cells: &[SwitchCell]) -> (i32, i32) {
    let lo = cells.iter().map(|cell| cell.off).min().expect("a switch has cells");
    let hi = cells.iter().map(|cell| cell.off).max().expect("a switch has cells");
    (lo, hi)
}

fn switch_tables_at(start: u32, k: usize) -> i32 {
    (start as usize + k * SwitchCell::SIZE) as i32
}

/// An instruction on the cell `BYTE [rbx + off]`, for `Gen::cell`.
#[derive(Clone, Copy)]
enum CellInst {
    AddImm(u8),
    /// `cmp BYTE [cell], 0`
    CmpZero,
    MovImm(u8),
    /// `add [cell], al`
    AddAl,
    /// `sub [cell], al`
    SubAl,
    /// `add [cell], cl`
    AddCl,
    /// `and [cell], cl`
    AndCl,
    /// `mov [cell], cl`
    StoreCl,
    /// `mov [cell], dl`
    StoreDl,
    /// `movzx edx, [cell]`
    MovzxEdx,
    /// `movzx eax, [cell]`
    MovzxEax,
    /// `mov al, [cell]`
    LoadAl,
    /// `mov [cell], al`
    StoreAl,
    /// `movzx r32, [cell]`
    MovzxReg(Rq),
    /// `mov [cell], r8` (the register's low byte)
    StoreReg(Rq),
    /// `add [cell], r8`
    AddReg(Rq),
    /// `sub [cell], r8`
    SubReg(Rq),
}

impl Gen {
    /// Emits `inst` with the shortest displacement for `off`. dynasm
    /// encodes every displacement known only at run time in 32 bits; most
    /// cell offsets fit in 8 (or are 0), which makes the hot instructions
    /// 3 or 4 bytes instead of 7.
    fn cell(&mut self, inst: CellInst, off: i32) {
        // (opcode, ModRM reg field, immediate)
        let (opcode, reg, imm): (&[u8], u8, Option<u8>) = match inst {
            CellInst::AddImm(v) => (&[0x80], 0, Some(v)),
            CellInst::CmpZero => (&[0x80], 7, Some(0)),
            CellInst::MovImm(v) => (&[0xC6], 0, Some(v)),
            CellInst::AddAl => (&[0x00], 0, None),
            CellInst::SubAl => (&[0x28], 0, None),
            CellInst::AddCl => (&[0x00], 1, None),
            CellInst::AndCl => (&[0x20], 1, None),
            CellInst::StoreCl => (&[0x88], 1, None),
            CellInst::StoreDl => (&[0x88], 2, None),
            CellInst::MovzxEdx => (&[0x0F, 0xB6], 2, None),
            CellInst::MovzxEax => (&[0x0F, 0xB6], 0, None),
            CellInst::LoadAl => (&[0x8A], 0, None),
            CellInst::StoreAl => (&[0x88], 0, None),
            CellInst::MovzxReg(r) => (&[0x0F, 0xB6], r as u8, None),
            CellInst::StoreReg(r) => (&[0x88], r as u8, None),
            CellInst::AddReg(r) => (&[0x00], r as u8, None),
            CellInst::SubReg(r) => (&[0x28], r as u8, None),
        };
        // REX: REX.R for r8-r15; a byte operand among spl, bpl, sil and dil
        // needs one to be told from ah, ch, dh and bh.
        let byte_operand = matches!(inst, CellInst::StoreReg(_) | CellInst::AddReg(_) | CellInst::SubReg(_));
        if reg >= 8 || (byte_operand && reg >= 4) {
            self.ops.push(0x40 | (reg >> 3) << 2);
        }
        let reg = reg & 7;
        const RBX: u8 = 0b011;
        self.ops.extend(opcode.iter().copied());
        match off {
            0 => self.ops.push(reg << 3 | RBX),
            -128..=127 => self.ops.extend([0b01 << 6 | reg << 3 | RBX, off as u8]),
            _ => {
                self.ops.push(0b10 << 6 | reg << 3 | RBX);
                self.ops.extend(off.to_le_bytes());
            }
        }
        self.ops.extend(imm);
    }

    /// `add rbx, delta`, with an 8-bit immediate where it fits.
    fn move_ptr(&mut self, delta: i32) {
        match i8::try_from(delta) {
            Ok(small) => self.ops.extend([0x48, 0x83, 0xC3, small as u8]),
            Err(_) => asm!(self.ops; add a_ptr, delta),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn code(src: &str, target: Target) -> Vec<u8> {
        compile(&parse("t.b", src.as_bytes()).unwrap(), target).bytes
    }

    const GUARDED: Target = Target { eof: EofMode::Unchanged, checked: false };
    const CHECKED: Target = Target { eof: EofMode::Unchanged, checked: true };

    #[test]
    fn the_same_program_gives_the_same_bytes() {
        assert_eq!(code("+[->+<].", GUARDED), code("+[->+<].", GUARDED));
    }

    fn code_of(ops: &[Op]) -> Vec<u8> {
        let insts = ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
        compile(&Program { insts, data: vec![] }, GUARDED).bytes
    }

    #[test]
    fn cell_instructions_take_the_shortest_displacement() {
        let empty = code("", GUARDED).len();
        // add BYTE [rbx], imm8 / [rbx + disp8] / [rbx + disp32]
        assert_eq!(code("+", GUARDED).len() - empty, 3);
        let near = code_of(&[Op::Add { off: 2, val: 1 }]);
        assert!(near.windows(4).any(|w| w == [0x80, 0x43, 2, 1]), "add byte [rbx+2], 1");
        let far = code_of(&[Op::Add { off: 300, val: 1 }]);
        assert!(far.windows(7).any(|w| w == [0x80, 0x83, 44, 1, 0, 0, 1]), "add byte [rbx+300], 1");
        // A pointer step: add rbx, imm8.
        assert!(code_of(&[Op::Move(-2)]).windows(4).any(|w| w == [0x48, 0x83, 0xC3, 0xFE]));
    }

    #[test]
    fn a_multiply_into_a_cleared_cell_stores_the_product() {
        let clear = Op::Set { off: 10, val: 0 };
        let copy = Op::AddMul { off: 10, src: 1, factor: 1 };
        let fused = code_of(&[clear, copy]);
        // movzx eax, [rbx+1]; mov [rbx+10], al
        assert!(fused.windows(7).any(|w| w == [0x0f, 0xb6, 0x43, 0x01, 0x88, 0x43, 0x0a]));
        // Apart, or into another cell, they stay two: the clear, an add.
        let apart = code_of(&[clear, Op::Add { off: 2, val: 1 }, copy]);
        assert!(apart.windows(4).any(|w| w == [0xc6, 0x43, 0x0a, 0x00]));
        assert!(apart.windows(3).any(|w| w == [0x00, 0x43, 0x0a]));
        let elsewhere = code_of(&[clear, Op::AddMul { off: 11, src: 1, factor: 1 }]);
        assert!(elsewhere.windows(4).any(|w| w == [0xc6, 0x43, 0x0a, 0x00]));
        assert!(elsewhere.windows(3).any(|w| w == [0x00, 0x43, 0x0b]));
    }

    #[test]
    fn a_walk_carrying_a_value_keeps_it_in_eax() {
        let (set, copy) = (|off| Op::Set { off, val: 0 }, |off, src| Op::AddMul { off, src, factor: 1 });
        let walk = |src: i32, stride: i32| {
            code_of(&[Op::Loop { off: 0 }, set(-1), copy(-1, src), set(src), Op::Move(stride), Op::EndLoop])
        };
        let loads_of_9 = |code: &[u8]| code.windows(4).filter(|w| *w == [0x0f, 0xb6, 0x43, 9]).count();
        // [p-1] = [p+9] and p -= 10: the next iteration reads what this one
        // stored. One load, before the loop, for its two copies of the body.
        assert_eq!(loads_of_9(&walk(9, -10)), 1);
        // p -= 9: it reads a cell this one did not store, in each copy.
        assert_eq!(loads_of_9(&walk(9, -9)), 2);
    }

    #[test]
    fn runs_keep_in_registers_the_cells_they_read_back() {
        let (add, set) = (|off, val| Op::Add { off, val }, |off, val| Op::Set { off, val });
        let mul = |off, src| Op::AddMul { off, src, factor: 1 };
        let insts = |ops: &[Op]| ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect::<Vec<_>>();
        let chosen = |ops: &[Op]| run_registers(&insts(ops)).map(|(len, cells)| (len, cells.get().to_vec()));
        // mandelbrot's: [p] is computed, then read three times; [p+2] is
        // only read, then cleared and copied into; [p+3] added to once.
        let digit = [add(0, 255), mul(0, 2), set(2, 0), mul(2, 0), mul(3, 0), set(0, 1)];
        assert_eq!(chosen(&[&digit[..], &[Op::Move(9)]].concat()), Some((6, vec![0])));
        // A copy into a cleared cell, and adds to a constant, read nothing
        // back: left to the fused copy and to memory.
        assert_eq!(chosen(&[set(10, 0), mul(10, 1)]), None);
        assert_eq!(chosen(&[set(1, 4), add(1, 1), mul(2, 1)]), None);
        // Cells farther apart than the smallest tape: no registers.
        assert_eq!(chosen(&[add(0, 1), mul(5000, 0), add(0, 1)]), None);

        let code = code_of(&digit);
        // movzx esi, [rbx] once; [p+2] = [p] stored from sil; [p] = 1 at
        // the end, as an immediate; no load of [p] after it was changed.
        assert_eq!(code.windows(3).filter(|w| *w == [0x0f, 0xb6, 0x33]).count(), 1);
        assert!(code.windows(4).any(|w| w == [0x40, 0x88, 0x73, 2]), "mov [rbx+2], sil");
        assert!(code.windows(3).any(|w| w == [0xc6, 0x03, 1]), "mov byte [rbx], 1");
        assert!(!code.windows(3).any(|w| w == [0x0f, 0xb6, 0x03]), "no movzx eax, [rbx]");
        // A computed value left at the end is stored from its register.
        let computed = code_of(&[add(0, 255), mul(0, 2), set(2, 0)]);
        assert!(computed.windows(3).any(|w| w == [0x40, 0x88, 0x33]), "mov [rbx], sil");
    }

    #[test]
    fn carries_are_recognised_in_switch_tables() {
        let table = |f: fn(usize) -> u8| -> [u8; 256] { std::array::from_fn(f) };
        // factor.b's carry into the next digit: 1 from 10 on.
        let carry = Step::of(&table(|v| (v >= 10) as u8));
        assert_eq!(carry, Some(Step { at: 10, add: StepAdd::OneMoreFromAt(0) }));
        // A borrow: 255 from 1 on (one less than 0); and the other way.
        let borrow = Step::of(&table(|v| if v >= 1 { 255 } else { 0 }));
        assert_eq!(borrow, Some(Step { at: 1, add: StepAdd::OneMoreBelowAt(255) }));
        let below = Step::of(&table(|v| if v < 200 { 8 } else { 7 }));
        assert_eq!(below, Some(Step { at: 200, add: StepAdd::OneMoreBelowAt(7) }));
        // Not a carry: constant, a step of 2, two steps.
        assert_eq!(Step::of(&[3; 256]), None);
        assert_eq!(Step::of(&table(|v| 2 * (v >= 10) as u8)), None);
        assert_eq!(Step::of(&table(|v| (v >= 10) as u8 + (v >= 20) as u8)), None);
    }

    #[test]
    fn loops_on_few_cells_without_moves_run_in_registers() {
        let body = |ops: &[Op]| ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect::<Vec<_>>();
        let (add, set) = (|off, val| Op::Add { off, val }, |off, val| Op::Set { off, val });
        let mul = |off, src| Op::AddMul { off, src, factor: 3 };
        // Counter 0; 1 and 2 touched on every path, an if on 1.
        let modulo = [add(0, 255), add(1, 255), add(2, 1), Op::If { off: 1 }, set(1, 0), Op::EndIf, mul(1, 2)];
        assert_eq!(register_loop(&body(&modulo), 0), Some(vec![0, 1, 2]));
        // Inside the if, a cell past those touched on every path: loading
        // it early could fail where the loop would not, so it stays in
        // memory.
        let far = [add(0, 255), Op::If { off: 1 }, set(5, 0), Op::EndIf];
        assert_eq!(register_loop(&body(&far), 0), Some(vec![0, 1]));
        // Between them it is fine.
        let near = [add(0, 255), add(5, 1), Op::If { off: 5 }, set(3, 0), Op::EndIf];
        assert_eq!(register_loop(&body(&near), 0), Some(vec![0, 3, 5]));
        // More cells than registers: the counter and those nearest it.
        let many: Vec<Op> = (-3..5).map(|off| add(off, 1)).collect();
        assert_eq!(register_loop(&body(&many), 0), Some(vec![-3, -2, -1, 0, 1, 2]));
        // A move, output: not in registers.
        assert_eq!(register_loop(&body(&[add(0, 255), Op::Move(1)]), 0), None);
        assert_eq!(register_loop(&body(&[add(0, 255), Op::Out { off: 0 }]), 0), None);
    }

    #[test]
    fn scans_back_skip_what_the_scan_there_passed() {
        let back = |ops: &[Op]| {
            let mut all = vec![Op::Scan { stride: 9 }];
            all.extend_from_slice(ops);
            all.push(Op::Scan { stride: -9 });
            let insts = all.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
            scan_return(&Program { insts, data: vec![] }, 0).map(|back| back.compare)
        };
        let (set, add) = (|off, val| Op::Set { off, val }, |off, val| Op::Add { off, val });
        // mandelbrot's append: a new element at the stop, from there back.
        assert_eq!(back(&[set(0, 1), set(9, 0), set(4, 0)]), Some(false));
        // Its removal: the last element's flag stepped, back from the one
        // before it, which may lie before where the first scan started.
        assert_eq!(back(&[add(-9, 255), Op::Move(-18)]), Some(true));
        // The stop itself is zero unless set non-zero.
        assert_eq!(back(&[set(4, 1)]), None);
        assert_eq!(back(&[set(0, 0)]), None);
        // A passed cell stepped (it may be zero now), or a move between the
        // cells the first scan tested: the way back is not known.
        assert_eq!(back(&[add(-9, 255), Op::Move(-9)]), None);
        assert_eq!(back(&[Op::Move(-10)]), None);
        // I/O in between may call the runtime.
        assert_eq!(back(&[set(0, 1), Op::Out { off: 0 }]), None);
    }

    #[test]
    fn checked_code_compares_with_the_tape_bounds() {
        assert!(code("+", CHECKED).len() > code("+", GUARDED).len());
        assert!(!Target::new(EofMode::Zero, 65536).checked);
        assert!(Target::new(EofMode::Zero, 100).checked);
    }

    #[test]
    fn far_accesses_are_checked_even_with_guards() {
        let p =
            Program { insts: vec![crate::ir::Inst::new(Op::Add { off: GUARD_BYTES as i32, val: 1 }, 0)], data: vec![] };
        let far = compile(&p, GUARDED).bytes.len();
        let p = Program { insts: vec![crate::ir::Inst::new(Op::Add { off: 5, val: 1 }, 0)], data: vec![] };
        let near = compile(&p, GUARDED).bytes.len();
        assert!(far > near);
    }
}
