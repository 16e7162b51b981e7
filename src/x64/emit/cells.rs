//! Cells and moves: instructions on `BYTE [rbx + off]` with the shortest
//! encoding (`CellInst`, `Emitter::cell`), pointer moves, and the code of
//! each plain instruction (`Emitter::op`) and of a copy.
//!
//! Emits what it is given; the forms (which instructions are fused, which
//! go to registers) are the plan's.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi};

use super::{Emitter, Recovery, TouchFirst};
use crate::ir::{Op, Program};
use crate::x64::select::Product;

/// An instruction on a field of the runtime table, for
/// `Emitter::runtime_field`.
#[derive(Clone, Copy)]
pub(super) enum FieldInst {
    /// `mov reg, [field]`
    Load,
    /// `mov [field], reg`
    Store,
    /// `cmp reg, [field]`
    Cmp,
}

/// An instruction on the cell `BYTE [rbx + off]`, for `Emitter::cell`.
#[derive(Clone, Copy)]
pub(super) enum CellInst {
    AddImm(u8),
    /// `adc BYTE [cell], imm8`
    AdcImm(u8),
    /// `sbb BYTE [cell], imm8`
    SbbImm(u8),
    /// `cmp BYTE [cell], 0`
    CmpZero,
    /// `cmp BYTE [cell], imm8`
    CmpImm(u8),
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
    /// `add r8, [cell]`
    AddToReg(Rq),
    /// `or al, [cell]`
    OrToAl,
}

impl Emitter {
    /// Emits `inst` with the shortest displacement for `off`. dynasm
    /// encodes every displacement known only at run time in 32 bits; most
    /// cell offsets fit in 8 (or are 0), which makes the hot instructions
    /// 3 or 4 bytes instead of 7.
    pub(super) fn cell(&mut self, inst: CellInst, off: i32) {
        // (opcode, ModRM reg field, immediate)
        let (opcode, reg, imm): (&[u8], u8, Option<u8>) = match inst {
            CellInst::AddImm(v) => (&[0x80], 0, Some(v)),
            CellInst::AdcImm(v) => (&[0x80], 2, Some(v)),
            CellInst::SbbImm(v) => (&[0x80], 3, Some(v)),
            CellInst::CmpZero => (&[0x80], 7, Some(0)),
            CellInst::CmpImm(v) => (&[0x80], 7, Some(v)),
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
            CellInst::AddToReg(r) => (&[0x02], r as u8, None),
            CellInst::OrToAl => (&[0x0A], 0, None),
        };
        // REX: REX.R for r8-r15; a byte operand among spl, bpl, sil and dil
        // needs one to be told from ah, ch, dh and bh.
        let byte_operand =
            matches!(inst, CellInst::StoreReg(_) | CellInst::AddReg(_) | CellInst::SubReg(_) | CellInst::AddToReg(_));
        if reg >= 8 || (byte_operand && reg >= 4) {
            self.ops.push(0x40 | (reg >> 3) << 2);
        }
        self.ops.extend(opcode.iter().copied());
        self.rbx_operand(reg & 7, off);
        self.ops.extend(imm);
    }

    /// The ModRM byte and displacement of the operand `[rbx + off]`, `reg`
    /// the ModRM's reg field: the displacement in 8 bits where it fits.
    pub(super) fn rbx_operand(&mut self, reg: u8, off: i32) {
        const RBX: u8 = 0b011;
        match off {
            0 => self.ops.push(reg << 3 | RBX),
            -128..=127 => self.ops.extend([0b01 << 6 | reg << 3 | RBX, off as u8]),
            _ => {
                self.ops.push(0b10 << 6 | reg << 3 | RBX);
                self.ops.extend(off.to_le_bytes());
            }
        }
    }

    /// `lea reg, [rbx + off]` (a cell's address), with the shortest
    /// displacement.
    pub(super) fn cell_address(&mut self, reg: Rq, off: i32) {
        let reg = reg as u8;
        self.ops.extend([0x48 | (reg >> 3) << 2, 0x8D]);
        self.rbx_operand(reg & 7, off);
    }

