//! Input and output: `,`, `.` and output known at compile time, through
//! the output buffer and the runtime table.

use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::Emitter;
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
            self.emit_flush_if_full();
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
        asm!(self.ops
            ; cmp a_out, a_out_end
            ; jb >room
            ; call ->flush
            ; test eax, eax
            ; jnz ->exit
            ; room:
        );
    }

    /// `#`: the output so far written, then the runtime's `dump` called
    /// with the pointer (it reads only cells on the tape). The call
    /// clobbers eax and the flags, which `in_eax`/`zf_cell` know of every
    /// instruction but arithmetic.
    pub(super) fn emit_dump(&mut self) {
        asm!(self.ops
            ; call ->flush
            ; test eax, eax
            ; jnz ->exit
            ; mov rdi, a_rt
            ; mov rsi, a_ptr
            ; call QWORD [a_rt + rt::DUMP]
            ; test eax, eax
            ; jnz ->exit
        );
    }

    pub(super) fn emit_input(&mut self, off: i32) {
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
