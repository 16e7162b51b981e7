//! Folding neighbours: runs of `+-` and `<>` become one `Add` or `Move`,
//! additions into a cell just set become part of the `Set`, moves that
//! cancel out disappear. Adds that cancel out stay, as `Add` of 0: the
//! cell was touched, which fails off the tape; `known_values` drops them
//! where the cell is known to be on it.
//!
//! Within straight-line code, a write to a cell merges into the last earlier
//! write to the same cell when nothing between reads or writes it. The
//! merged operation stays at the earlier place, which touches that cell
//! first anyway, so the first tape error (and the output before it) is the
//! same.
//!
//! At cells wider than 8 bits (`combine_wide`) an instruction's value is a
//! signed byte (`ir::widen`), so two values merge only while their sum
//! stays within -128..=127: `+` 200 times is two adds there, not one.

use crate::ir::{Inst, Op, Program};

/// How far back a write looks for an earlier write to merge with; bounds
/// the pass to linear time.
const LOOKBACK: usize = 32;

/// Folds each instruction into an earlier one where the two make one.
pub fn combine(program: Program) -> Program {
    combine_at(program, Width::Byte)
}

/// `combine` for cells of 16 or 32 bits: values merge only while they
/// stay signed bytes.
pub fn combine_wide(program: Program) -> Program {
    combine_at(program, Width::Wide)
}

/// What a merged value must stay within.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    /// 8-bit cells: any byte, wrapping.
    Byte,
    /// Wider cells: a signed byte, not wrapping.
    Wide,
}

/// `x + y` as one instruction's value at `width`, if it is one.
fn sum(x: u8, y: u8, width: Width) -> Option<u8> {
    match width {
        Width::Byte => Some(x.wrapping_add(y)),
        Width::Wide => (x as i8).checked_add(y as i8).map(|v| v as u8),
    }
}

fn combine_at(program: Program, width: Width) -> Program {
    let mut out: Vec<Inst> = Vec::with_capacity(program.insts.len());
    let mut touches = LastTouches::new();
    for inst in program.insts {
        if let Some(i) = touches.merge_target(&out, inst.op, width) {
            match merge(out[i].op, inst.op, width) {
                Some(op) if is_noop(op) => {
                    out.remove(i);
                    touches.removed_last(i);
                }
                Some(op) => out[i].op = op,
                None => unreachable!("merge_target only finds mergeable writes"),
            }
            continue;
        }
        if !is_noop(inst.op) {
            touches.push(out.len(), inst.op);
            out.push(inst);
        }
    }
    Program { insts: out, data: program.data }
}

/// Where `merge_target` need not look back one instruction at a time: for
/// each cell, by its offset's low bits, the last instruction of the output
/// that touches it, and the barriers (`blocks_merges`) in the output. A
/// long stretch of straight-line code (the adds and sets of a generated
/// program once `defer_moves` ran) then costs one look a write, not
/// `LOOKBACK`.
struct LastTouches {
    /// Per slot (`off & SLOT_MASK`): the cell and the index of the last
    /// instruction that touched a cell of that slot.
    slots: Vec<Option<(i32, usize)>>,
    /// Indices of the barriers in the output, in order.
    barriers: Vec<usize>,
}

const SLOT_MASK: i32 = 255;

impl LastTouches {
    fn new() -> LastTouches {
        LastTouches { slots: vec![None; SLOT_MASK as usize + 1], barriers: Vec::new() }
    }

    /// `op` is the output's instruction `at`.
    fn push(&mut self, at: usize, op: Op) {
        if blocks_merges(op) {
            self.barriers.push(at);
        } else {
            for cell in op.cells() {
                self.slots[(cell & SLOT_MASK) as usize] = Some((cell, at));
            }
        }
    }

    /// The output's last instruction, `at`, is gone (moves that cancel).
    fn removed_last(&mut self, at: usize) {
        if self.barriers.last() == Some(&at) {
            self.barriers.pop();
        }
    }

