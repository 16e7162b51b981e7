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
//!   rsi, rdi, r8-r11  the cells of a loop that runs in registers, and
//!                     (but r11) of a run of arithmetic (`registers.rs`)
//!   r11  where a scan started, for the scan back (`scan.rs`)
//!   rsi  a switch's tables; r8, r9 a carry loop's bounds (`switch.rs`)
//!   eax, ecx, edx     scratch; eax often holds a cell (`EaxCells`)
//!
//! This file has the driver (`compile`), the generator's state and the
//! code for plain instructions; `registers.rs`, `scan.rs` and `switch.rs`
//! the code for the patterns named above, each choosing where its pattern
//! applies and emitting it.
//!
//! Tape errors: the host surrounds the tape with `GUARD_BYTES` of
//! inaccessible memory, so an access that lands there faults and the host's
//! handler resumes at `fault_resume` with the status in eax. Accesses that
//! could land beyond the guard area, and every access when the tape size is
//! not page aligned (`checked`), are compared with the tape bounds instead.

use dynasmrt::x64::{Rq, X64Relocation};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use crate::code::{rt_offset as rt, CompiledCode, Status, GUARD_BYTES, READ_EOF, TAPE_ALIGN};
use crate::ir::analysis::Hull;
use crate::ir::{Change, EofMode, Inst, Op, Program, Shortcut};

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

mod registers;
mod scan;
mod select;
mod switch;

use registers::{register_loop, run_registers};
use scan::{scan_return, ScanReturn};
use select::{zero_tests, ZeroTest};
use switch::carry_loop;

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
    let mut gen = Gen::new(target);
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
                gen.emit_small_loop(off, body, program, &mut starts);
                i = partner[i] + 1;
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
        i += gen.op_or_fused(&program.insts[i..], program, &mut starts);
    }
    gen.epilogue(&program.data);
    let bytes = gen.ops.finalize().expect("all labels are defined");
    (CompiledCode { bytes, entry: 0 }, starts)
}

