//! Emission: a `select::Plan` -> x86-64 machine code, with dynasm. This
//! file has the driver (`emit`), the emitter's state, the prologue and
//! epilogue, and the tape checks; `cells.rs` the code of plain
//! instructions, `io.rs` input and output, `jumps.rs` jumps in their
//! fewest bytes (the reason for two passes), `loops.rs` loops, ifs and
//! shortcuts, `registers.rs` cells in registers, `scan.rs` scans and
//! `switch.rs` switches and carry loops.
//!
//! Owns the bytes and the bookkeeping of emitting them: which cells eax
//! holds (`in_eax`), what the zero flag reflects (`zf_cell`), how far the
//! pointer may be from a cell known on the tape (`unchecked_shift`),
//! where each instruction's code starts (`marks`), and the accesses whose
//! fault is not an error yet, with the code a fault there resumes at
//! (`recoverable_access`, `emit_recoveries`). Decides no form: what a
//! loop, a run or a scan becomes is the plan's (`select`), and the emitter
//! never asks whether it should.

use dynasmrt::x64::{Rq, X64Relocation};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use super::select::{EaxCells, FrameBlocks, Plan, Run, Step, Straight};
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
            // In a walk in blocks: where the block tested last ends (see
            // `emit_frame_blocks`); no straight-line code uses it.
            ; .alias a_block_end, r11
            // In a carry loop: the pointer values from which its switch's
            // last cell is past the tape's end, and below which its first
            // cell is before the tape's start (see `emit_carry_loop`).
            ; .alias a_switch_end, r8
            ; .alias a_switch_start, r9
            ; $($t)*
        )
    };
}

mod blocks;
mod cells;
mod forward;
mod io;
mod jumps;
mod loops;
mod registers;
mod scan;
mod stores;
mod switch;
#[cfg(test)]
mod tests;
mod walk;
mod wide;

use cells::{CellInst, FieldInst};
use jumps::{Jump, Jumps};

/// Stack slot (below the saved registers) holding the status while the
/// exit path flushes output.
const STATUS_SLOT: i32 = -48;

/// The code of `program` as `plan` says, and where in it each instruction
/// of the program starts (the first copy, where there are two), then where
/// the code after the last one (the exits and helpers) starts.
///
/// Emitted twice: first with every jump forward in its 32-bit form, then
/// with those that fit in 8 bits short (`jumps`).
pub(super) fn emit(plan: &Plan, program: &Program, target: Target) -> (CompiledCode, Vec<usize>) {
    let first = Emitter::pass(plan, program, target, Jumps::default(), 0);
    let short = first.jumps.shortened(&first.jumps.targets(&first.ops));
    let emitter = if short.contains(&true) {
        // Not kept alongside the second: a big program's code and
        // positions, twice over. Its length is about the second's, whose
        // buffer then need not grow (copying what it holds) on the way.
        let len = first.ops.offset().0;
        drop(first);
        Emitter::pass(plan, program, target, Jumps::with_short(short), len)
    } else {
        first
    };
    let targets = emitter.jumps.targets(&emitter.ops);
    let mut bytes = emitter.ops.finalize().expect("all labels are defined");
    emitter.jumps.patch(&mut bytes, &targets);
    let code = CompiledCode {
        bytes,
        entry: 0,
        code_len: emitter.code_len,
        positions: emitter.positions,
        cell_bits: target.cell_bits,
    };
    (code, emitter.marks)
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
    /// check itself (whose address the way out records); and where the
    /// access is not an error yet, what its way out does instead.
    checks: Vec<(DynamicLabel, DynamicLabel, Option<Recovery>)>,
    /// The code offset of each access that the tape's guard pages check
    /// and whose fault is not an error yet, and what happens instead (the
    /// table after `code_end`, bfrt.h's "fault pads").
    pads: Vec<(usize, Recovery)>,
    /// Code still to emit after the program (`emit_recoveries`): the plain
    /// copies of register loops, walks, unrolled loops and blocks of sets,
    /// and runs with temporaries as they are.
    plain_code: Vec<PlainCode>,
    /// The table's entries, once the code they resume at is emitted: the
    /// access's code offset, where a fault there resumes.
    pad_table: Vec<(u32, DynamicLabel)>,
    /// Where the instructions end (`code_end`), once they do.
    code_len: usize,
    /// Set by the start of a scan back that may not resume (the pointer
    /// not past where the first scan started): where that scan's own first
    /// test goes (`emit_scan`).
    unresumed_scan: Option<DynamicLabel>,
    /// The products a run keeps in registers, their cells not loaded yet
    /// (`registers.rs`'s `Held::Product`), in the order of their multiplies.
    carried: Vec<Carried>,
    /// The forward jumps' sizes and targets (`jumps.rs`).
    jumps: Jumps,
    /// The way out, the helpers and the data (`Routines`).
    routines: Routines,
}

