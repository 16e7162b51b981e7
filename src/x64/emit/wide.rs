//! Cells of 16 and 32 bits (`--cell-bits`): each plain instruction as a
//! word or dword operation on `[rbx + off * bytes]`, the pointer moved by
//! `delta * bytes`.
//!
//! Selection gives every instruction on its own at these widths
//! (`select::plain`), and the passes that run there make only adds, sets,
//! moves, loops, scans for zero, input, output and dumps (`opt::passes`). Values in the IR
//! are signed bytes (`ir::widen`): x86's sign-extended 8-bit immediates
//! (`83 /0 ib`) are exactly that. eax and the flags are not tracked: every
//! loop test compares its cell again.
//!
//! Distances from a cell known on the tape (`unchecked_shift`) and the
//! offsets `touch` is given are in bytes here, as the guard area's size is.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{Block, CellInst, Emitter, Jump};
use crate::ir::{widen, EofMode, Op};

/// An instruction on a whole cell, for `Emitter::wide_cell`.
#[derive(Clone, Copy)]
enum WideInst {
    /// `add [cell], imm8` (sign-extended to the cell's width).
    AddImm(u8),
    /// `cmp [cell], imm8` (sign-extended to the cell's width)
    CmpImm(u8),
    /// `mov [cell], imm` (the byte sign-extended to the cell's width).
    MovImm(u8),
    /// `mov [cell], ax` or `eax`
    StoreAx,
    /// `mov [cell], cx` or `ecx`
    StoreCx,
}

impl Emitter {
    /// Bytes of a cell.
    fn cell_bytes(&self) -> i32 {
        self.target.cell_bits as i32 / 8
    }

    /// The byte offset of the cell `off` cells from the pointer.
    fn byte_offset(&self, off: i32) -> i32 {
        off.checked_mul(self.cell_bytes()).expect("cell offsets of wide cells fit in 32 bits as bytes")
    }

    /// `inst` on the cell at byte offset `off`, of the target's width.
    fn wide_cell(&mut self, inst: WideInst, off: i32) {
        if self.target.cell_bits == 16 {
            self.ops.push(0x66); // operand-size prefix: a word
        }
        let (opcode, reg) = match inst {
            WideInst::AddImm(_) => (0x83, 0),
            WideInst::CmpImm(_) => (0x83, 7),
            WideInst::MovImm(_) => (0xC7, 0),
            WideInst::StoreAx => (0x89, 0),
            WideInst::StoreCx => (0x89, 1),
        };
        self.ops.push(opcode);
        self.rbx_operand(reg, off);
        match inst {
            WideInst::AddImm(v) | WideInst::CmpImm(v) => self.ops.push(v),
            WideInst::MovImm(v) if self.target.cell_bits == 16 => self.ops.extend((widen(v) as u16).to_le_bytes()),
            WideInst::MovImm(v) => self.ops.extend(widen(v).to_le_bytes()),
            WideInst::StoreAx | WideInst::StoreCx => {}
        }
    }

    /// The code of one instruction at cells wider than a byte.
    pub(super) fn wide_op(&mut self, op: Op) {
        self.lose_eax_and_flags();
        match op {
            Op::Add { off, val: 0 } => {
                // Changes nothing but must fail off the tape.
                let off = self.byte_offset(off);
                self.touch(off);
                if !self.target.checked {
                    self.wide_cell(WideInst::CmpImm(0), off);
                }
            }
            Op::Add { off, val } => {
                let off = self.byte_offset(off);
                self.touch(off);
                self.wide_cell(WideInst::AddImm(val), off);
            }
            Op::Set { off, val } => {
                let off = self.byte_offset(off);
                self.touch(off);
                self.wide_cell(WideInst::MovImm(val), off);
            }
            Op::Move(delta) => {
                let bytes = delta as i64 * self.cell_bytes() as i64;
                match i32::try_from(bytes) {
                    Ok(bytes) => self.move_ptr(bytes),
                    Err(_) => asm!(self.ops; mov rax, QWORD bytes; add a_ptr, rax),
                }
                self.unchecked_shift += bytes.unsigned_abs();
            }
            Op::Out { off } => {
                // The low byte is the first: x86 is little-endian.
                let off = self.byte_offset(off);
                self.touch(off);
                self.cell(CellInst::LoadAl, off);
                self.emit_output_al();
            }
            Op::In { off } => self.emit_wide_input(self.byte_offset(off)),
            Op::Loop { off } => self.open_wide_loop(self.byte_offset(off)),
            Op::EndLoop => {
                let Block { top, exit, off } = self.blocks.pop().expect("balanced IR");
                self.touch(off);
                self.wide_cell(WideInst::CmpImm(0), off);
                self.jump(Jump::IfNonZero, top);
                asm!(self.ops; =>exit);
            }
            Op::Scan { stride, value } => self.emit_wide_scan(stride, value),
            Op::Dump => self.emit_dump(),
            _ => unreachable!("{op:?} is made only by passes that do not run at cells wider than a byte"),
        }
    }

    /// A loop's test and the top of its body, the cell at byte offset `off`.
    fn open_wide_loop(&mut self, off: i32) {
        let top = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        self.touch(off);
        self.wide_cell(WideInst::CmpImm(0), off);
        self.jump(Jump::IfZero, exit);
        self.align_loop_top();
        asm!(self.ops; =>top);
        self.blocks.push(Block { top, exit, off });
    }

    /// `while cell[0] != value { ptr += stride }`, one cell at a time (no
    /// vector form, no unrolling): each step's cell is within the step of
    /// the last one touched, checked where `touch_within` says (a checked
    /// tape, or a step past the guard area). The cells after the first are
    /// the `]`'s (`Inst::next_at`), as in `emit_scan`.
    fn emit_wide_scan(&mut self, stride: i32, value: u8) {
        let (again, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let step = self.byte_offset(stride);
        self.touch(0);
        self.wide_cell(WideInst::CmpImm(value), 0);
        self.jump(Jump::IfZero, done);
        self.attribute(self.next_ats[self.current_inst()]);
        self.align_loop_top();
        asm!(self.ops; =>again);
        self.move_ptr(step);
        self.touch_within(0, step.unsigned_abs() as u64);
        self.wide_cell(WideInst::CmpImm(value), 0);
        self.jump(Jump::IfNonZero, again);
        asm!(self.ops; =>done);
    }

    /// `,` into the cell at byte offset `off`: the byte zero-extended, as
    /// `emit_input` takes it (inline while input is buffered), and at the
    /// end of input 0 or all ones as `--eof` says.
    fn emit_wide_input(&mut self, off: i32) {
        let eof = match self.target.eof {
            EofMode::Unchanged => None,
            EofMode::Zero => Some(0),
            EofMode::MinusOne => Some(255),
        };
        self.emit_input_with(
            off,
            |e| e.wide_cell(WideInst::CmpImm(0), off),
            // A byte: ecx or eax is 0..=255.
            |e, byte| e.wide_cell(if byte == Rq::RCX { WideInst::StoreCx } else { WideInst::StoreAx }, off),
            |e| eof.into_iter().for_each(|value| e.wide_cell(WideInst::MovImm(value), off)),
        );
    }
}
