//! Loops recognised by their shape and replaced by what they compute.

use crate::ir::{Inst, Op, Program};

/// `[-]`, `[+]` and any loop that only adds an odd amount to its own cell:
/// it ends with the cell at zero, whatever it held (an odd step reaches 0
/// through wrap-around from any value).
pub fn clear_loops(program: Program) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    for inst in program.insts {
        if inst.op == Op::EndLoop {
            if let [.., Inst { op: Op::Loop, at }, Inst { op: Op::Add { off: 0, val }, .. }] = out[..] {
                if val % 2 == 1 {
                    out.truncate(out.len() - 2);
                    out.push(Inst::new(Op::Set { off: 0, val: 0 }, at));
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
        assert_eq!(ops(&p), vec![Op::Loop, Op::Add { off: 0, val: 254 }, Op::EndLoop]);
    }

    #[test]
    fn keeps_behaviour() {
        assert_preserves(clear_loops, "+++++[-]+[+].-[---].", b"");
    }
}