/// The labels of what the code of every program shares: the way out and
/// the helpers after the program's code, and where its data starts. Each
/// output, input and tape check refers to one of them. Dynamic labels: a
/// reference to one is a vector's element, where dynasm's named labels
/// (`->exit`, `>done`) are each a hash map's entry: a sixth of lostkng's
/// emission (docs/performance.md, fourteenth stop). The templates here
/// use no named labels.
#[derive(Clone, Copy)]
struct Routines {
    code_start: DynamicLabel,
    code_end: DynamicLabel,
    fault_resume: DynamicLabel,
    exit: DynamicLabel,
    flush: DynamicLabel,
    flush_or_leave: DynamicLabel,
    read: DynamicLabel,
    read_error: DynamicLabel,
    tape_error: DynamicLabel,
    data: DynamicLabel,
}

impl Routines {
    fn new(ops: &mut Asm) -> Routines {
        let mut label = || ops.new_dynamic_label();
        Routines {
            code_start: label(),
            code_end: label(),
            fault_resume: label(),
            exit: label(),
            flush: label(),
            flush_or_leave: label(),
            read: label(),
            read_error: label(),
            tape_error: label(),
            data: label(),
        }
    }
}

/// What an access off the tape does when that is not an error yet.
enum Recovery {
    /// The target of an `if_nonzero` multiply: no error where the source is
    /// zero, which the unoptimised program's loop would not have entered;
    /// the code goes on after the access (docs/diagnostics.md, "Speculated
    /// multiplies").
    Skip(Skip),
    /// A load a loop makes before an iteration (a register loop's cells,
    /// a short loop's carried cell), earlier than the program touches the
    /// cell: the loop runs again from its test as plain code, which fails
    /// where the program does.
    Restart(DynamicLabel),
    /// A run's first load of a cell an `if_nonzero` multiply added its
    /// product to (in `product`, `registers.rs`'s `Held::Product`): an
    /// error at the multiply's command if that is not zero (code at
    /// `nonzero_site` stands for it), else here.
    Either(Either),
    /// A copy's load of its source, before the store into the cell the
    /// program touches first (`copy`): both off the same end of the tape,
    /// the error is that cell's, at its command; else the source's.
    TouchFirst(TouchFirst),
}

/// See `Recovery::TouchFirst`.
#[derive(Clone, Copy)]
struct TouchFirst {
    /// The cell the program touches first, and the command that does.
    first: i32,
    first_at: u32,
    /// The source's offset, and the command that reads it.
    off: i32,
    at: u32,
}

/// See `Recovery::Either`.
#[derive(Clone, Copy)]
struct Either {
    product: Rq,
    off: i32,
    nonzero_at: u32,
    nonzero_site: DynamicLabel,
    zero_at: u32,
}

/// See `Recovery::Skip`.
struct Skip {
    /// The byte register holding the multiply's source.
    source: Rq,
    /// After the access.
    resume: DynamicLabel,
    /// The target's offset, and the command the access is reported at.
    off: i32,
    at: u32,
    /// The products kept in registers at the access (`Emitter::carried`),
    /// each with a label for code that stands for its multiply: where one
    /// is not zero, the program touched its cell before this one.
    carried: Vec<(Carried, DynamicLabel)>,
}

/// A product an `if_nonzero` multiply (the command `at`) keeps in the
/// register `product`, its target `off` not loaded yet.
#[derive(Clone, Copy)]
pub(super) struct Carried {
    pub(super) product: Rq,
    pub(super) off: i32,
    pub(super) at: u32,
}