    /// Index of the earlier instruction in `out` that `op` can merge into:
    /// for a move or an output of constant data, the last one; for a write,
    /// the last instruction within `LOOKBACK` that touches its cell, with no
    /// barrier between, if the two merge.
    fn merge_target(&self, out: &[Inst], op: Op, width: Width) -> Option<usize> {
        let last = out.len().checked_sub(1)?;
        if let (Op::Move(_) | Op::Print { .. }, Some(_)) = (op, merge(out[last].op, op, width)) {
            return Some(last);
        }
        let target = match op {
            Op::Add { off, .. } | Op::Set { off, .. } => off,
            _ => return None,
        };
        let since = self.barriers.last().map_or(0, |&b| b + 1);
        match self.slots[(target & SLOT_MASK) as usize] {
            // No cell of the slot touched since the last barrier, nor
            // within `LOOKBACK` (a long set-up, whose cells' slots meet
            // every 256 cells, then costs one look a write).
            None => None,
            Some((_, i)) if i < since || i + LOOKBACK < last => None,
            Some((cell, i)) if cell == target => merge(out[i].op, op, width).map(|_| i),
            // Another cell of the slot touched since: look back in order.
            Some(_) => scan_back(out, op, target, width),
        }
    }
}

/// Operations no write merges across: moves (the offsets after them name
/// other cells), blocks and tape dumps.
fn blocks_merges(op: Op) -> bool {
    matches!(op, Op::Move(_) | Op::Loop { .. } | Op::EndLoop | Op::If { .. } | Op::EndIf | Op::Scan { .. } | Op::Dump)
}

/// `LastTouches::merge_target` for a write `op` to cell `target`, one
/// instruction at a time.
fn scan_back(out: &[Inst], op: Op, target: i32, width: Width) -> Option<usize> {
    let last = out.len().checked_sub(1)?;
    for i in (last.saturating_sub(LOOKBACK)..=last).rev() {
        let earlier = out[i].op;
        if merge(earlier, op, width).is_some() {
            return Some(i);
        }
        if blocks_merges(earlier) || earlier.cells().any(|cell| cell == target) {
            return None;
        }
    }
    None
}

/// Only moves can vanish: an add of 0 (`+-`) still touches its cell, and
/// touching a cell off the tape is an error.
fn is_noop(op: Op) -> bool {
    matches!(op, Op::Move(0))
}

