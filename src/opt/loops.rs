//! Loops recognised by their shape and replaced by what they compute.

use crate::ir::{Inst, Op, Program};

/// `[-]`, `[+]` and any loop that only adds an odd amount to its own cell:
/// it ends with the cell at zero, whatever it held (an odd step reaches 0
/// through wrap-around from any value).
pub fn clear_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    for inst in program.insts {
        if inst.op == Op::EndLoop {
            if let [.., Inst { op: Op::Loop { off }, at }, Inst { op: Op::Add { off: target, val }, .. }] = out[..] {
                if val % 2 == 1 && off == target {
                    out.truncate(out.len() - 2);
                    out.push(Inst::new(Op::Set { off, val: 0 }, at));
                    continue;
                }
            }
        }
        out.push(inst);
    }
    Program { insts: out, data: program.data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::combine;
    use crate::opt::testing::*;

    #[test]
    fn clears() {
        assert_eq!(ops(&clear_loops(program("[-]"))), vec![Op::Set { off: 0, val: 0 }]);
        assert_eq!(ops(&clear_loops(program("[+]"))), vec![Op::Set { off: 0, val: 0 }]);
        assert_eq!(ops(&clear_loops(combine(program("[---]")))), vec![Op::Set { off: 0, val: 0 }]);
    }

    #[test]
    fn even_steps_may_never_end_so_stay_loops() {
        let p = clear_loops(combine(program("[--]")));
        assert_eq!(ops(&p), vec![Op::Loop { off: 0 }, Op::Add { off: 0, val: 254 }, Op::EndLoop]);
    }

    #[test]
    fn keeps_behaviour() {
        assert_preserves(clear_loops, "+++++[-]+[+].-[---].", b"");
    }
}

/// Loops whose body only adds constants to cells around a counter, with the
/// pointer back where it started: `[->+>++<<]`. Run `n` times, they add
/// `n * c` to each cell, and `n` follows from the counter: the loop stops
/// when the counter reaches zero, which an odd step always does. They
/// become `cell[k] += cell[0] * factor` for each cell, guarded by an `If`
/// so a zero counter touches nothing, as the loop would.
///
/// Sets of other cells in the body (`[->+>[-]<<]`) are kept: done once or
/// many times, a set has the same effect.
pub fn multiply_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    let mut loop_starts: Vec<usize> = Vec::new();
    for inst in program.insts {
        match inst.op {
            Op::Loop { .. } => loop_starts.push(out.len()),
            Op::EndLoop => {
                if let Some(start) = loop_starts.pop() {
                    if let Some(replacement) = as_multiply(&out[start..]) {
                        out.truncate(start);
                        out.extend(replacement);
                        continue;
                    }
                }
            }
            _ => {}
        }
        out.push(inst);
    }
    Program { insts: out, data: program.data }
}

/// `body` starts with the `Loop`; the `EndLoop` is not part of it.
fn as_multiply(body: &[Inst]) -> Option<Vec<Inst>> {
    let at = body[0].at;
    let Op::Loop { off: counter } = body[0].op else { return None };
    let mut step = None;
    let mut adds = Vec::new();
    let mut sets = Vec::new();
    for inst in &body[1..] {
        match inst.op {
            Op::Add { off, val } if off == counter && step.is_none() => step = Some(val),
            Op::Add { off, val } if off != counter => adds.push((off, val, inst.at)),
            Op::Set { off, val } if off != counter => sets.push((off, val, inst.at)),
            _ => return None,
        }
    }
    let step = step?;
    if step % 2 == 0 {
        return None;
    }
    // Each cell once, so the order inside the body cannot matter.
    let mut offsets: Vec<i32> = adds.iter().map(|a| a.0).chain(sets.iter().map(|s| s.0)).collect();
    offsets.sort_unstable();
    if offsets.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    // The loop runs n times with x + n*step = 0 (mod 256): n = x * -1/step.
    let per_unit = inverse_mod_256(step).wrapping_neg();
    let mut ops = vec![Inst::new(Op::If { off: counter }, at)];
    for (off, val, at) in adds {
        ops.push(Inst::new(Op::AddMul { off, src: counter, factor: val.wrapping_mul(per_unit) }, at));
    }
    for (off, val, at) in sets {
        ops.push(Inst::new(Op::Set { off, val }, at));
    }
    ops.push(Inst::new(Op::Set { off: counter, val: 0 }, at));
    ops.push(Inst::new(Op::EndIf, at));
    Some(ops)
}

/// The inverse of an odd number modulo 256.
fn inverse_mod_256(odd: u8) -> u8 {
    // Newton's iteration doubles the correct low bits each step: 3 -> 6 -> 12.
    let mut x = odd;
    for _ in 0..3 {
        x = x.wrapping_mul(2u8.wrapping_sub(odd.wrapping_mul(x)));
    }
    x
}