/// Code made after the program (`emit_recoveries`), at `entry`: plain
/// instructions, or a run as it is, which are the instructions from
/// `copy.0` on (but `copy.1`, as in the copy of an unrolled body they
/// stand for), with `unchecked_shift` `shift` before the first. A loop in
/// registers or unrolled goes on at the `exit` of that code
/// (`PlainCode::looped`), and so does a run with temporaries, where one of
/// them is not 0; a block of sets runs so only where one of its cells is
/// off the tape, and fails before its end (no exit).
struct PlainCode {
    entry: DynamicLabel,
    exit: Option<DynamicLabel>,
    copy: (usize, Option<usize>),
    body: PlainBody,
    shift: u64,
}

/// What `PlainCode` is.
enum PlainBody {
    /// Instructions, each as outside any form.
    Ops(Vec<Op>),
    /// A run, its temporaries not taken for zero; `copy.0` is its second
    /// instruction, `first` the index of its first.
    Run { run: Box<Run>, first: usize },
    /// The test of a block of a walk's iterations (`emit_frame_blocks`),
    /// before the run whose first instruction is `first`: its temporaries
    /// `zeros`, the run as it is at `general`.
    FrameBlocks { blocks: Box<FrameBlocks>, zeros: Vec<i32>, general: DynamicLabel, first: usize },
}

