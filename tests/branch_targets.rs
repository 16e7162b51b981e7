//! Every jump (and call) of the generated code lands on an instruction: the code of
//! each corpus program (and of each cell width and tape kind), decoded from
//! its first byte to `code_len`, has every branch's target at the start of
//! an instruction of it. The emitter writes its jumps' displacements itself
//! (`x64/emit/jumps.rs`, after sizing them in two passes); a displacement
//! off by a byte would show here even for a jump no run takes.

mod common;

use std::collections::HashSet;

use iced_x86::{Decoder, DecoderOptions, OpKind};

/// The branch targets of `code` that are not instruction starts.
fn stray_targets(code: &bfc::code::CompiledCode) -> Vec<(u64, u64)> {
    let text = &code.bytes[..code.code_len];
    let mut decoder = Decoder::with_ip(64, text, 0, DecoderOptions::NONE);
    let (mut starts, mut branches) = (HashSet::new(), Vec::new());
    while decoder.can_decode() {
        let inst = decoder.decode();
        starts.insert(inst.ip());
        // Jumps and calls with a displacement.
        if inst.op_count() > 0 && inst.op0_kind() == OpKind::NearBranch64 {
            branches.push((inst.ip(), inst.near_branch_target()));
        }
    }
    branches.into_iter().filter(|(_, target)| !starts.contains(target)).collect()
}

#[test]
fn every_jump_lands_on_an_instruction() {
    let progs = common::corpus_dir().join("progs");
    let mut sources: Vec<_> = std::fs::read_dir(&progs)
        .expect("the corpus")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "b"))
        .collect();
    sources.sort();
    assert!(sources.len() > 50, "the corpus's programs, not {}", sources.len());
    let mut checked = 0;
    for path in &sources {
        let source = std::fs::read(path).unwrap();
        for (tape_cells, cell_bits) in [(65536, 8), (30000, 8), (65536, 16)] {
            let options = bfc::Options { tape_cells, cell_bits, eval_steps: 0, ..bfc::Options::default() };
            let Ok(program) = bfc::front_end("t.b", &source, &options) else { continue };
            let code = bfc::back_end(&program, &options);
            let stray = stray_targets(&code);
            let first = &stray[..stray.len().min(8)];
            assert!(
                stray.is_empty(),
                "{}, tape {tape_cells}, {cell_bits} bits: {} jumps off, (from, to) {first:x?}",
                path.display(),
                stray.len()
            );
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} codes checked");
}
