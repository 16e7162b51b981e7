//! `--emit asm`: the generated machine code, disassembled (Intel syntax),
//! for people who want to see what the compiler made of their program.
//!
//! Reads `CompiledCode` only; knows nothing of how it was produced.

use std::fmt::Write as _;

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

use crate::code::CompiledCode;

/// One line per instruction: offset, bytes, instruction. Stops at the end
/// of the code proper; `data_len` bytes of constant output and tables
/// follow it and are shown as a count. Each of `notes` (code offset, text;
/// in order of offset) is printed as a comment line before the instruction
/// at its offset.
pub fn disassemble(code: &CompiledCode, data_len: usize, notes: &[(usize, String)]) -> String {
    let text = &code.bytes[..code.bytes.len() - data_len];
    let mut decoder = Decoder::with_ip(64, text, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_branch_leading_zeros(false);
    let mut out = String::new();
    let mut line = String::new();
    let mut inst = Instruction::default();
    let mut next_note = 0;
    while decoder.can_decode() {
        decoder.decode_out(&mut inst);
        line.clear();
        formatter.format(&inst, &mut line);
        let start = inst.ip() as usize;
        while let Some((_, note)) = notes.get(next_note).filter(|(at, _)| *at <= start) {
            let _ = writeln!(out, "{:34}; {note}", "");
            next_note += 1;
        }
        let bytes: String = text[start..start + inst.len()].iter().map(|b| format!("{b:02x}")).collect();
        let entry = if start == code.entry { "  <- entry" } else { "" };
        let _ = writeln!(out, "{start:6x}:  {bytes:<24} {line}{entry}");
    }
    if data_len > 0 {
        let _ = writeln!(out, "{:6x}:  ({data_len} bytes of data: precomputed output, tables)", text.len());
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
        let text = disassemble(&code, 2, &[(1, "set up the frame".into()), (4, "return".into())]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("push rbp") && lines[0].ends_with("<- entry"), "{text}");
        assert!(lines[1].trim() == "; set up the frame", "{text}");
        assert!(lines[2].contains("mov rbp,rsp"), "{text}");
        assert!(lines[3].trim() == "; return", "{text}");
        assert!(lines[4].contains("ret"), "{text}");
        assert!(lines[5].contains("2 bytes of data"), "{text}");
    }
}
