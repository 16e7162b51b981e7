//! Cells in registers: loops that do not move the pointer (`register_loop`),
//! runs of arithmetic that read back what they computed (`run_registers`),
//! and a walk's value carried in eax from one iteration to the next
//! (`Gen::carried_in_eax`). What may be loaded early, and when, so that a
//! tape error stays the one the program would make, is said at each.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{CellInst, EaxCells, Gen};
use crate::ir::analysis::Hull;
use crate::ir::{Inst, Op, Program};

/// Registers a run of arithmetic keeps its cells in (see `run_registers`):
/// caller-saved, and used by nothing else in straight-line code (r11 holds
/// where a scan started, for a scan back after such code).
pub(super) const RUN_REGS: [Rq; 5] = [Rq::RSI, Rq::RDI, Rq::R8, Rq::R9, Rq::R10];

/// Instructions of a run that `run_registers` looks at: a longer run is
/// taken in pieces (runs that long are rare, and not in loops).
const RUN_MAX: usize = 32;

/// The run of adds, sets and multiplies `insts` starts with (at most
/// `RUN_MAX` of them), if some of its cells are worth keeping in
/// registers: those read after the run computed them (mandelbrot's `[p]`
/// in `[p] -= 1; [p] += [p+2]; [p+2] = [p]; [p+3] += [p]; [p] = 1`), which
/// in memory would each be a store and a load of what it stored, a
/// store-to-load forward on the way. (A cell the run only set is a known
/// constant, and a multiply into a cell just cleared stores the product:
/// neither reads it back.) Returns the run's length and those cells (at
/// most `RUN_REGS.len()`, the first found).
///
/// A cell in a register is loaded at its first read and stored at the run's
/// end: one first set is touched only then, after cells the run touches
/// later. That is the same error if its cells are closer than the smallest
/// tape (the run has no I/O).
pub(super) fn run_registers(insts: &[Inst]) -> Option<(usize, RunCells)> {
    let is_arithmetic = |inst: &Inst| matches!(inst.op, Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. });
    let len = insts.iter().take(RUN_MAX).take_while(|inst| is_arithmetic(inst)).count();
    // The cells written so far, each with whether its value was computed
    // (not just set).
    let mut written = [(0, false); RUN_MAX];
    let mut hot = RunCells { cells: [0; RUN_REGS.len()], len: 0 };
    for (k, inst) in insts[..len].iter().enumerate() {
        // The cell's last write in the run: whether it computed the value.
        let last_write = |cell: i32| written[..k].iter().rev().find(|w| w.0 == cell).map(|w| w.1);
        let computed = |cell: i32| last_write(cell) == Some(true);
        let (target, reads) = match inst.op {
            Op::Add { off, .. } => (off, [Some(off), None]),
            Op::Set { off, .. } => (off, [None, None]),
            Op::AddMul { off, src, .. } => (off, [Some(off), Some(src)]),
            _ => unreachable!("a run of arithmetic"),
        };
        for cell in reads.into_iter().flatten() {
            if computed(cell) && !hot.get().contains(&cell) && hot.len < RUN_REGS.len() {
                hot.cells[hot.len] = cell;
                hot.len += 1;
            }
        }
        // A set makes a constant, and so does an add to one; an add to a
        // cell from the tape, or a multiply, computes a value.
        let constant = match inst.op {
            Op::Set { .. } => true,
            Op::Add { .. } => last_write(target) == Some(false),
            _ => false,
        };
        written[k] = (target, !constant);
    }
    let cells = Hull::of_offsets(insts[..len].iter().flat_map(|inst| inst.op.cells()));
    (hot.len > 0 && cells.within_smallest_tape()).then_some((len, hot))
}

/// What holds the value of a run's cell kept in a register.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Not read yet: the tape.
    Memory,
    /// The register.
    Register,
    /// This constant, not yet in the register.
    Constant(u8),
}

/// The cells of a run kept in registers, in `RUN_REGS`'s order.
pub(super) struct RunCells {
    cells: [i32; RUN_REGS.len()],
    len: usize,
}

impl RunCells {
    pub(super) fn get(&self) -> &[i32] {
        &self.cells[..self.len]
    }
}

/// Registers a register loop keeps its cells in: caller-saved, and used by
/// nothing else inside such a loop.
pub(super) const CELL_REGS: [Rq; 6] = [Rq::RSI, Rq::RDI, Rq::R8, Rq::R9, Rq::R10, Rq::R11];

