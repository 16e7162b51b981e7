//! `--emit asm`: the generated machine code, disassembled (Intel syntax),
//! for people who want to see what the compiler made of their program.
//!
//! Reads `CompiledCode` only; knows nothing of how it was produced.

use std::fmt::Write as _;

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

use crate::code::CompiledCode;

/// One line per instruction: offset, bytes, instruction. Stops at the end
/// of the code proper; `data_len` bytes of constant output follow it and
/// are shown as a count.
pub fn disassemble(code: &CompiledCode, data_len: usize) -> String {
    let text = &code.bytes[..code.bytes.len() - data_len];
    let mut decoder = Decoder::with_ip(64, text, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_branch_leading_zeros(false);
    let mut out = String::new();
    let mut line = String::new();
    let mut inst = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut inst);
        line.clear();
        formatter.format(&inst, &mut line);
        let start = inst.ip() as usize;
        let bytes: String = text[start..start + inst.len()].iter().map(|b| format!("{b:02x}")).collect();
        let entry = if start == code.entry { "  <- entry" } else { "" };
        let _ = writeln!(out, "{start:6x}:  {bytes:<24} {line}{entry}");
    }
    if data_len > 0 {
        let _ = writeln!(out, "{:6x}:  ({data_len} bytes of precomputed output)", text.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disassembles_instructions_in_order() {
        // push rbp; mov rbp,rsp; ret
        let code = CompiledCode { bytes: vec![0x55, 0x48, 0x89, 0xe5, 0xc3, b'h', b'i'], entry: 0 };
        let text = disassemble(&code, 2);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("push rbp") && lines[0].ends_with("<- entry"), "{text}");
        assert!(lines[1].contains("mov rbp,rsp"), "{text}");
        assert!(lines[2].contains("ret"), "{text}");
        assert!(lines[3].contains("2 bytes of precomputed output"), "{text}");
    }
}
