//! Walks whose cells live in registers (`select::RegisterWalk`): each
//! iteration in registers, its sets kept as constants (stored as
//! immediates, neighbours together), the cells it hands on moved to the
//! registers of the next iteration's.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::registers::LOOP_REGS;
use super::{CellInst, Emitter, FieldInst, Jump, PlainCode};
use crate::code::rt_offset as rt;
use crate::ir::Op;
use crate::x64::select::RegisterWalk;

/// One iteration of a register walk being emitted: what holds each cell
/// (by its index in the walk's sorted cells): its register, or a constant
/// a set left (and adds to it changed) not yet in it.
struct Iteration<'a> {
    cells: &'a [i32],
    /// Each cell's register.
    regs: &'a [Rq],
    constant: Vec<Option<u8>>,
    written: Vec<bool>,
    /// The open ifs' ends, each with the cells its body touches.
    ifs: Vec<(DynamicLabel, Vec<i32>)>,
}

/// A register walk's adds made with the multiply before them
/// (`RegisterWalk::folded`), by index in its body: what each multiply
/// also adds, and which adds that makes.
struct Folds {
    extra: Vec<u8>,
    absorbed: Vec<bool>,
}

impl Iteration<'_> {
    fn slot(&self, off: i32) -> usize {
        self.cells.binary_search(&off).expect("a cell of the walk")
    }
}