/// The cells (sorted) that a loop keeps in registers, if it can: an
/// innermost loop that does not move the pointer, with only adds, sets,
/// multiplies and ifs inside. Those cells are loaded before the first
/// iteration and stored after the last, instead of each iteration going
/// through memory (prime8's modulo loop: a chain of stores and loads of the
/// same cells); the loop's other cells stay in memory.
///
/// Loading a cell that the loop touches only on some paths touches it
/// earlier than the loop would, and maybe where it never would; so a cell
/// is kept in a register only if it lies between two cells the first
/// iteration touches on every path (the counter, and what is outside any
/// `If`): then if it is off the tape one of those is too, on the same side
/// (they are closer than the smallest tape), and the loop stops with the
/// same error, having printed nothing in between.
pub(super) fn register_loop(body: &[Inst], counter: i32) -> Option<Vec<i32>> {
    let mut cells = vec![counter];
    let (mut lo, mut hi) = (counter, counter);
    let mut depth = 0;
    for inst in body {
        let op = inst.op;
        match op {
            Op::Add { .. } | Op::Set { .. } | Op::AddMul { .. } | Op::If { .. } => {
                for off in op.cells_touched() {
                    if depth == 0 {
                        (lo, hi) = (lo.min(off), hi.max(off));
                    }
                    cells.push(off);
                }
                if op.opens() {
                    depth += 1;
                }
            }
            Op::EndIf => depth -= 1,
            _ => return None,
        }
    }
    cells.sort_unstable();
    cells.dedup();
    cells.retain(|off| (lo..=hi).contains(off));
    // With more than there are registers, the counter and the cells
    // nearest it.
    cells.sort_unstable_by_key(|&off| (off != counter, off.abs_diff(counter), off));
    cells.truncate(CELL_REGS.len());
    cells.sort_unstable();
    Hull::of_offsets([lo, hi]).within_smallest_tape().then_some(cells)
}

impl Gen {
    /// The cell that a small loop's body (`straight`) leaves in eax, when
    /// the next iteration reads it first: a walk that carries a value
    /// along (factor.b's `[<[-]>>>>>>>>>>[-<<<<<<<<<<+>>>>>>>>>>]<<<<<<<<<<<]`
    /// stores a cell and reads it back one step on). Kept in eax from one
    /// iteration to the next, that read leaves the loop's critical path (a
    /// store-to-load forward); the first iteration's is made before the
    /// loop.
    ///
    /// That load touches the cell before the body's other accesses; it
    /// makes the same error if they would only if the body does no I/O
    /// and its cells are closer than the smallest tape (not on checked
    /// tapes, which may be smaller).
    pub(super) fn carried_in_eax(&self, off: i32, body: &[Inst], program: &Program) -> Option<i32> {
        if self.target.checked || body.iter().any(|inst| matches!(inst.op, Op::Out { .. } | Op::Print { .. })) {
            return None;
        }
        // Every cell the body touches, ifs' tests included.
        if !Hull::of_offsets(body.iter().flat_map(|inst| inst.op.cells_touched()).chain([off])).within_smallest_tape() {
            return None;
        }
        // The body as it would be compiled, without and with the cell.
        let dry_run = |in_eax| {
            let mut gen = Gen { unchecked_shift: self.unchecked_shift, in_eax, ..Gen::new(self.target) };
            gen.straight(body, program, &mut Vec::new());
            (gen.ops.offset().0, gen.in_eax)
        };
        let (plain, left) = dry_run(EaxCells::NONE);
        let cell = left.0.into_iter().flatten().next()?;
        let (carrying, still) = dry_run(EaxCells::only(cell));
        (carrying < plain && still.holds(cell)).then_some(cell)
    }

    /// The byte register holding what `cell += source * factor` adds (or,
    /// for 255, subtracts): the source itself, or the product in cl.
    pub(super) fn addend_byte(&mut self, source: Rq, factor: u8) -> Rq {
        match factor {
            1 | 255 => source,
            _ => self.product_byte(source, factor),
        }
    }

    /// cl = source * factor: only the low byte of the product counts, and
    /// it depends only on the low byte of the source.
    fn product_byte(&mut self, source: Rq, factor: u8) -> Rq {
        if source != Rq::RAX {
            asm!(self.ops; mov eax, Rd(source));
            // eax no longer holds the cell it held.
            self.in_eax = EaxCells::NONE;
        }
        self.multiply_eax_into_ecx(factor);
        Rq::RCX
    }