/// In a walk (a loop body that moves the pointer only at its end), a set
/// that the next iteration overwrites before anything reads it: mandelbrot's
/// shifts, `[p+10] = [p+1]; [p+1] = 0; p -= 9`, clear `[p+1]` just before
/// the next iteration stores into it. Such a store is needed only after the
/// last iteration, so it is made once, on the way out. Returns its index.
///
/// The store is then made after accesses that came after it: the same
/// error if its cell is off the tape, as long as the body does no I/O and
/// its cells, and the next iteration's, are closer than the smallest tape.
fn sunk_store(body: &[Inst], test: i32) -> Option<usize> {
    let (Op::Move(stride), rest) = (body.last()?.op, &body[..body.len() - 1]) else { return None };
    let plain = |inst: &Inst| {
        matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } | Op::EndIf)
    };
    if stride == 0 || !rest.iter().all(plain) {
        return None;
    }
    let touched = |inst: &Inst| inst.op.cells_touched();
    // This iteration's cells and the next one's, a stride on.
    let cells = Hull::of_offsets(rest.iter().flat_map(touched).chain([test]));
    if !cells.join(cells.shifted(stride.into())).within_smallest_tape() {
        return None;
    }
    // Depth of each instruction inside the body's ifs.
    let depth: Vec<i32> = rest
        .iter()
        .scan(0, |depth, inst| {
            let here = *depth - i32::from(inst.op.closes());
            *depth = here + i32::from(inst.op.opens());
            Some(here)
        })
        .collect();
    (0..rest.len()).find(|&j| {
        let Op::Set { off: cell, .. } = rest[j].op else { return false };
        // Nothing after it reads or writes its cell, the next test does not
        // read it, and the next iteration's first access to it is a set.
        let next = cell - stride;
        let first_next = rest.iter().position(|inst| touched(inst).any(|c| c == next));
        depth[j] == 0
            && !rest[j + 1..].iter().any(|inst| touched(inst).any(|c| c == cell))
            && cell != test + stride
            && first_next.is_some_and(|k| depth[k] == 0 && matches!(rest[k].op, Op::Set { .. }))
    })
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
    fn new(target: Target) -> Gen {
        Gen {
            ops: Asm::new(0),
            target,
            unchecked_shift: 0,
            blocks: Vec::new(),
            in_eax: EaxCells::NONE,
            zf_cell: None,
            scan_return: None,
        }
    }

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

    /// Jumps to `elsewhere` unless the cells from `lo` to `hi` (offsets
    /// from the pointer) are all on the tape. Uses rcx.
    fn jump_unless_on_tape(&mut self, (lo, hi): (i32, i32), elsewhere: DynamicLabel) {
        asm!(self.ops
            ; lea rcx, [a_ptr + lo]
            ; cmp rcx, a_tape
            ; jb =>elsewhere
            ; lea rcx, [a_ptr + hi]
            ; cmp rcx, [a_rt + rt::TAPE_END]
            ; jae =>elsewhere
        );
    }

    /// `insts`, in order (a loop body's straight-line run), noting where
    /// each starts in `starts`.
    fn straight(&mut self, insts: &[Inst], program: &Program, starts: &mut Vec<usize>) {
        let mut i = 0;
        while i < insts.len() {
            starts.push(self.ops.offset().0);
            i += self.op_or_fused(&insts[i..], program, starts);
        }
    }

    /// The first of `insts`, or several as one where they make one: a run
    /// of arithmetic with cells in registers (`run_registers`), or `set [t]
    /// = 0` then `mul [t] += [s] * k`, which stores the product (no load of
    /// the cell just cleared). Returns how many it took, having noted in
    /// `starts` where each but the first starts (the caller notes that).
    fn op_or_fused(&mut self, insts: &[Inst], program: &Program, starts: &mut Vec<usize>) -> usize {
        if !self.target.checked {
            if let Some((len, cells)) = run_registers(insts) {
                let held = self.emit_register_run(&insts[..len], cells.get(), program, starts);
                // The instruction after the run may read a cell it kept in
                // a register: eax takes it from there, not from the store
                // just made (not from a register left stale by a constant).
                let read_next = match insts.get(len).map(|inst| inst.op) {
                    Some(Op::If { off }) => Some(off),
                    Some(Op::AddMul { src, .. }) => Some(src),
                    _ => None,
                };
                let k = read_next.and_then(|off| cells.get().iter().position(|&cell| cell == off));
                if let Some((k, r)) = k.and_then(|k| Some((k, held[k]?))) {
                    asm!(self.ops; mov eax, Rd(r));
                    self.in_eax = EaxCells::only(cells.get()[k]);
                }
                return len;
            }
        }
        let done = self.copy_or_op(insts, program);
        starts.extend(std::iter::repeat_n(self.ops.offset().0, done - 1));
        done
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
            if off == target
                && src != off
                && (self.target.checked || Hull::of_offsets([off, src]).within_smallest_tape())
            {
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
            Op::Shortcut { start } => self.open_shortcut(&program.shortcut(start)),
            Op::EndShortcut => {
                let Block { exit, .. } = self.blocks.pop().expect("balanced IR");
                asm!(self.ops; =>exit);
                // eax and the flags are what the shortcut or the body left:
                // neither is known. What the body's end knows of the tape
                // holds after the shortcut too: the shortcut is one run of
                // the body, every cell of which it checked is on the tape.
                self.zf_cell = None;
                // A scan in the body may have kept where it started for a
                // scan back after the block; the shortcut did not.
                self.scan_return = None;
            }
        }
    }

    /// A shortcut (`Op::Shortcut`) and the start of the code it stands
    /// for: its cells are compared with the tape's bounds, its zeros
    /// tested, and if all is well its changes made, then on after the
    /// block.
    fn open_shortcut(&mut self, shortcut: &Shortcut) {
        let code = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        self.jump_unless_on_tape(shortcut.reach, code);
        for ZeroTest { at, size, mask } in zero_tests(shortcut) {
            match size {
                8 if mask == u64::MAX => asm!(self.ops; mov rax, QWORD [a_ptr + at]; test rax, rax),
                8 => asm!(self.ops; mov rax, QWORD [a_ptr + at]; mov rcx, QWORD mask as i64; test rax, rcx),
                4 => asm!(self.ops; mov eax, DWORD [a_ptr + at]; test eax, mask as i32),
                2 => asm!(self.ops; movzx eax, WORD [a_ptr + at]; test eax, mask as i32),
                _ => asm!(self.ops; movzx eax, BYTE [a_ptr + at]; test eax, eax),
            }
            asm!(self.ops; jnz =>code);
        }
        for &(off, change) in &shortcut.changes {
            match change {
                Change::Set(v) => self.cell(CellInst::MovImm(v), off),
                Change::Add(v) => self.cell(CellInst::AddImm(v), off),
            }
        }
        if shortcut.delta != 0 {
            self.move_ptr(shortcut.delta);
        }
        asm!(self.ops; jmp =>exit; =>code);
        self.blocks.push(Block { top: code, exit, off: 0 });
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

    /// A short innermost loop (`is_small_inner_loop`), its end included:
    /// two copies of the body per iteration, the loop tested between them
    /// (one taken branch for two iterations), with a carried cell in eax
    /// (`carried_in_eax`) and a sunk store (`sunk_store`) where there are.
    /// Notes where each instruction starts (the first copy) in `starts`.
    fn emit_small_loop(&mut self, off: i32, body: &[Inst], program: &Program, starts: &mut Vec<usize>) {
        let sunk = sunk_store(body, off).filter(|_| !self.target.checked);
        let kept: Vec<Inst> =
            body.iter().enumerate().filter(|&(k, _)| Some(k) != sunk).map(|(_, inst)| *inst).collect();
        let carried = self.carried_in_eax(off, &kept, program);
        self.open_loop(off, carried);
        // The sunk store is made on the way out of a loop that ran, not on
        // the way past one that did not.
        let not_run = sunk.map(|_| {
            let ran = self.ops.new_dynamic_label();
            std::mem::replace(&mut self.blocks.last_mut().expect("the loop").exit, ran)
        });
        let (before, after) = kept.split_at(sunk.unwrap_or(kept.len()));
        self.straight(before, program, starts);
        if sunk.is_some() {
            starts.push(self.ops.offset().0);
        }
        self.straight(after, program, starts);
        self.exit_if_zero(off);
        self.straight(&kept, program, &mut Vec::new());
        if let Some(cell) = carried.filter(|&cell| !self.in_eax.holds(cell)) {
            // Not where the body was expected to leave it.
            self.touch(cell);
            self.cell(CellInst::MovzxEax, cell);
            self.zf_cell = None;
        }
        starts.push(self.ops.offset().0);
        self.op(Op::EndLoop, program);
        if let (Some(j), Some(not_run)) = (sunk, not_run) {
            let (Op::Set { off: cell, val }, Some(Op::Move(stride))) = (body[j].op, body.last().map(|inst| inst.op))
            else {
                unreachable!("sunk_store sinks a set from a walk")
            };
            // The last iteration's store: the pointer has moved on.
            self.touch(cell - stride);
            self.cell(CellInst::MovImm(val), cell - stride);
            asm!(self.ops; =>not_run);
            // Both ways the loop's test touched its cell last here.
            self.unchecked_shift = off.unsigned_abs() as u64;
        }
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
    fn a_walk_clears_what_the_next_iteration_overwrites_on_the_way_out() {
        let insts = |ops: &[Op]| ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect::<Vec<_>>();
        let (set, copy) = (|off| Op::Set { off, val: 0 }, |off, src| Op::AddMul { off, src, factor: 1 });
        // mandelbrot's shift: the next iteration's copy overwrites [p+1].
        let shift = [set(10), copy(10, 1), set(1), Op::Move(-9)];
        assert_eq!(sunk_store(&insts(&shift), 0), Some(2));
        // An add reads it; the loop's test reads it; a later access in the
        // same iteration reads it: the clear stays.
        let add = [Op::Add { off: 10, val: 1 }, set(1), Op::Move(-9)];
        assert_eq!(sunk_store(&insts(&add), 0), None);
        assert_eq!(sunk_store(&insts(&shift), 10), None);
        let reread = [set(10), copy(10, 1), set(1), copy(2, 1), Op::Move(-9)];
        assert_eq!(sunk_store(&insts(&reread), 0), None);
        // In the code: no clear of [p+1] in the loop, one of [p+10] after.
        let code = code_of(&[&[Op::Loop { off: 0 }], &shift[..], &[Op::EndLoop]].concat());
        assert!(!code.windows(4).any(|w| w == [0xc6, 0x43, 1, 0]), "mov byte [rbx+1], 0");
        assert_eq!(code.windows(4).filter(|w| *w == [0xc6, 0x43, 10, 0]).count(), 1);
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
        // The listing shows each instruction's part: one start each, in
        // order; the add's part and the multiply's are not empty.
        let insts = crate::ir::Program { insts: insts(&digit), data: vec![] };
        let (_, starts) = compile_marked(&insts, GUARDED);
        assert_eq!(starts.len(), digit.len());
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        assert!(starts[0] < starts[1] && starts[1] < starts[2]);
        // A computed value left at the end is stored from its register.
        let computed = code_of(&[add(0, 255), mul(0, 2), set(2, 0)]);
        assert!(computed.windows(3).any(|w| w == [0x40, 0x88, 0x33]), "mov [rbx], sil");
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

    /// Runs `ops` in the JIT on a tape of 64 KiB with no input; what it
    /// printed and how it ended.
    fn run_ops(ops: &[Op]) -> (Vec<u8>, Status) {
        let insts = ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
        let code = compile(&Program { insts, data: vec![] }, GUARDED);
        let loaded = crate::jit::LoadedCode::load(&code).unwrap();
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe() writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let exit = loaded.run_with(65536, crate::jit::Fds { input: -1, output: fds[1] }).unwrap();
        let mut out = vec![0u8; 64];
        // SAFETY: both are the pipe's own descriptors; out has room for 64 bytes.
        let n = unsafe {
            libc::close(fds[1]);
            let n = libc::read(fds[0], out.as_mut_ptr().cast(), out.len());
            libc::close(fds[0]);
            n
        };
        out.truncate(n.max(0) as usize);
        (out, exit.status)
    }

    #[test]
    fn an_if_after_a_run_reads_a_cell_left_constant_as_the_constant() {
        // [p] is computed, read back (so kept in a register), then set to 0
        // (a constant, stored as an immediate): the if must see 0, not the
        // register's earlier 255.
        let ops = [
            Op::Add { off: 0, val: 255 },
            Op::AddMul { off: 1, src: 0, factor: 1 },
            Op::Set { off: 0, val: 0 },
            Op::If { off: 0 },
            Op::Out { off: 1 },
            Op::EndIf,
            Op::Out { off: 0 },
        ];
        assert_eq!(run_ops(&ops), (vec![0], Status::Ok));
    }
}