    /// `inst` between a 64-bit register and a field of the runtime table,
    /// `QWORD [r12 + field]`, with an 8-bit displacement (`table_operand`).
    pub(super) fn runtime_field(&mut self, inst: FieldInst, reg: Rq, field: i32) {
        let opcode = match inst {
            FieldInst::Load => 0x8B,
            FieldInst::Store => 0x89,
            FieldInst::Cmp => 0x3B,
        };
        let reg = reg as u8;
        // REX.W, REX.R for r8-r15, REX.B for r12.
        self.ops.extend([0x49 | (reg >> 3) << 2, opcode]);
        self.table_operand(reg & 7, field);
    }

    /// `call QWORD [r12 + field]`: a runtime function, through the table
    /// (5 bytes where dynasm took 8).
    pub(super) fn runtime_call(&mut self, field: i32) {
        // REX.B for r12; FF /2.
        self.ops.extend([0x41, 0xFF]);
        self.table_operand(2, field);
    }

    /// The ModRM, SIB and displacement of the operand `[r12 + field]`, `reg`
    /// the ModRM's reg field: 8 bits, as every field is within 127 bytes of
    /// the table's start (dynasm would take 32).
    fn table_operand(&mut self, reg: u8, field: i32) {
        let disp = i8::try_from(field).expect("runtime table fields are within 127 bytes");
        // ModRM [base + disp8] with a SIB byte, SIB base r12 (no index).
        self.ops.extend([0x44 | reg << 3, 0x24, disp as u8]);
    }

    /// `lea rbx, [rbx + delta]`, with an 8-bit displacement where it fits.
    pub(super) fn move_ptr(&mut self, delta: i32) {
        // `lea`, not `add`: as short, and it leaves the flags of the
        // cell an add just changed for the test after the move.
        self.ptr_from(Rq::RBX, delta);
    }

    /// `lea rbx, [base + disp]`.
    pub(super) fn ptr_from(&mut self, base: Rq, disp: i32) {
        self.lea64(Rq::RBX, base, disp);
    }

    /// `lea dst, [base + disp]`, the displacement in 8 bits where it fits
    /// (dynasm takes 32 for one known only at run time, and a SIB byte
    /// for a base known only then).
    pub(super) fn lea64(&mut self, dst: Rq, base: Rq, disp: i32) {
        let (dst, base) = (dst as u8, base as u8);
        debug_assert!(base & 7 != 4, "no SIB byte");
        // REX.W, REX.R and REX.B for r8-r15; ModRM [base + disp8 or disp32].
        self.ops.extend([0x48 | (dst >> 3) << 2 | base >> 3, 0x8D]);
        let modrm = (dst & 7) << 3 | (base & 7);
        match i8::try_from(disp) {
            Ok(small) => self.ops.extend([0x40 | modrm, small as u8]),
            Err(_) => {
                self.ops.push(0x80 | modrm);
                self.ops.extend(disp.to_le_bytes());
            }
        }
    }

    /// ecx = source * factor (the low byte is what counts): `lea` where it
    /// can, one cycle where `imul` takes three, on loops' critical paths;
    /// from the source's own register, with no copy into eax first.
    pub(super) fn multiply_into_ecx(&mut self, source: Rq, factor: u8) {
        match scaled(source, factor) {
            Some((base, index)) => self.lea32(Rq::RCX, base, Some(index), 0),
            // The immediate in 8 bits: only the low byte of the product counts.
            None => asm!(self.ops; imul ecx, Rd(source), BYTE factor as i8),
        }
    }