impl Emitter {
    /// A walk with its cells in registers (`select::RegisterWalk`). Each
    /// iteration runs only where all its cells are on the tape: the
    /// pointer before each is compared with a limit in rax (the end the
    /// walk goes towards, less its reach: no cell of the body is in
    /// memory, so eax is free; a check of the tape takes rdx, a product
    /// rcx), and before the first the cell of its reach at the other end
    /// with that end too, unless the test just read it or a cell beyond
    /// it; past either, the loop runs from its test as plain code, with
    /// every store of the iterations before made.
    pub(super) fn emit_register_walk(&mut self, w: &RegisterWalk) {
        let (top, exit, plain) =
            (self.ops.new_dynamic_label(), self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let ops = w.body.iter().copied().chain([Op::Move(w.stride)]);
        let first = self.current_inst();
        let plain_loop = PlainCode::looped(plain, exit, first, w.test, ops, self.unchecked_shift);
        self.enter_if_nonzero(w.test, exit);
        let (lo, hi) = w.reach;
        // The pointer's limit, and the jumps that go on or stop at it.
        let (continues, stops) = if w.stride > 0 {
            // The pointer may go up to the tape's end less hi + 1.
            self.runtime_field(FieldInst::Load, Rq::RAX, rt::TAPE_END);
            asm!(self.ops; sub rax, hi + 1);
            (Jump::IfBelowOrEqual, Jump::IfAbove)
        } else {
            // And down to the tape's start less lo.
            asm!(self.ops; lea rax, [a_tape - lo]);
            (Jump::IfAboveOrEqual, Jump::IfBelow)
        };
        asm!(self.ops; cmp a_ptr, rax);
        self.jump(stops, plain);
        if w.stride > 0 {
            self.jump_if_before_tape(lo, Some(w.test), plain);
        } else {
            self.jump_if_past_tape(hi, Some(w.test), plain);
        }
        let regs: Vec<Rq> = LOOP_REGS[..w.cells.len()].to_vec();
        let slot = |off: i32| w.cells.binary_search(&off).expect("a cell of the walk");
        for &off in &w.carried {
            self.cell(CellInst::MovzxReg(regs[slot(off)]), off);
        }
        // What each multiply also adds, and the adds that makes.
        let mut folds = Folds { extra: vec![0; w.body.len()], absorbed: vec![false; w.body.len()] };
        for &(m, a) in &w.folded {
            let Op::Add { val, .. } = w.body[a] else { unreachable!("an add folded") };
            (folds.extra[m], folds.absorbed[a]) = (val, true);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        if w.paired {
            // Two iterations a round (`RegisterWalk::paired`): the second
            // names each pair's registers the other way round, and hands
            // them back; one taken branch for the two.
            let swapped: Vec<Rq> = (0..w.cells.len())
                .map(|k| {
                    let off = w.cells[k];
                    match (w.carried.contains(&off), w.carried.contains(&(off - w.stride))) {
                        (true, _) => regs[slot(off + w.stride)],
                        (_, true) => regs[slot(off - w.stride)],
                        _ => regs[k],
                    }
                })
                .collect();
            self.walk_iteration(w, &folds, &regs, &swapped, exit);
            // The next iteration's cells on the tape: on in registers, else
            // as plain code, which tests the cell again (on the tape: no
            // error).
            asm!(self.ops; cmp a_ptr, rax);
            self.jump(stops, plain);
            self.unmarked((first + 1, None), |e| e.walk_iteration(w, &folds, &swapped, &regs, exit));
        } else {
            self.walk_iteration(w, &folds, &regs, &regs, exit);
        }
        asm!(self.ops; cmp a_ptr, rax);
        self.jump(continues, top);
        self.jump(Jump::Always, plain);
        asm!(self.ops; =>exit);
        self.plain_code.push(plain_loop);
        self.lose_eax_and_flags();
        // Both ways the test touched its cell last.
        self.unchecked_shift = w.test.unsigned_abs() as u64;
    }

    /// One iteration of a register walk, its cells in `regs`, the carried
    /// ones handed on to `next` (the next iteration's registers), the
    /// pointer moved, the next test made: zero goes to `exit`.
    fn walk_iteration(&mut self, w: &RegisterWalk, folds: &Folds, regs: &[Rq], next: &[Rq], exit: DynamicLabel) {
        let slot = |off: i32| w.cells.binary_search(&off).expect("a cell of the walk");
        for &off in &w.loads {
            self.cell(CellInst::MovzxReg(regs[slot(off)]), off);
        }
        let n = w.cells.len();
        let mut it = Iteration { cells: &w.cells, regs, constant: vec![None; n], written: vec![false; n], ifs: vec![] };
        for (i, &op) in w.body.iter().enumerate() {
            self.mark();
            match op {
                Op::If { off } => {
                    // The cells the if's body touches are in their
                    // registers both ways, from here to its end.
                    let mut depth = 0;
                    let inside = w.body[i..].iter().take_while(|op| {
                        depth += i32::from(op.opens()) - i32::from(op.closes());
                        depth > 0
                    });
                    let cells: Vec<i32> = inside.flat_map(|op| op.cells_touched()).collect();
                    cells.iter().for_each(|&cell| self.materialise(&mut it, cell));
                    let (r, skip) = (regs[slot(off)], self.ops.new_dynamic_label());
                    asm!(self.ops; test Rb(r), Rb(r));
                    self.jump(Jump::IfZero, skip);
                    it.ifs.push((skip, cells));
                }
                Op::EndIf => {
                    // What the body set: in registers, as where it was
                    // skipped.
                    let (skip, cells) = it.ifs.pop().expect("balanced IR");
                    cells.iter().for_each(|&cell| self.materialise(&mut it, cell));
                    asm!(self.ops; =>skip);
                }
                // Made by the multiply before it.
                Op::Add { .. } if folds.absorbed[i] => {}
                _ => self.walk_op(&mut it, op, folds.extra[i]),
            }
        }
        self.mark();
        self.store_iteration(&it);
        // Each carried cell's next register takes its successor's value
        // (where that is not already its register), before that one
        // takes its own successor's.
        let mut order = w.carried.clone();
        order.sort_unstable_by_key(|&off| off * w.stride.signum());
        for &off in &order {
            let (to, from) = (next[slot(off)], slot(off + w.stride));
            match it.constant[from] {
                Some(v) => asm!(self.ops; mov Rd(to), i32::from(v)),
                None if to == regs[from] => {}
                None => asm!(self.ops; mov Rd(to), Rd(regs[from])),
            }
        }
        // Every cell of the iteration was on the tape, the test's too.
        self.unchecked_shift = w.test.unsigned_abs() as u64;
        self.move_ptr(w.stride);
        self.mark();
        if w.carried.contains(&w.test) {
            // Touched by this iteration, a stride back.
            let r = next[slot(w.test)];
            asm!(self.ops; test Rb(r), Rb(r));
        } else {
            // Maybe off the tape: the program's own test.
            self.touch(w.test);
            self.cell(CellInst::CmpZero, w.test);
        }
        self.jump(Jump::IfZero, exit);
    }

    /// One add, set or multiply of a register walk's iteration; a
    /// multiply also adds `extra` (an add folded into it).
    fn walk_op(&mut self, it: &mut Iteration, op: Op, extra: u8) {
        match op {
            Op::Add { off, val } => {
                let k = it.slot(off);
                match it.constant[k] {
                    Some(v) => it.constant[k] = Some(v.wrapping_add(val)),
                    None if val == 0 => {}
                    None => asm!(self.ops; add Rb(it.regs[k]), val as i8),
                }
                it.written[k] = true;
            }
            Op::Set { off, val } => {
                let k = it.slot(off);
                it.constant[k] = Some(val);
                it.written[k] = true;
            }
            // On the tape, an `if_nonzero` multiply is a multiply.
            Op::AddMul { off, src, factor, .. } => {
                let (t, s) = (it.slot(off), it.slot(src));
                let (target, source) = (it.regs[t], it.regs[s]);
                match (it.constant[s], it.constant[t]) {
                    (Some(v), Some(c)) => {
                        it.constant[t] = Some(c.wrapping_add(v.wrapping_mul(factor)).wrapping_add(extra))
                    }
                    (Some(v), None) => {
                        let add = v.wrapping_mul(factor).wrapping_add(extra);
                        if add != 0 {
                            asm!(self.ops; add Rb(target), add as i8);
                        }
                    }
                    // The sum made in one instruction, as a run makes it.
                    (None, constant) if factor != 255 => {
                        let (base, disp) = match constant {
                            Some(c) => (None, c.wrapping_add(extra)),
                            None => (Some(target), extra),
                        };
                        self.sum_product_into(target, base, source, factor, disp);
                        it.constant[t] = None;
                    }
                    (None, _) => {
                        self.materialise(it, off);
                        asm!(self.ops; sub Rb(target), Rb(source));
                    }
                }
                it.written[t] = true;
            }
            op => unreachable!("a register walk has no {op:?} but its ifs"),
        }
    }

    /// The cell `off` of the iteration in its register.
    fn materialise(&mut self, it: &mut Iteration, off: i32) {
        let k = it.slot(off);
        if let Some(v) = it.constant[k].take() {
            asm!(self.ops; mov Rd(it.regs[k]), i32::from(v));
        }
    }

    /// Stores the cells the iteration wrote: a register's byte, or a
    /// constant, with the constants of the next cells in one store of 2 or
    /// 4 bytes (Faase's walk clears the two cells it moves on from).
    fn store_iteration(&mut self, it: &Iteration) {
        let mut k = 0;
        while k < it.cells.len() {
            if !it.written[k] {
                k += 1;
                continue;
            }
            let Some(v) = it.constant[k] else {
                self.cell(CellInst::StoreReg(it.regs[k]), it.cells[k]);
                k += 1;
                continue;
            };
            // The constants of the cells right after, written too.
            let mut bytes = vec![v];
            while let Some(&next) = it.cells.get(k + bytes.len()) {
                let j = k + bytes.len();
                match it.constant[j] {
                    Some(c) if it.written[j] && next == it.cells[k] + bytes.len() as i32 && bytes.len() < 4 => {
                        bytes.push(c)
                    }
                    _ => break,
                }
            }
            let width = match bytes.len() {
                4 => 4,
                2 | 3 => 2,
                _ => 1,
            };
            self.store_constant(it.cells[k], &bytes[..width]);
            k += width;
        }
    }
}
