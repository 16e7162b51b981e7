//! Emission: a `select::Plan` -> x86-64 machine code, with dynasm. This
//! file has the driver (`emit`), the emitter's state, the prologue and
//! epilogue, and the tape checks; `cells.rs` the code of plain
//! instructions, `io.rs` input and output, `loops.rs` loops, ifs and
//! shortcuts, `registers.rs` cells in registers, `scan.rs` scans and
//! `switch.rs` switches and carry loops.
//!
//! Owns the bytes and the bookkeeping of emitting them: which cells eax
//! holds (`in_eax`), what the zero flag reflects (`zf_cell`), how far the
//! pointer may be from a cell known on the tape (`unchecked_shift`), and
//! where each instruction's code starts (`marks`). Decides no form: what a
//! loop, a run or a scan becomes is the plan's (`select`), and the emitter
//! never asks whether it should.

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use super::select::{EaxCells, Plan, Step, Straight};
use super::Target;
use crate::code::{rt_offset as rt, CodePosition, CompiledCode, Status, GUARD_BYTES, NO_POSITION};
use crate::ir::{Op, Program};

type Asm = VecAssembler<X64Relocation>;

/// Emits with the register roles named.
macro_rules! asm {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops
            ; .arch x64
            ; .alias a_ptr, rbx
            ; .alias a_rt, r12
            // The next free byte of the output buffer: below a_out_end
            // between instructions (see `emit_flush_if_full`).
            ; .alias a_out, r13
            ; .alias a_out_end, r14
            ; .alias a_tape, r15
            // Where a scan started, while a later scan back can use it (see
            // `select::ScanForm`): caller-saved; nothing between the two
            // uses it.
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

mod cells;
mod io;
mod loops;
mod registers;
mod scan;
mod switch;
#[cfg(test)]
mod tests;
mod wide;

use cells::CellInst;

/// Stack slot (below the saved registers) holding the status while the
/// exit path flushes output.
const STATUS_SLOT: i32 = -48;

/// The code of `program` as `plan` says, and where in it each instruction
/// of the program starts (the first copy, where there are two), then where
/// the code after the last one (the exits and helpers) starts.
pub(super) fn emit(plan: &Plan, program: &Program, target: Target) -> (CompiledCode, Vec<usize>) {
    let mut emitter = Emitter::new(target, program);
    emitter.prologue();
    for step in &plan.steps {
        emitter.step(step, program);
    }
    emitter.mark();
    emitter.epilogue(&program.data);
    let bytes = emitter.ops.finalize().expect("all labels are defined");
    (CompiledCode { bytes, entry: 0, positions: emitter.positions, cell_bits: target.cell_bits }, emitter.marks)
}

struct Emitter {
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
    /// Where the code of each instruction starts, in program order.
    marks: Vec<usize>,
    /// Whether code being emitted is the one `marks` shows (not the second
    /// copy of an unrolled body).
    marking: bool,
    /// The source offset of each instruction of the program, then
    /// `NO_POSITION` for the code after the last; and of a scan's later
    /// steps (`Inst::next_at`).
    ats: Vec<u32>,
    next_ats: Vec<u32>,
    /// Where the code of each instruction starts, copies included, in code
    /// order: what a tape error's code address is reported at.
    positions: Vec<CodePosition>,
    /// While not `marking`: the instruction the next `mark` starts, and
    /// one the copy leaves out (a sunk store).
    copy_cursor: usize,
    copy_skips: Option<usize>,
    /// Explicit tape checks: the label of each one's way out, and of the
    /// check itself (whose address the way out records).
    checks: Vec<(DynamicLabel, DynamicLabel)>,
    /// Set by the start of a scan back that may not resume (the pointer
    /// not past where the first scan started): where that scan's own first
    /// test goes (`emit_scan`).
    unresumed_scan: Option<DynamicLabel>,
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

impl Emitter {
    fn new(target: Target, program: &Program) -> Emitter {
        let insts = program.insts.len() + 1;
        Emitter {
            ops: Asm::new(0),
            target,
            unchecked_shift: 0,
            blocks: Vec::new(),
            in_eax: EaxCells::NONE,
            zf_cell: None,
            marks: Vec::with_capacity(insts),
            marking: true,
            ats: program.insts.iter().map(|i| i.at).chain([NO_POSITION]).collect(),
            next_ats: program.insts.iter().map(|i| i.next_at).chain([NO_POSITION]).collect(),
            positions: Vec::with_capacity(insts),
            copy_cursor: 0,
            copy_skips: None,
            checks: Vec::new(),
            unresumed_scan: None,
        }
    }

    fn step(&mut self, step: &Step, program: &Program) {
        self.mark();
        match step {
            Step::Straight(piece) => self.piece(piece, program),
            Step::Scan { stride, value, form } => {
                self.scan_start(*stride, *form);
                self.op(Op::Scan { stride: *stride, value: *value }, program);
            }
            Step::Shortcut(plan) => {
                self.lose_eax_and_flags();
                self.open_shortcut(plan);
            }
            Step::RegisterLoop(l) => self.emit_register_loop(l, program),
            Step::SmallLoop(l) => self.emit_small_loop(l, program),
            Step::CarryLoop(l) => self.emit_carry_loop(l),
        }
    }

    /// Straight-line code, noting where each piece starts.
    fn straight(&mut self, pieces: &[Straight], program: &Program) {
        for piece in pieces {
            self.mark();
            self.piece(piece, program);
        }
    }

    /// One piece of straight-line code; its first instruction's start is
    /// noted already.
    fn piece(&mut self, piece: &Straight, program: &Program) {
        match piece {
            Straight::Op(op) => self.op(*op, program),
            Straight::Copy(copy) => {
                self.copy(*copy);
                self.mark();
            }
            Straight::Run(run) => self.emit_register_run(run, program),
            Straight::Switch(switch) => {
                self.lose_eax_and_flags();
                self.emit_switch(switch);
            }
        }
    }

    /// Code that follows uses eax and the flags for other things (or was
    /// reached from elsewhere): neither holds anything known.
    fn lose_eax_and_flags(&mut self) {
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
    }

    /// Notes that the next instruction's code starts here.
    fn mark(&mut self) {
        let code = self.ops.offset().0;
        let inst = if self.marking {
            self.marks.push(code);
            self.marks.len() - 1
        } else {
            if self.copy_skips == Some(self.copy_cursor) {
                self.copy_cursor += 1;
            }
            self.copy_cursor += 1;
            self.copy_cursor - 1
        };
        self.attribute(self.ats[inst.min(self.ats.len() - 1)]);
    }

    /// Notes that the code from here on is that of the command at `at`.
    fn attribute(&mut self, at: u32) {
        let code = self.ops.offset().0 as u32;
        match self.positions.last_mut() {
            Some(last) if last.code == code => last.at = at,
            _ => self.positions.push(CodePosition { code, at }),
        }
    }

    /// The instruction whose code is being emitted: the one marked last,
    /// or in a copy (`unmarked`) the copy's.
    fn current_inst(&self) -> usize {
        if self.marking {
            self.marks.len() - 1
        } else {
            self.copy_cursor - 1
        }
    }

    /// Emits with `read` the code that reads the source of the multiply
    /// `inst`, noted as the command that reads it (`Inst::next_at`: the
    /// multiply loop's `[`); the code after it is the command's it was
    /// before (the multiply's target, or a copy's clear).
    fn reading_source_of<R>(&mut self, inst: usize, read: impl FnOnce(&mut Self) -> R) -> R {
        let before = self.positions.last().map_or(NO_POSITION, |last| last.at);
        self.attribute(self.next_ats[inst]);
        let value = read(self);
        self.attribute(before);
        value
    }

    /// Emits code that `marks` does not show: a second copy of the
    /// instructions from `first` on, but `skip` (an unrolled body).
    fn unmarked(&mut self, (first, skip): (usize, Option<usize>), emit: impl FnOnce(&mut Self)) {
        let marking = std::mem::replace(&mut self.marking, false);
        (self.copy_cursor, self.copy_skips) = (first, skip);
        emit(self);
        self.marking = marking;
        // The code that follows is the original's again.
        self.attribute(self.ats[self.current_inst()]);
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

    /// The way out (with the output flushed), the helpers the code calls,
    /// and after them the program's data.
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
            // An explicit check failed (see `touch_within`): rcx holds the
            // check's address, rdx the cell's.
            ; ->tape_error:
            ; mov [a_rt + rt::FAULT_PC], rcx
            ; mov [a_rt + rt::FAULT_ADDR], rdx
            ; mov eax, underflow
            ; cmp rdx, a_tape
            ; jb ->exit
            ; mov eax, overflow
            ; jmp ->exit
        );
        for (out, check) in std::mem::take(&mut self.checks) {
            asm!(self.ops; =>out; lea rcx, [=>check]; jmp ->tape_error);
        }
        asm!(self.ops
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
            let (out, check) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
            self.checks.push((out, check));
            // rdx: eax may hold a cell value (`in_eax`).
            asm!(self.ops
                ; =>check
                ; lea rdx, [a_ptr + off]
                ; cmp rdx, a_tape
                ; jb =>out
                ; cmp rdx, [a_rt + rt::TAPE_END]
                ; jae =>out
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
}