    /// `lea dst32, [base + index * scale + disp]`, with the shortest
    /// encoding: dynasm gives registers and displacements known only at
    /// run time a REX prefix and 32 bits they may not need (`lea ecx,
    /// [rsi+rsi]` in 5 bytes where 3 do). Without a base, the displacement
    /// takes 32 bits (x86 has no shorter form); the index is never rsp.
    pub(super) fn lea32(&mut self, dst: Rq, base: Option<Rq>, index: Option<(Rq, u8)>, disp: i32) {
        let (dst, base) = (dst as u8, base.map(|b| b as u8));
        let (index_reg, scale) = index.map_or((None, 0), |(r, scale)| (Some(r as u8), scale.trailing_zeros() as u8));
        debug_assert!(index_reg != Some(4), "rsp is no index");
        let rex = 0x40 | (dst >> 3) << 2 | index_reg.map_or(0, |i| i >> 3) << 1 | base.map_or(0, |b| b >> 3);
        if rex != 0x40 {
            self.ops.push(rex);
        }
        self.ops.push(0x8D);
        // mod: no displacement (but rbp and r13 as a base need one), 8 or
        // 32 bits; 00 with no base means a 32-bit displacement alone.
        let disp_bytes = match base {
            None => 4,
            Some(b) if disp == 0 && b & 7 != 0b101 => 0,
            Some(_) if i8::try_from(disp).is_ok() => 1,
            Some(_) => 4,
        };
        let mode = match (base, disp_bytes) {
            (None, _) | (_, 0) => 0b00,
            (_, 1) => 0b01,
            _ => 0b10,
        };
        let base_bits = base.map_or(0b101, |b| b & 7);
        // A SIB byte for an index, no base, or rsp or r12 as the base.
        if index_reg.is_some() || base.is_none() || base_bits == 0b100 {
            let index_bits = index_reg.map_or(0b100, |i| i & 7);
            self.ops.extend([mode << 6 | (dst & 7) << 3 | 0b100, scale << 6 | index_bits << 3 | base_bits]);
        } else {
            self.ops.push(mode << 6 | (dst & 7) << 3 | base_bits);
        }
        match disp_bytes {
            0 => {}
            1 => self.ops.push(disp as u8),
            _ => self.ops.extend(disp.to_le_bytes()),
        }
    }

    /// `set [t] = 0` then `mul [t] += [s] * k` as one (`Straight::Copy`):
    /// the product stored, with no load of the cell just cleared. The
    /// cleared cell is touched first, as before (checked), and the store
    /// is the clear's; the load is the multiply's (the instruction after
    /// the clear).
    pub(super) fn copy(&mut self, Product { off, src, factor }: Product) {
        self.zf_cell = None;
        self.touch(off);
        let first_at = self.attributed();
        let mut eax = self.in_eax;
        self.reading_source_of(self.current_inst() + 1, |e| {
            if !eax.pass_copy(Product { off, src, factor }) {
                e.touch(src);
            } else if e.touch_checks(src) {
                // Checked, after the target (its own check, if it needs one).
                e.touch(src);
                e.cell(CellInst::MovzxEax, src);
            } else {
                // Off the tape, the load fails before the store into the
                // target the program touched first: where that is off too,
                // the error is the target's.
                let load = |e: &mut Emitter| e.cell(CellInst::MovzxEax, src);
                e.recoverable_access(src, load, |e| {
                    Recovery::TouchFirst(TouchFirst { first: off, first_at, off: src, at: e.attributed() })
                });
            }
        });
        match factor {
            1 => self.cell(CellInst::StoreAl, off),
            _ => {
                self.multiply_into_ecx(Rq::RAX, factor);
                self.cell(CellInst::StoreCl, off);
            }
        }
        self.in_eax = eax;
    }