    /// A loop `register_loop` accepted, with `cells` in registers: loaded
    /// once the counter is found non-zero, stored back after the last
    /// iteration. Notes where each instruction starts in `starts`.
    pub(super) fn emit_register_loop(
        &mut self,
        counter: i32,
        body: &[Inst],
        cells: &[i32],
        program: &Program,
        starts: &mut Vec<usize>,
    ) {
        let reg = |off: i32| cells.binary_search(&off).ok().map(|i| CELL_REGS[i]);
        let counter_reg = reg(counter).expect("the counter is in a register");
        let (top, exit) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
        self.touch(counter);
        self.cell(CellInst::CmpZero, counter);
        asm!(self.ops; je =>exit);
        for &off in cells {
            self.touch(off);
            self.cell(CellInst::MovzxReg(reg(off).expect("in a register")), off);
        }
        self.align_loop_top();
        asm!(self.ops; =>top);
        // Whether the zero flag reflects the counter's new value.
        let mut zf_counter = false;
        let mut ifs = Vec::new();
        let mut written = Vec::new();
        for inst in body {
            starts.push(self.ops.offset().0);
            zf_counter = match inst.op {
                Op::Add { off, val } => match reg(off) {
                    // Changes nothing, and the cell was loaded: touched.
                    Some(_) if val == 0 => zf_counter,
                    Some(r) => {
                        asm!(self.ops; add Rb(r), val as i8);
                        written.push(off);
                        off == counter
                    }
                    // In memory, as anywhere else (the add sets the flags).
                    None => {
                        self.op(inst.op, program);
                        false
                    }
                },
                Op::Set { off, val } => match reg(off) {
                    Some(r) => {
                        asm!(self.ops; mov Rb(r), val as i8);
                        written.push(off);
                        zf_counter && off != counter
                    }
                    None => {
                        // The touch may compare (far cells): flags lost.
                        self.op(inst.op, program);
                        false
                    }
                },
                Op::AddMul { off, src, factor } => {
                    const AL: Rq = Rq::RAX;
                    let source = reg(src).unwrap_or_else(|| {
                        self.touch(src);
                        self.cell(CellInst::MovzxEax, src);
                        AL
                    });
                    // The byte register that holds what to add (or subtract).
                    let by = self.addend_byte(source, factor);
                    self.add_addend(reg(off), off, by, factor);
                    if reg(off).is_some() {
                        written.push(off);
                    }
                    off == counter
                }
                Op::If { off } => {
                    let skip = self.ops.new_dynamic_label();
                    match reg(off) {
                        Some(r) => asm!(self.ops; test Rb(r), Rb(r)),
                        None => {
                            self.touch(off);
                            self.cell(CellInst::CmpZero, off);
                        }
                    }
                    asm!(self.ops; jz =>skip);
                    ifs.push(skip);
                    false
                }
                Op::EndIf => {
                    let skip = ifs.pop().expect("balanced IR");
                    asm!(self.ops; =>skip);
                    false
                }
                op => unreachable!("register_loop accepts no {op:?}"),
            };
        }
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
        starts.push(self.ops.offset().0);
        if !zf_counter {
            asm!(self.ops; test Rb(counter_reg), Rb(counter_reg));
        }
        asm!(self.ops; jnz =>top);
        written.sort_unstable();
        written.dedup();
        for off in written {
            self.cell(CellInst::StoreReg(reg(off).expect("in a register")), off);
        }
        asm!(self.ops; =>exit);
        // Both ways the counter was touched, and every cell is on the tape.
        self.unchecked_shift = counter.unsigned_abs() as u64;
    }

    /// A run `run_registers` accepted, with `cells` in registers (the others
    /// in memory, as anywhere else). A cell set to a constant stays a
    /// constant until something needs it in its register: adds to it are
    /// folded, multiplies by it are adds of a constant, and one only
    /// stored is stored as an immediate.
    ///
    /// Notes in `starts` where each instruction but the first starts (the
    /// stores at the end go with the last). Returns, for each of `cells`,
    /// the register that holds its value at the end, if one does (a cell
    /// left a constant was stored as an immediate: its register is stale).
    pub(super) fn emit_register_run(
        &mut self,
        run: &[Inst],
        cells: &[i32],
        program: &Program,
        starts: &mut Vec<usize>,
    ) -> Vec<Option<Rq>> {
        let slot = |off: i32| cells.iter().position(|&cell| cell == off);
        let mut held = vec![Held::Memory; cells.len()];
        let mut dirty = vec![false; cells.len()];
        for &cell in cells {
            // eax holds memory's value of a cell, which the run changes in
            // its register.
            self.in_eax.forget(cell);
        }
        self.zf_cell = None;
        let mut i = 0;
        while i < run.len() {
            if i > 0 {
                starts.push(self.ops.offset().0);
            }
            let (first, inst) = (i, run[i]);
            i += 1;
            match inst.op {
                Op::Add { off, val } if slot(off).is_some() => {
                    let k = slot(off).expect("a cell in a register");
                    match held[k] {
                        Held::Constant(v) => held[k] = Held::Constant(v.wrapping_add(val)),
                        _ => {
                            let r = self.run_register(cells, &mut held, k);
                            asm!(self.ops; add Rb(r), val as i8);
                        }
                    }
                    dirty[k] = true;
                }
                Op::Set { off, val } if slot(off).is_some() => {
                    let k = slot(off).expect("a cell in a register");
                    held[k] = Held::Constant(val);
                    dirty[k] = true;
                }
                Op::AddMul { off, src, factor } if slot(off).is_some() || slot(src).is_some() => {
                    self.run_multiply(cells, &mut held, off, src, factor);
                    if let Some(k) = slot(off) {
                        dirty[k] = true;
                    }
                }
                Op::Set { off, val: 0 } => match run.get(i).map(|next| next.op) {
                    // A copy from a cell in a register: its byte stored.
                    Some(Op::AddMul { off: target, src, factor }) if target == off && slot(src).is_some() => {
                        let source = self.run_register(cells, &mut held, slot(src).expect("in a register"));
                        // The product itself (an addend of 255 would be
                        // subtracted).
                        let by = match factor {
                            1 => source,
                            _ => self.product_byte(source, factor),
                        };
                        self.touch(off);
                        self.cell(CellInst::StoreReg(by), off);
                        self.in_eax.forget(off);
                        i += 1;
                    }
                    _ => i += self.copy_or_op(&run[i - 1..], program) - 1,
                },
                _ => i += self.copy_or_op(&run[i - 1..], program) - 1,
            }
            // Instructions taken with the first: their code is its.
            starts.extend(std::iter::repeat_n(self.ops.offset().0, i - first - 1));
        }
        for (k, &off) in cells.iter().enumerate().filter(|&(k, _)| dirty[k]) {
            self.touch(off);
            match held[k] {
                Held::Constant(v) => self.cell(CellInst::MovImm(v), off),
                _ => self.cell(CellInst::StoreReg(RUN_REGS[k]), off),
            }
        }
        self.zf_cell = None;
        held.iter().zip(RUN_REGS).map(|(&held, r)| (held == Held::Register).then_some(r)).collect()
    }

