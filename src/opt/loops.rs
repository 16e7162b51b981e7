//! Loops recognised by their shape and replaced by what they compute.

use crate::ir::{Inst, Op, Program};

/// `[-]`, `[+]` and any loop that only adds an odd amount to its own cell:
/// it ends with the cell at zero, whatever it held (an odd step reaches 0
/// through wrap-around from any value).
pub fn clear_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    for inst in program.insts {
        if inst.op == Op::EndLoop {
            if let [.., Inst { op: Op::Loop { off }, at, .. }, Inst { op: Op::Add { off: target, val }, .. }] = out[..]
            {
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

/// `[>]`, `[<<]`...: loops that only move the pointer become scans.
pub fn scan_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    for inst in program.insts {
        if inst.op == Op::EndLoop {
            if let [.., Inst { op: Op::Loop { off: 0 }, at, .. }, Inst { op: Op::Move(stride), .. }] = out[..] {
                out.truncate(out.len() - 2);
                // The `]` tests each cell after the first.
                out.push(Inst::scan(stride, 0, at, inst.at));
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
                Op::Move(_)
                | Op::Loop { .. }
                | Op::EndLoop
                | Op::If { .. }
                | Op::EndIf
                | Op::Scan { .. }
                | Op::Dump => true,
                op => op.cells().any(|cell| cell == counter),
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
        assert_eq!(ops(&scan_loops(local("[>>]"))), vec![Op::Scan { stride: 2, value: 0 }]);
        assert_eq!(ops(&scan_loops(local("[<]"))), vec![Op::Scan { stride: -1, value: 0 }]);
        assert_preserves(|p| scan_loops(defer_moves(p)), "+>+>+>+<<<[>]+.[<]", b"");
        assert_preserves(|p| scan_loops(defer_moves(p)), "+>>+<<[>>]+[<<]", b"");
    }
}