    /// The code of one instruction on its own.
    pub(super) fn op(&mut self, op: Op, program: &Program) {
        if self.target.wide() {
            return self.wide_op(op);
        }
        let zf_cell = self.zf_cell.take();
        // What eax holds after it, and whether it loads eax to get there.
        let held = self.in_eax;
        let load = self.in_eax.pass_op(op);
        match op {
            Op::Add { off, val: 0 } => {
                // Changes nothing but must fail off the tape.
                self.touch(off);
                if !self.target.checked {
                    self.cell(CellInst::CmpZero, off);
                }
            }
            // Where eax holds the cell, the add is made there and stored
            // (`EaxCells::pass_op`): the next add or test of it (a chain of
            // `if`s on one counter, morse.b's 55) waits for an ALU add, not
            // for a store to reach the next read-modify-write of the byte.
            Op::Add { off, val } if held.holds(off) => {
                self.touch(off);
                asm!(self.ops; add al, val as i8);
                self.cell(CellInst::StoreAl, off);
                self.zf_cell = Some(off);
            }
            Op::Add { off, val } => {
                self.touch(off);
                self.cell(CellInst::AddImm(val), off);
                self.zf_cell = Some(off);
            }
            Op::Set { off, val } => {
                // A `mov` leaves the flags of another cell's add alone,
                // where the touch checks nothing.
                let checks = self.touch_checks(off);
                self.touch(off);
                self.cell(CellInst::MovImm(val), off);
                self.zf_cell = zf_cell.filter(|&cell| cell != off && !checks);
            }
            Op::AddMul { off, src, factor, if_nonzero } => self.multiply(off, src, factor, if_nonzero, load),
            Op::Move(delta) => {
                self.move_ptr(delta);
                self.unchecked_shift += delta.unsigned_abs() as u64;
                // The same cell, seen from the pointer moved.
                self.zf_cell = zf_cell.map(|cell| cell - delta);
            }
            Op::Out { off } => {
                self.touch(off);
                self.cell(CellInst::LoadAl, off);
                self.emit_output_al();
            }
            Op::Print { start, len } => self.emit_print(&program.data[start as usize..(start + len) as usize], start),
            Op::In { off } => self.emit_input(off),
            Op::Loop { off } => self.open_loop(off, None, zf_cell),
            Op::If { off } => self.open_if(off, load, zf_cell),
            Op::EndLoop => self.close_loop(zf_cell),
            Op::EndIf | Op::EndShortcut => self.close_block(op),
            Op::Scan { stride, value } => self.emit_scan(stride, value),
            Op::Dump => self.emit_dump(),
            Op::Switch { .. } | Op::Shortcut { .. } => unreachable!("selection gives {op:?} a plan of its own"),
        }
    }

    /// `cell[off] += cell[src] * factor`, loading eax with the source if
    /// `load` (it does not hold it already).
    fn multiply(&mut self, off: i32, src: i32, factor: u8, if_nonzero: bool, load: bool) {
        self.reading_source_of(self.current_inst(), |e| {
            e.touch(src);
            if load {
                e.cell(CellInst::MovzxEax, src);
            }
        });
        let access = match factor {
            // Only touches it (an `if_nonzero` touch, `opt::closed_form`).
            0 => CellInst::CmpZero,
            1 => CellInst::AddAl,
            255 => CellInst::SubAl,
            _ => {
                self.multiply_into_ecx(Rq::RAX, factor);
                CellInst::AddCl
            }
        };
        self.target_access(off, if_nonzero.then_some(Rq::RAX), |e| e.cell(access, off));
        // The add to memory set the flags by the cell's new value; not
        // where a zero source may skip it (`if_nonzero`).
        if factor != 0 && !if_nonzero {
            self.zf_cell = Some(off);
        }
    }
}

/// `source * factor` as a `lea` operand, `[base + index * scale]`, for
/// the factors x86 can scale by: 2, 3, 4, 5, 8 and 9.
pub(super) fn scaled(source: Rq, factor: u8) -> Option<(Option<Rq>, (Rq, u8))> {
    match factor {
        2 => Some((Some(source), (source, 1))),
        3 => Some((Some(source), (source, 2))),
        4 => Some((None, (source, 4))),
        5 => Some((Some(source), (source, 4))),
        8 => Some((None, (source, 8))),
        9 => Some((Some(source), (source, 8))),
        _ => None,
    }
}