    /// The register of a run's cell (`k` of `cells`), made to hold its
    /// value: loaded at its first read, or set to its constant.
    fn run_register(&mut self, cells: &[i32], held: &mut [Held], k: usize) -> Rq {
        let r = RUN_REGS[k];
        match held[k] {
            Held::Memory => {
                self.touch(cells[k]);
                self.cell(CellInst::MovzxReg(r), cells[k]);
            }
            Held::Constant(v) => asm!(self.ops; mov Rd(r), v as i32),
            Held::Register => {}
        }
        held[k] = Held::Register;
        r
    }

    /// `cell[off] += cell[src] * factor` in a run, one of them (or both) in
    /// a register.
    fn run_multiply(&mut self, cells: &[i32], held: &mut [Held], off: i32, src: i32, factor: u8) {
        const AL: Rq = Rq::RAX;
        let slot = |cell: i32| cells.iter().position(|&c| c == cell);
        let target = slot(off);
        // A constant source: an add of a constant.
        if let Some(Held::Constant(v)) = slot(src).map(|k| held[k]) {
            let product = v.wrapping_mul(factor);
            match target {
                Some(t) => match held[t] {
                    Held::Constant(c) => held[t] = Held::Constant(c.wrapping_add(product)),
                    _ => {
                        let r = self.run_register(cells, held, t);
                        asm!(self.ops; add Rb(r), product as i8);
                    }
                },
                None => {
                    // Changes the cell, or only touches it.
                    self.touch(off);
                    self.cell(if product == 0 { CellInst::CmpZero } else { CellInst::AddImm(product) }, off);
                    self.in_eax.forget(off);
                }
            }
            return;
        }
        let source = match slot(src) {
            Some(k) => self.run_register(cells, held, k),
            None => {
                self.touch(src);
                if !self.in_eax.holds(src) {
                    self.cell(CellInst::MovzxEax, src);
                    self.in_eax = EaxCells::only(src);
                }
                AL
            }
        };
        // A copy into a cleared cell in a register: a move of the whole
        // (zero-extended) register.
        if let (Some(t), 1) = (target, factor) {
            if held[t] == Held::Constant(0) {
                let r = RUN_REGS[t];
                asm!(self.ops; mov Rd(r), Rd(source));
                held[t] = Held::Register;
                return;
            }
        }
        let by = self.addend_byte(source, factor);
        let target = target.map(|t| self.run_register(cells, held, t));
        self.add_addend(target, off, by, factor);
    }

    /// `cell[off] += by` (`-=` for a factor of 255, see `addend_byte`), the
    /// cell in `target` if it is in a register, else in memory.
    fn add_addend(&mut self, target: Option<Rq>, off: i32, by: Rq, factor: u8) {
        match target {
            Some(r) if factor == 255 => asm!(self.ops; sub Rb(r), Rb(by)),
            Some(r) => asm!(self.ops; add Rb(r), Rb(by)),
            None => {
                self.touch(off);
                self.cell(if factor == 255 { CellInst::SubReg(by) } else { CellInst::AddReg(by) }, off);
                self.in_eax.forget(off);
            }
        }
    }
}
