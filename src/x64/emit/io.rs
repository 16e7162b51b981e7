//! Input and output: `,`, `.` and output known at compile time, through
//! the output buffer and the runtime table.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{CellInst, Emitter, FieldInst, Routines};
use crate::code::{rt_offset as rt, READ_EOF};
use crate::ir::EofMode;

impl Emitter {
    /// Output known at compile time. Short runs are stored into the buffer
    /// as immediates; long ones are handed to `write` straight from the
    /// copy of `Program::data` placed after the code.
    ///
    /// A short run is written out as soon as it fills the buffer, as a `.`
    /// is (`emit_flush_if_full`): the next `.` must find room, and a host
    /// that wants output to appear as it is made (on a terminal) sets
    /// `out_end` one byte past `out_buf`, where a run left in the buffer
    /// would wait for the next output, read or the end.
    pub(super) fn emit_print(&mut self, bytes: &[u8], start: u32) {
        const INLINE: usize = 32;
        if bytes.len() <= INLINE {
            let len = bytes.len() as u8;
            // `lea rax, [r13 + len]` and each `mov BYTE [r13 + i], byte`
            // with 8-bit displacements (dynasm's would be 32-bit).
            self.ops.extend([0x49, 0x8D, 0x45, len]);
            let room = self.ops.new_dynamic_label();
            asm!(self.ops
                ; cmp rax, a_out_end
                ; jbe BYTE =>room
                ; call =>self.routines.flush_or_leave
                ; =>room
            );
            for (i, &byte) in bytes.iter().enumerate() {
                self.ops.extend([0x41, 0xC6, 0x45, i as u8, byte]);
            }
            asm!(self.ops; add a_out, BYTE len as i8);
            self.emit_flush_if_full();
        } else {
            let Routines { flush, exit, data, .. } = self.routines;
            asm!(self.ops
                ; call =>flush
                ; test eax, eax
                ; jnz =>exit
                ; mov rdi, a_rt
                ; lea rsi, [=>data]
                ; add rsi, start as i32
                // Zero-extended: 5 bytes where `mov rdx, imm64` took 10.
                ; mov edx, i32::try_from(bytes.len()).expect("data under 2 GiB")
            );
            self.runtime_call(rt::WRITE);
            asm!(self.ops
                ; test eax, eax
                ; jnz =>exit
            );
        }
    }

    /// Appends al to the output buffer, flushing it when full.
    pub(super) fn emit_output_al(&mut self) {
        asm!(self.ops
            ; mov [a_out], al
            ; add a_out, 1
        );
        self.emit_flush_if_full();
    }

    /// After `a_out` was advanced: writes the buffer out if it reached
    /// `a_out_end`. Every output form ends with this, so that `a_out` is
    /// below `a_out_end` between instructions: a `.` stores its byte
    /// before it compares, so a buffer left full would take that byte one
    /// past `out_end` (for the JIT's 64 KiB mapping, into whatever is
    /// mapped after it: a fault, reported as a tape error or a SIGSEGV).
    fn emit_flush_if_full(&mut self) {
        let room = self.ops.new_dynamic_label();
        asm!(self.ops
            ; cmp a_out, a_out_end
            ; jb BYTE =>room
            ; call =>self.routines.flush_or_leave
            ; =>room
        );
    }

    /// `#`: the output so far written, then the runtime's `dump` called
    /// with the pointer (it reads only cells on the tape). The call
    /// clobbers eax and the flags, which `in_eax`/`zf_cell` know of every
    /// instruction but arithmetic.
    pub(super) fn emit_dump(&mut self) {
        let Routines { flush, exit, .. } = self.routines;
        asm!(self.ops
            ; call =>flush
            ; test eax, eax
            ; jnz =>exit
            ; mov rdi, a_rt
            ; mov rsi, a_ptr
        );
        self.runtime_call(rt::DUMP);
        asm!(self.ops
            ; test eax, eax
            ; jnz =>exit
        );
    }

    pub(super) fn emit_input(&mut self, off: i32) {
        let eof = match self.target.eof {
            EofMode::Unchanged => None,
            EofMode::Zero => Some(0),
            EofMode::MinusOne => Some(0xFF),
        };
        self.emit_input_with(
            off,
            |e| e.cell(CellInst::CmpZero, off),
            |e, byte| e.cell(if byte == Rq::RCX { CellInst::StoreCl } else { CellInst::StoreAl }, off),
            |e| eof.into_iter().for_each(|value| e.cell(CellInst::MovImm(value), off)),
        );
    }

    /// The code of a `,` into the cell at `off`, its instructions given
    /// (a byte's, or a wider cell's): `test` touches it, `store` stores
    /// ecx or eax (the byte, zero-extended) into it, `store_eof` puts what
    /// `--eof` says there at the end of input. The cell is touched first, so
    /// a bad cell fails the same way whether or not input remains (the
    /// interpreter checks it first too). While input is buffered a byte is
    /// taken inline: no call, and no flush (the program cannot be waiting
    /// on a prompt then). Every jump but to `read_error` is short: the
    /// code between is a few instructions.
    pub(super) fn emit_input_with(
        &mut self,
        off: i32,
        test: impl FnOnce(&mut Self),
        store: impl Fn(&mut Self, Rq),
        store_eof: impl FnOnce(&mut Self),
    ) {
        self.touch(off);
        test(self);
        self.runtime_field(FieldInst::Load, Rq::RAX, rt::IN_CUR);
        self.runtime_field(FieldInst::Cmp, Rq::RAX, rt::IN_END);
        let [refill, eof, done] = [(); 3].map(|()| self.ops.new_dynamic_label());
        let Routines { read, read_error, .. } = self.routines;
        asm!(self.ops
            ; jae BYTE =>refill
            ; movzx ecx, BYTE [rax]
            ; add rax, 1
        );
        self.runtime_field(FieldInst::Store, Rq::RAX, rt::IN_CUR);
        store(self, Rq::RCX);
        asm!(self.ops
            ; jmp BYTE =>done
            ; =>refill
            ; call =>read
            ; test eax, eax
            ; js BYTE =>eof
        );
        store(self, Rq::RAX);
        asm!(self.ops
            ; jmp BYTE =>done
            ; =>eof
            ; cmp eax, BYTE READ_EOF
            ; jne =>read_error
        );
        store_eof(self);
        asm!(self.ops; =>done);
    }
}