/// `[>]`, `[<<]`...: loops that only move the pointer become scans.
pub fn scan_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    for inst in program.insts {
        if inst.op == Op::EndLoop {
            if let [.., Inst { op: Op::Loop { off: 0 }, at }, Inst { op: Op::Move(stride), .. }] = out[..] {
                out.truncate(out.len() - 2);
                out.push(Inst::new(Op::Scan { stride }, at));
                continue;
            }
        }
        out.push(inst);
    }
    Program { insts: out, data: program.data }
}

/// Moves the update of a loop's counter to the end of the body when nothing
/// after it reads or writes the counter: the code generator then tests the
/// counter with the flags of the add itself. Only the counter's own value
/// moves later, and it cannot be seen before the loop tests it.
pub fn counter_last(mut program: Program) -> Program {
    let partner = program.block_partners();
    for (end, &start) in partner.iter().enumerate() {
        if program.insts[end].op != Op::EndLoop {
            continue;
        }
        let Op::Loop { off: counter } = program.insts[start].op else { continue };
        let mut i = end;
        while i > start + 1 {
            i -= 1;
            let uses_counter = match program.insts[i].op {
                Op::Add { off, val } if off == counter && val != 0 => {
                    program.insts[i..end].rotate_left(1);
                    break;
                }
                Op::Add { off, .. } | Op::Set { off, .. } | Op::Out { off } | Op::In { off } => off == counter,
                Op::AddMul { off, src, .. } => off == counter || src == counter,
                Op::Print { .. } => false,
                _ => true,
            };
            if uses_counter {
                break;
            }
        }
    }
    program
}

#[cfg(test)]
mod more_tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{combine, defer_moves};

    fn local(src: &str) -> Program {
        defer_moves(combine(program(src)))
    }

    #[test]
    fn inverses() {
        for odd in (1..=255u8).step_by(2) {
            assert_eq!(odd.wrapping_mul(inverse_mod_256(odd)), 1, "{odd}");
        }
    }

    #[test]
    fn copy_loop_becomes_guarded_multiplies() {
        let p = multiply_loops(local("[->+>+++<<]"));
        assert_eq!(
            ops(&p),
            vec![
                Op::If { off: 0 },
                Op::AddMul { off: 1, src: 0, factor: 1 },
                Op::AddMul { off: 2, src: 0, factor: 3 },
                Op::Set { off: 0, val: 0 },
                Op::EndIf,
            ]
        );
    }

    #[test]
    fn counting_up_negates_the_factor() {
        let p = multiply_loops(local("[+>++<]"));
        assert_eq!(ops(&p)[1], Op::AddMul { off: 1, src: 0, factor: 254 });
    }

    #[test]
    fn loops_that_are_not_linear_stay() {
        for src in ["[->+<<]", "[-->+<]", "[->.<]", "[->+<+]", "[>+<]"] {
            let before = local(src);
            assert_eq!(multiply_loops(before.clone()), before, "{src}");
        }
    }

    #[test]
    fn multiply_loops_keep_behaviour() {
        for src in [
            "+++++[->++>+++<<]>.>.",
            "+++[--->+<]>.",
            "+++++++[+>+<]>.",
            "++[->+>[-]+<<]>.>.",
            // A zero counter must not touch a target off the tape.
            "[-<+>]+.",
            "+++>++[-<<+>>]",
        ] {
            assert_preserves(|p| multiply_loops(defer_moves(combine(p))), src, b"");
        }
    }

    #[test]
    fn counter_update_moves_last() {
        let p = counter_last(local("[->+>+<<]"));
        assert_eq!(
            ops(&p)[1..4],
            [Op::Add { off: 1, val: 1 }, Op::Add { off: 2, val: 1 }, Op::Add { off: 0, val: 255 }]
        );
        // Not past a use of the counter.
        let p = counter_last(local("[->+<.]"));
        assert_eq!(ops(&p)[1], Op::Add { off: 0, val: 255 });
        assert_preserves(|p| counter_last(local_of(p)), "+++[->++.<]>.", b"");
    }

    fn local_of(p: Program) -> Program {
        defer_moves(combine(p))
    }

    #[test]
    fn scans() {
        assert_eq!(ops(&scan_loops(local("[>>]"))), vec![Op::Scan { stride: 2 }]);
        assert_eq!(ops(&scan_loops(local("[<]"))), vec![Op::Scan { stride: -1 }]);
        assert_preserves(|p| scan_loops(defer_moves(p)), "+>+>+>+<<<[>]+.[<]", b"");
        assert_preserves(|p| scan_loops(defer_moves(p)), "+>>+<<[>>]+[<<]", b"");
    }
}