impl PlainCode {
    /// A loop (`Inst` index `first` and on: its `Loop`, `body`, its
    /// `EndLoop`); `shift`: `unchecked_shift` at its test.
    fn looped(
        entry: DynamicLabel,
        exit: DynamicLabel,
        first: usize,
        test: i32,
        body: impl IntoIterator<Item = Op>,
        shift: u64,
    ) -> PlainCode {
        let ops = [Op::Loop { off: test }].into_iter().chain(body).chain([Op::EndLoop]).collect();
        PlainCode { entry, exit: Some(exit), copy: (first, None), body: PlainBody::Ops(ops), shift }
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

impl Emitter {
    /// The whole code, its forward jumps' sizes as `jumps` says, their
    /// displacements not written yet; room for `reserve` bytes made at
    /// once (0: none).
    fn pass(plan: &Plan, program: &Program, target: Target, jumps: Jumps, reserve: usize) -> Emitter {
        let mut emitter = Emitter::new(target, program, jumps);
        emitter.ops.reserve_ops(reserve);
        emitter.prologue();
        for step in &plan.steps {
            emitter.step(step, program);
        }
        emitter.emit_recoveries(program);
        emitter.mark();
        emitter.epilogue(&program.data);
        emitter
    }

    fn new(target: Target, program: &Program, jumps: Jumps) -> Emitter {
        let insts = program.insts.len() + 1;
        let mut ops = Asm::new(0);
        let routines = Routines::new(&mut ops);
        Emitter {
            ops,
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
            pads: Vec::new(),
            plain_code: Vec::new(),
            pad_table: Vec::new(),
            code_len: 0,
            unresumed_scan: None,
            carried: Vec::new(),
            jumps,
            routines,
        }
    }

    fn step(&mut self, step: &Step, program: &Program) {
        self.mark();
        self.step_code(step, program);
    }

    /// A step's code, its first instruction's start noted already.
    fn step_code(&mut self, step: &Step, program: &Program) {
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
            Step::RegisterWalk(w) => self.emit_register_walk(w),
            Step::SmallLoop(l) => self.emit_small_loop(l, program),
            Step::CarryLoop(l) => self.emit_carry_loop(l),
            Step::FastForward(f) => self.emit_fast_forward(f),
            Step::WalkInBlocks(w) => self.emit_walk_in_blocks(w, program),
            Step::WalkKeepsStart { test, walk } => {
                self.keep_scan_start(*test);
                self.step_code(walk, program);
            }
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
            Straight::Run(run) => self.emit_register_run(run, program, None),
            Straight::Sets(block) => self.emit_set_block(block),
            Straight::Switch(switch) => {
                let src_in_eax = self.in_eax.holds(switch.src);
                self.lose_eax_and_flags();
                self.emit_switch(switch, src_in_eax);
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

    /// The command the code being emitted is attributed to (`attribute`).
    fn attributed(&self) -> u32 {
        self.positions.last().map_or(NO_POSITION, |last| last.at)
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
        let before = self.attributed();
        self.attribute(self.next_ats[inst]);
        let value = read(self);
        self.attribute(before);
        value
    }

    /// Where a copy of the code being emitted goes through the
    /// instructions (`unmarked`) from `inst` on: within a copy (an
    /// unrolled loop's second body), past what that copy skips.
    fn copy_from(&self, inst: usize) -> (usize, Option<usize>) {
        (inst, if self.marking { None } else { self.copy_skips })
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
        let Routines { code_start, code_end, fault_resume, .. } = self.routines;
        asm!(self.ops;
            =>code_start
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
            ; lea rax, [=>code_start]
            ; mov [a_rt + rt::CODE_START], rax
            ; lea rax, [=>code_end]
            ; mov [a_rt + rt::CODE_END], rax
            ; lea rax, [=>fault_resume]
            ; mov [a_rt + rt::FAULT_RESUME], rax
        );
    }

    /// The way out (with the output flushed), the helpers the code calls,
    /// and after them the program's data.
    fn epilogue(&mut self, data: &[u8]) {
        let read_error_status = Status::ReadError as i32;
        let underflow = Status::TapeUnderflow as i32;
        let overflow = Status::TapeOverflow as i32;
        let Routines { fault_resume, exit, flush, flush_or_leave, read, read_error, tape_error, .. } = self.routines;
        let (flushed, failed) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        asm!(self.ops;
            xor eax, eax
            // The host's fault handler resumes here with the status in eax.
            ; =>fault_resume
            // eax: the status to return. Output is flushed whatever it is.
            ; =>exit
            ; lea rsp, [rbp + STATUS_SLOT]
            ; mov [rbp + STATUS_SLOT], eax
            ; call =>flush
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
            ; =>flush
            ; xor eax, eax
            ; mov rsi, [a_rt + rt::OUT_BUF]
            ; mov rdx, a_out
            ; sub rdx, rsi
            ; jz =>flushed
            ; sub rsp, 8
            ; mov rdi, a_rt
            ; call QWORD [a_rt + rt::WRITE]
            ; add rsp, 8
            ; mov a_out, [a_rt + rt::OUT_BUF]
            ; =>flushed
            ; ret

            // Writes out the buffer, where the code found it full (or
            // without room for a print); leaves on failure. Saves each
            // output the test and the jump after the call: 10 bytes
            // instead of 22 for the check after a `.`.
            ; =>flush_or_leave
            ; sub rsp, 8
            ; call =>flush
            ; add rsp, 8
            ; test eax, eax
            ; jnz =>exit // which resets rsp
            ; ret

            // Flushes, then reads a byte; eax = byte, READ_EOF or failure.
            ; =>read
            ; call =>flush
            ; test eax, eax
            ; jnz =>failed
            ; sub rsp, 8
            ; mov rdi, a_rt
            ; call QWORD [a_rt + rt::READ]
            ; add rsp, 8
            ; ret
            ; =>failed
            ; add rsp, 8 // drop the return address: leave from here
            ; jmp =>exit

            ; =>read_error
            ; mov eax, read_error_status
            ; jmp =>exit
            // An explicit check failed (see `touch_within`): rcx holds the
            // check's address, rdx the cell's.
            ; =>tape_error
            ; mov [a_rt + rt::FAULT_PC], rcx
            ; mov [a_rt + rt::FAULT_ADDR], rdx
            ; mov eax, underflow
            ; cmp rdx, a_tape
            ; jb =>exit
            ; mov eax, overflow
            ; jmp =>exit
        );
        for (out, check, recovery) in std::mem::take(&mut self.checks) {
            asm!(self.ops; =>out);
            match recovery {
                Some(Recovery::Skip(skip)) => {
                    asm!(self.ops; test Rb(skip.source), Rb(skip.source));
                    self.jump(Jump::IfZero, skip.resume);
                    // A product's cell off the tape failed first (rdx, the
                    // address of the cell checked, is kept).
                    for (carried, site) in skip.carried {
                        let (on_tape, off_tape) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
                        asm!(self.ops; test Rb(carried.product), Rb(carried.product));
                        self.jump(Jump::IfZero, on_tape);
                        self.jump_unless_on_tape((carried.off, carried.off), None, off_tape);
                        self.jump(Jump::Always, on_tape);
                        asm!(self.ops; =>off_tape);
                        self.cell_address(Rq::RDX, carried.off);
                        asm!(self.ops; lea rcx, [=>site]; jmp =>tape_error; =>on_tape);
                    }
                }
                Some(Recovery::Restart(plain)) => self.jump(Jump::Always, plain),
                // A copy's target was checked before its source (`copy`).
                Some(Recovery::TouchFirst(_)) => {}
                Some(Recovery::Either(either)) => {
                    let zero = self.ops.new_dynamic_label();
                    asm!(self.ops
                        ; test Rb(either.product), Rb(either.product)
                        ; jz =>zero
                        ; lea rcx, [=>either.nonzero_site]
                        ; jmp =>tape_error
                        ; =>zero
                    );
                }
                None => {}
            }
            asm!(self.ops; lea rcx, [=>check]; jmp =>tape_error);
        }
        let labels = self.ops.labels();
        let offset = |label| labels.resolve_dynamic(label).expect("emitted").0 as u32;
        let pads: Vec<(u32, u32)> = self.pad_table.iter().map(|&(access, pad)| (access, offset(pad))).collect();
        while !self.ops.offset().0.is_multiple_of(4) {
            self.ops.push(0xCC);
        }
        asm!(self.ops; =>self.routines.code_end);
        self.code_len = self.ops.offset().0;
        self.ops.extend((pads.len() as u32).to_le_bytes());
        for (access, pad) in pads {
            self.ops.extend(access.to_le_bytes());
            self.ops.extend(pad.to_le_bytes());
        }
        asm!(self.ops; =>self.routines.data);
        self.ops.extend(data.iter().copied());
    }

    /// After the program's code (the end jumps over it), the code a fault
    /// at each access of `pads` resumes at (the host's fault handler finds
    /// it in the table after `code_end`, `pad_table`): for a skip, a pad
    /// that goes back after the access on a zero source, else touches the
    /// cell again, to fail as the multiply's command; for a restart, the
    /// loop as plain code; for either, the cell touched as the multiply's
    /// command or as its own by the product. Before the exits: the line table knows
    /// code with a command only up to them.
    fn emit_recoveries(&mut self, program: &Program) {
        let sited = |check: &(DynamicLabel, DynamicLabel, Option<Recovery>)| match &check.2 {
            Some(Recovery::Either(_)) => true,
            Some(Recovery::Skip(skip)) => !skip.carried.is_empty(),
            _ => false,
        };
        if self.pads.is_empty() && self.plain_code.is_empty() && !self.checks.iter().any(sited) {
            return;
        }
        let past = self.ops.new_dynamic_label();
        self.jump(Jump::Always, past);
        // First the plain code: its accesses have recoveries of their own
        // (an `if_nonzero` multiply's skip). (Its instructions, plain or a
        // run's, make no plain code themselves: only steps do.)
        for plain in std::mem::take(&mut self.plain_code) {
            self.emit_plain_code(plain, program);
        }
        assert!(self.plain_code.is_empty(), "plain code made by plain code");
        // A check's way out names the multiply by the address of code that
        // stands for it (`emit_either_site`).
        let sites: Vec<Either> = (self.checks.iter())
            .filter_map(|check| match check.2 {
                Some(Recovery::Either(either)) => Some(either),
                _ => None,
            })
            .collect();
        let carried_sites: Vec<(Carried, DynamicLabel)> = (self.checks.iter())
            .filter_map(|check| match &check.2 {
                Some(Recovery::Skip(skip)) => Some(skip.carried.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        for (access, recovery) in std::mem::take(&mut self.pads) {
            let pad = match recovery {
                Recovery::Skip(skip) => {
                    let pad = self.ops.new_dynamic_label();
                    asm!(self.ops; =>pad; test Rb(skip.source), Rb(skip.source));
                    self.jump(Jump::IfZero, skip.resume);
                    // Off the tape, a cell with a product not zero failed
                    // first, at its multiply.
                    for (carried, _) in skip.carried {
                        let zero = self.ops.new_dynamic_label();
                        asm!(self.ops; test Rb(carried.product), Rb(carried.product));
                        self.jump(Jump::IfZero, zero);
                        self.touch_as(carried.at, carried.off);
                        asm!(self.ops; =>zero);
                    }
                    self.emit_refault(skip.at, skip.off);
                    pad
                }
                Recovery::Restart(plain) => plain,
                Recovery::TouchFirst(touch) => {
                    let pad = self.ops.new_dynamic_label();
                    asm!(self.ops; =>pad);
                    self.touch_as(touch.first_at, touch.first);
                    self.emit_refault(touch.at, touch.off);
                    pad
                }
                Recovery::Either(either) => {
                    let pad = self.ops.new_dynamic_label();
                    asm!(self.ops; =>pad; test Rb(either.product), Rb(either.product); jz >zero);
                    self.emit_either_site(either);
                    asm!(self.ops; zero:);
                    self.emit_refault(either.zero_at, either.off);
                    pad
                }
            };
            self.pad_table.push((access as u32, pad));
        }
        for either in sites {
            self.emit_either_site(either);
        }
        for (carried, site) in carried_sites {
            asm!(self.ops; =>site);
            self.emit_refault(carried.at, carried.off);
        }
        asm!(self.ops; =>past);
    }

    /// Code at `either.nonzero_site` that stands for the multiply: it
    /// touches the cell again, as that command.
    fn emit_either_site(&mut self, either: Either) {
        asm!(self.ops; =>either.nonzero_site);
        self.emit_refault(either.nonzero_at, either.off);
    }

    /// Touches the cell `off` again as the command at `at`: off the tape
    /// still, it faults there (the `ud2` is never reached).
    fn emit_refault(&mut self, at: u32, off: i32) {
        self.touch_as(at, off);
        asm!(self.ops; ud2);
    }

    /// Touches the cell `off` as the command at `at` (a `cmp`, which off
    /// the tape faults there), in a recovery's code.
    fn touch_as(&mut self, at: u32, off: i32) {
        self.attribute(at);
        self.cell(CellInst::CmpZero, off);
    }

    /// Plain code (`PlainCode`): a copy, as `marks` goes (the
    /// instructions' code is the loop's in registers or unrolled, the
    /// block's stores, or the run's with its temporaries taken for zero).
    fn emit_plain_code(&mut self, plain: PlainCode, program: &Program) {
        self.lose_eax_and_flags();
        self.unchecked_shift = plain.shift;
        asm!(self.ops; =>plain.entry);
        self.unmarked(plain.copy, |e| match plain.body {
            PlainBody::Ops(ops) => {
                for op in ops {
                    e.mark();
                    e.op(op, program);
                }
            }
            PlainBody::Run { run, first } => {
                e.attribute(e.ats[first]);
                e.run_code(&run, program, &[]);
            }
            PlainBody::FrameBlocks { blocks, zeros, general, first } => {
                e.attribute(e.ats[first]);
                let fast = plain.exit.expect("a block test goes on to the run");
                e.emit_frame_blocks(&blocks, &zeros, (fast, general));
            }
        });
        self.lose_eax_and_flags();
        match plain.exit {
            Some(exit) => self.jump(Jump::Always, exit),
            // Never reached: a cell of the block is off the tape.
            None => asm!(self.ops; ud2),
        }
    }

    /// Makes sure an access to `[a_ptr + off]` faults or fails when it is
    /// off the tape; afterwards that cell is known to be on the tape.
    fn touch(&mut self, off: i32) {
        self.touch_within(off, self.unchecked_shift + off.unsigned_abs() as u64);
    }

    /// Whether `touch(off)` would emit a check (which changes the flags).
    fn touch_checks(&self, off: i32) -> bool {
        self.checks_at(self.unchecked_shift + off.unsigned_abs() as u64)
    }

    /// Whether a touch of a cell `distance` from one known on the tape
    /// needs an explicit check: always on checked tapes, and beyond the
    /// guard area on guarded ones.
    fn checks_at(&self, distance: u64) -> bool {
        self.target.checked || distance >= GUARD_BYTES as u64
    }

    /// `touch`, for a cell `distance` from one known to be on the tape.
    fn touch_within(&mut self, off: i32, distance: u64) {
        if self.checks_at(distance) {
            let (out, check) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
            self.checks.push((out, check, None));
            // rdx: eax may hold a cell value (`in_eax`).
            asm!(self.ops; =>check);
            self.cell_address(Rq::RDX, off);
            asm!(self.ops; cmp rdx, a_tape);
            self.jump(Jump::IfBelow, out);
            self.runtime_field(FieldInst::Cmp, Rq::RDX, rt::TAPE_END);
            self.jump(Jump::IfAboveOrEqual, out);
        }
        // The access itself (or the check) ties the pointer to a tape cell
        // within |off| of it.
        self.unchecked_shift = off.unsigned_abs() as u64;
    }

    /// Emits with `access` the one instruction of a multiply that touches
    /// its target `off`. For an `if_nonzero` multiply, `source` is the
    /// byte register holding its source, and where that is zero a tape
    /// error of the access is none: the code goes on after it.
    fn target_access(&mut self, off: i32, source: Option<Rq>, access: impl FnOnce(&mut Self)) {
        let Some(source) = source else {
            self.touch(off);
            return access(self);
        };
        let shift = self.unchecked_shift;
        self.recoverable_access(off, access, |e| {
            let resume = e.ops.new_dynamic_label();
            asm!(e.ops; =>resume);
            let carried = e.carried.clone().into_iter().map(|carried| (carried, e.ops.new_dynamic_label())).collect();
            Recovery::Skip(Skip { source, resume, off, at: e.attributed(), carried })
        });
        // Skipped, the access proved nothing of the pointer, and the flags
        // are the test of the source.
        self.unchecked_shift = shift.max(self.unchecked_shift);
        self.zf_cell = None;
    }

    /// Emits with `access` one instruction that touches `off`; off the
    /// tape, what `recovery` (emitted right after it) returns happens
    /// instead of an error: the explicit check's way out does it, or the
    /// fault handler, through the table after `code_end`.
    fn recoverable_access(
        &mut self,
        off: i32,
        access: impl FnOnce(&mut Self),
        recovery: impl FnOnce(&mut Self) -> Recovery,
    ) {
        let checks = self.checks.len();
        self.touch(off);
        let code = self.ops.offset().0;
        access(self);
        let recovery = recovery(self);
        match self.checks.get_mut(checks) {
            Some(check) => check.2 = Some(recovery),
            None => self.pads.push((code, recovery)),
        }
    }

    /// Jumps to `elsewhere` unless the cells from `lo` to `hi` (offsets
    /// from the pointer) are all on the tape. Uses rcx. `touched`: a cell
    /// the code just before touched, with the pointer where it is (a
    /// loop's test): it is on the tape, or the code would have failed
    /// there, so an end on its side of it needs no compare (a walk down
    /// from its test cell compares only its lowest cell).
    fn jump_unless_on_tape(&mut self, (lo, hi): (i32, i32), touched: Option<i32>, elsewhere: DynamicLabel) {
        self.jump_if_before_tape(lo, touched, elsewhere);
        self.jump_if_past_tape(hi, touched, elsewhere);
    }

    /// Jumps to `elsewhere` if the cell `off` is before the tape's start,
    /// unless `touched` (as in `jump_unless_on_tape`) proves it is not.
    fn jump_if_before_tape(&mut self, off: i32, touched: Option<i32>, elsewhere: DynamicLabel) {
        if touched.is_none_or(|cell| off < cell) {
            self.cell_address(Rq::RCX, off);
            asm!(self.ops; cmp rcx, a_tape);
            self.jump(Jump::IfBelow, elsewhere);
        }
    }

    /// Jumps to `elsewhere` if the cell `off` is past the tape's end,
    /// unless `touched` proves it is not.
    fn jump_if_past_tape(&mut self, off: i32, touched: Option<i32>, elsewhere: DynamicLabel) {
        if touched.is_none_or(|cell| off > cell) {
            self.cell_address(Rq::RCX, off);
            self.runtime_field(FieldInst::Cmp, Rq::RCX, rt::TAPE_END);
            self.jump(Jump::IfAboveOrEqual, elsewhere);
        }
    }
}