/// The two operations as one, when they make one.
fn merge(first: Op, second: Op, width: Width) -> Option<Op> {
    match (first, second) {
        (Op::Add { off: a, val: x }, Op::Add { off: b, val: y }) if a == b => {
            sum(x, y, width).map(|val| Op::Add { off: a, val })
        }
        (Op::Set { off: a, val: x }, Op::Add { off: b, val: y }) if a == b => {
            sum(x, y, width).map(|val| Op::Set { off: a, val })
        }
        // A write overrides what was added or set before.
        (Op::Add { off: a, .. } | Op::Set { off: a, .. }, Op::Set { off: b, val }) if a == b => {
            Some(Op::Set { off: b, val })
        }
        (Op::Move(a), Op::Move(b)) => a.checked_add(b).map(Op::Move),
        (Op::Print { start: a, len: l }, Op::Print { start: b, len: m }) if a.checked_add(l) == Some(b) => {
            Some(Op::Print { start: a, len: l + m })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;

    #[test]
    fn runs_fold() {
        assert_eq!(ops(&combine(program("+++--"))), vec![Op::Add { off: 0, val: 1 }]);
        assert_eq!(ops(&combine(program(">><<<"))), vec![Op::Move(-1)]);
        assert_eq!(ops(&combine(program("+-<>"))), vec![Op::Add { off: 0, val: 0 }]);
        assert_eq!(ops(&combine(program("-"))), vec![Op::Add { off: 0, val: 255 }]);
    }

    #[test]
    fn wraps_at_256() {
        let src = "+".repeat(257);
        assert_eq!(ops(&combine(program(&src))), vec![Op::Add { off: 0, val: 1 }]);
        assert_eq!(ops(&combine(program(&"-".repeat(256)))), vec![Op::Add { off: 0, val: 0 }]);
    }

    #[test]
    fn wide_values_stay_signed_bytes() {
        let adds = |src: &str| ops(&combine_wide(program(src)));
        let add = |val: u8| Op::Add { off: 0, val };
        assert_eq!(adds(&"+".repeat(200)), vec![add(127), add(73)]);
        assert_eq!(adds(&"-".repeat(128)), vec![add(128)]);
        assert_eq!(adds(&"-".repeat(129)), vec![add(128), add(255)]);
        assert_eq!(adds("+++--"), vec![add(1)]);
        let cleared = Program {
            insts: [Op::Set { off: 0, val: 0 }, Op::Add { off: 0, val: 255 }].map(|op| Inst::new(op, 0)).to_vec(),
            data: vec![],
        };
        assert_eq!(ops(&combine_wide(cleared)), vec![Op::Set { off: 0, val: 255 }]);
    }

    #[test]
    fn set_absorbs_adds_around_it() {
        let p = Program {
            insts: [Op::Add { off: 1, val: 3 }, Op::Set { off: 1, val: 7 }, Op::Add { off: 1, val: 2 }]
                .into_iter()
                .map(|op| Inst::new(op, 0))
                .collect(),
            data: vec![],
        };
        assert_eq!(ops(&combine(p)), vec![Op::Set { off: 1, val: 9 }]);
    }

    #[test]
    fn writes_merge_across_other_cells_but_not_across_reads() {
        let p = crate::opt::defer_moves(program("+>+<+>."));
        assert_eq!(ops(&combine(p)), vec![Op::Add { off: 0, val: 2 }, Op::Add { off: 1, val: 1 }, Op::Out { off: 1 }]);
        let p = crate::opt::defer_moves(program("+.+"));
        assert_eq!(ops(&combine(p)).len(), 3);
        let p = crate::opt::defer_moves(program("+[+]+"));
        assert_eq!(ops(&combine(p)).len(), 5);
    }

    #[test]
    fn cells_that_share_a_slot_are_told_apart() {
        let add = |off| Op::Add { off, val: 1 };
        let ir = |ops: &[Op]| Program { insts: ops.iter().map(|&op| Inst::new(op, 0)).collect(), data: vec![] };
        // 0 and 256 share a slot: the write to 0 looks back past 256's.
        let p = ir(&[add(0), add(256), add(0)]);
        assert_eq!(ops(&combine(p)), [Op::Add { off: 0, val: 2 }, add(256)]);
        // A read of the cell in between, found either way.
        assert_eq!(ops(&combine(ir(&[add(0), add(256), Op::Out { off: 0 }, add(0)]))).len(), 4);
        assert_eq!(ops(&combine(ir(&[add(0), Op::Out { off: 0 }, add(256), add(0)]))).len(), 4);
        // Moves that cancel leave no barrier behind.
        assert_eq!(ops(&combine(program("+><+"))), [Op::Add { off: 0, val: 2 }]);
        // No further back than LOOKBACK instructions.
        let apart = |n: i32| -> Vec<Op> { [add(0)].into_iter().chain((1..=n).map(add)).chain([add(0)]).collect() };
        let (near, far) = (apart(LOOKBACK as i32), apart(LOOKBACK as i32 + 1));
        assert_eq!(ops(&combine(ir(&near))).len(), near.len() - 1);
        assert_eq!(ops(&combine(ir(&far))).len(), far.len());
        // The same where the slot's last touch is another cell's (0's,
        // after 256's): looked back through within the window, given up
        // at once beyond it.
        let behind =
            |n: i32| -> Vec<Op> { [add(256), add(0)].into_iter().chain((1..=n).map(add)).chain([add(256)]).collect() };
        let (near, far) = (behind(LOOKBACK as i32 - 1), behind(LOOKBACK as i32 + 1));
        assert_eq!(ops(&combine(ir(&near)))[0], Op::Add { off: 256, val: 2 });
        assert_eq!(ops(&combine(ir(&far))).len(), far.len());
    }

    #[test]
    fn keeps_behaviour() {
        assert_preserves(combine, "+>+<+>.<<+>>", b"");
        assert_preserves(combine, "+++[->++<]>.<<<>>>+-.", b"");
    }
}
