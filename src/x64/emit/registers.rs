//! Cells in registers: loops whose cells live in registers
//! (`select::RegisterLoop`) and runs of arithmetic that keep some cells in
//! registers (`select::Run`), as the plan gives them. A run's cell set to
//! a constant stays a constant until something needs it in its register:
//! that bookkeeping (`Held`) is the emitter's.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::cells::scaled;
use super::{Carried, CellInst, Either, Emitter, Jump, PlainBody, PlainCode, Recovery};
use crate::ir::{Op, Program};
use crate::x64::select::{
    CarryAdd, CellForm, EaxCells, FrameBlocks, Product, RegisterLoop, Run, RunStep, SwitchPlan, LOOP_CELLS, RUN_CELLS,
};

/// Registers a run of arithmetic keeps its cells in: caller-saved, and
/// used by nothing else in straight-line code (r11 holds where a scan
/// started, for a scan back after such code).
const RUN_REGS: [Rq; RUN_CELLS] = [Rq::RSI, Rq::RDI, Rq::R8, Rq::R9, Rq::R10];

/// Registers a register loop keeps its cells in: caller-saved, and used by
/// nothing else inside such a loop.
pub(super) const LOOP_REGS: [Rq; LOOP_CELLS] = [Rq::RSI, Rq::RDI, Rq::R8, Rq::R9, Rq::R10, Rq::R11];

/// eax's low byte, as a source of an addend.
const AL: Rq = Rq::RAX;

/// What holds the value of a run's cell kept in a register.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Not read yet: the tape.
    Memory,
    /// The register.
    Register,
    /// This constant, not yet in the register.
    Constant(u8),
    /// The product an `if_nonzero` multiply adds to the cell, the cell not
    /// loaded: added to it at the cell's next touch
    /// (`select::runs::carried_product`). The multiply's command is kept
    /// with the product in `Emitter::carried`.
    Product,
    /// Not read again before it is set: its register was handed on with
    /// its value (`Run::last_reads`), and it has another.
    Dead,
}

/// A run's cells as its code is emitted: what holds each one's value,
/// the register it is in (two cells swap registers where a value moves
/// on: `Run::last_reads`), whether the run changed it (stored at the
/// run's end), and whether its register may have bits set above the low
/// byte (`wide`: a `lea` made it; only the low byte counts, but eax takes
/// a cell zero-extended).
struct RunState<'a> {
    cells: &'a [i32],
    held: Vec<Held>,
    regs: [Rq; RUN_CELLS],
    dirty: Vec<bool>,
    wide: Vec<bool>,
}

impl<'a> RunState<'a> {
    fn new(cells: &'a [i32]) -> RunState<'a> {
        let no = vec![false; cells.len()];
        RunState { cells, held: vec![Held::Memory; cells.len()], regs: RUN_REGS, dirty: no.clone(), wide: no }
    }

    /// The index of the cell `off` among the run's, if it is one.
    fn slot(&self, off: i32) -> Option<usize> {
        self.cells.iter().position(|&cell| cell == off)
    }
}

/// Whether a switch's carry onto a cell that holds `held` makes it the
/// flag itself, 0 or 1 (the constant and the carry's base add to 0): then
/// `setae` where it is 1 from the carry's `at` (`Some(true)`), `setb`
/// where it is 1 below it (`Some(false)`), with no constant moved into
/// the register first (the carry walk's `[p+96] = d >= 5`).
fn carry_flag_alone(held: Held, add: CarryAdd) -> Option<bool> {
    match (held, add) {
        (Held::Constant(c), CarryAdd::OneMoreFromAt(below)) if c.wrapping_add(below) == 0 => Some(true),
        (Held::Constant(c), CarryAdd::OneMoreBelowAt(above)) if c.wrapping_add(above) == 0 => Some(false),
        _ => None,
    }
}

/// The state of a register loop's body being emitted.
struct LoopBody<'a> {
    cells: &'a [i32],
    /// The cell in a register whose new value the zero flag reflects.
    zf_cell: Option<i32>,
    /// The open blocks: an if's end, or an inner loop's top, end and
    /// counter.
    blocks: Vec<InnerBlock>,
    /// The cells in registers that were written.
    written: Vec<i32>,
}

/// A block open in a register loop's body, with `unchecked_shift` where
/// its body starts (the pointer does not move in a register loop: at the
/// block's end, the larger of that and the body's is right both ways).
enum InnerBlock {
    If { end: DynamicLabel, shift: u64 },
    Loop { top: DynamicLabel, end: DynamicLabel, counter: i32, shift: u64 },
}

impl LoopBody<'_> {
    fn reg(&self, off: i32) -> Option<Rq> {
        self.cells.binary_search(&off).ok().map(|i| LOOP_REGS[i])
    }
}

impl Emitter {
    /// `cells` of the loop being emitted (marked last) in the order its
    /// body first touches them unconditionally (outside its ifs), each
    /// with the source offset of the command that does (`Inst::touches`:
    /// a multiply's source is its loop's `[`'s); then cells
    /// only its ifs touch. Loaded in that order, a cell off the tape faults
    /// where the first iteration's first unconditional touch of one would
    /// (cells only ifs touch lie between ones touched unconditionally:
    /// `select::register_loop`). And whether that is the order every path
    /// of the first iteration touches them in, before any other cell:
    /// false where an `if` may touch a cell before its first unconditional
    /// touch (or only an `if` does), or a cell in memory is touched before
    /// the last of them.
    fn first_touches(&self, cells: &[i32], program: &Program) -> (Vec<(i32, u32)>, bool) {
        let first = self.current_inst();
        let mut seen: Vec<(i32, u32)> = Vec::new();
        let mut in_order = true;
        let mut depth = 0;
        for inst in &program.insts[first..] {
            let conditional = depth > 1;
            for (off, at) in inst.touches() {
                if !cells.contains(&off) {
                    in_order &= seen.len() == cells.len();
                } else if !seen.iter().any(|&(cell, _)| cell == off) {
                    if conditional {
                        in_order = false;
                    } else {
                        seen.push((off, at));
                    }
                }
            }
            depth += inst.op.opens() as i32 - inst.op.closes() as i32;
            if depth == 0 {
                break;
            }
        }
        let rest = cells.iter().filter(|&&off| !seen.iter().any(|&(cell, _)| cell == off));
        let rest: Vec<(i32, u32)> = rest.map(|&off| (off, self.ats[first])).collect();
        in_order &= rest.is_empty();
        seen.extend(rest);
        (seen, in_order)
    }

    /// A loop with `cells` in registers: loaded once the counter is found
    /// non-zero, stored back after the last iteration.
    pub(super) fn emit_register_loop(&mut self, l: &RegisterLoop, program: &Program) {
        let mut body = LoopBody { cells: &l.cells, zf_cell: None, blocks: vec![], written: vec![] };
        let (top, exit) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        // Loaded in the order the body first touches them, each as the
        // command that does. Where an `if` may touch a cell first (or
        // alone), a cell off the tape may not be the one the program fails
        // at: then the loop runs again as plain code, which fails where the
        // program does.
        let (loads, in_order) = self.first_touches(&l.cells, program);
        let plain = (!in_order).then(|| {
            let entry = self.ops.new_dynamic_label();
            PlainCode::looped(entry, exit, self.current_inst(), l.test, l.body.iter().copied(), self.unchecked_shift)
        });
        self.enter_if_nonzero(l.test, exit);
        for (off, at) in loads {
            self.attribute(at);
            let load = CellInst::MovzxReg(body.reg(off).expect("in a register"));
            match &plain {
                Some(plain) => {
                    let entry = plain.entry;
                    self.recoverable_access(off, |e| e.cell(load, off), |_| Recovery::Restart(entry));
                }
                None => {
                    self.touch(off);
                    self.cell(load, off);
                }
            }
        }
        self.plain_code.extend(plain);
        self.align_loop_top();
        asm!(self.ops; =>top);
        for &op in &l.body {
            self.mark();
            body.zf_cell = self.register_loop_op(&mut body, op, program);
        }
        self.lose_eax_and_flags();
        self.mark();
        self.test_register(&body, l.test);
        self.jump(Jump::IfNonZero, top);
        body.written.sort_unstable();
        body.written.dedup();
        for &off in &body.written {
            self.cell(CellInst::StoreReg(body.reg(off).expect("in a register")), off);
        }
        asm!(self.ops; =>exit);
        // Both ways the counter was touched, and every cell is on the tape.
        self.unchecked_shift = l.test.unsigned_abs() as u64;
    }

    /// One instruction of a register loop's body; the cell in a register
    /// whose new value the zero flag then reflects.
    fn register_loop_op(&mut self, body: &mut LoopBody, op: Op, program: &Program) -> Option<i32> {
        match op {
            Op::Add { off, val } => match body.reg(off) {
                // Changes nothing, and the cell was loaded: touched.
                Some(_) if val == 0 => body.zf_cell,
                Some(r) => {
                    asm!(self.ops; add Rb(r), val as i8);
                    body.written.push(off);
                    Some(off)
                }
                // In memory, as anywhere else.
                None => {
                    self.op(op, program);
                    None
                }
            },
            Op::Set { off, val } => match body.reg(off) {
                Some(r) => {
                    asm!(self.ops; mov Rb(r), val as i8);
                    body.written.push(off);
                    body.zf_cell.filter(|&cell| cell != off)
                }
                None => {
                    // The touch may compare (far cells): flags lost.
                    self.op(op, program);
                    None
                }
            },
            Op::AddMul { off, src, factor, .. } => {
                // (Never `if_nonzero`: `select::register_loop`.)
                let source = body.reg(src).unwrap_or_else(|| {
                    self.reading_source_of(self.current_inst(), |e| {
                        e.touch(src);
                        e.cell(CellInst::MovzxEax, src);
                    });
                    AL
                });
                // The byte register that holds what to add (or subtract).
                let by = self.addend_byte(source, factor);
                self.add_addend(body.reg(off), off, by, factor, None);
                body.reg(off).map(|_| {
                    body.written.push(off);
                    off
                })
            }
            Op::If { off } => {
                let end = self.ops.new_dynamic_label();
                self.test_cell(body, off);
                self.jump(Jump::IfZero, end);
                body.blocks.push(InnerBlock::If { end, shift: self.unchecked_shift });
                None
            }
            // An inner loop (its cells in registers: `select::register_loop`).
            Op::Loop { off } => {
                let (top, end) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
                self.test_cell(body, off);
                self.jump(Jump::IfZero, end);
                // Reached from before the loop and from its end alike.
                self.lose_eax_and_flags();
                self.align_loop_top();
                asm!(self.ops; =>top);
                body.blocks.push(InnerBlock::Loop { top, end, counter: off, shift: self.unchecked_shift });
                None
            }
            Op::EndIf | Op::EndLoop => {
                let shift = match body.blocks.pop().expect("balanced IR") {
                    InnerBlock::If { end, shift } => {
                        asm!(self.ops; =>end);
                        shift
                    }
                    InnerBlock::Loop { top, end, counter, shift } => {
                        self.test_register(body, counter);
                        self.jump(Jump::IfNonZero, top);
                        asm!(self.ops; =>end);
                        self.lose_eax_and_flags();
                        shift
                    }
                };
                self.unchecked_shift = self.unchecked_shift.max(shift);
                None
            }
            op => unreachable!("a register loop has no {op:?}"),
        }
    }

    /// Sets the zero flag by the cell `off` (a block's test), in its
    /// register or in memory.
    fn test_cell(&mut self, body: &LoopBody, off: i32) {
        if body.reg(off).is_some() {
            self.test_register(body, off);
        } else {
            self.touch(off);
            self.cell(CellInst::CmpZero, off);
        }
    }

    /// Sets the zero flag by the register of the cell `off`, unless it
    /// reflects that cell already (the add to it just before).
    fn test_register(&mut self, body: &LoopBody, off: i32) {
        let r = body.reg(off).expect("in a register");
        if body.zf_cell != Some(off) {
            asm!(self.ops; test Rb(r), Rb(r));
        }
    }

    /// A run with cells in registers (the others in memory, as anywhere
    /// else). A cell set to a constant stays a constant until something
    /// needs it in its register: adds to it are folded, multiplies by it
    /// are adds of a constant, and one only stored is stored as an
    /// immediate. The stores at the end go with the last instruction.
    ///
    /// A run with temporaries (`Run::zeros`) tests them first: where all
    /// hold 0, a copy of the run that takes them for the constant 0 runs,
    /// which neither loads them nor stores the 0 they end with; else the
    /// run as it is, after the program (`PlainCode`), from which it comes
    /// back. The test reads them before the program does: off the tape,
    /// the run as it is runs instead, and fails where the program does
    /// (`Recovery::Restart`). In a walk in blocks, the test is of many
    /// iterations' temporaries at once, after the program too
    /// (`emit_frame_blocks`): here the pointer is compared with where the
    /// last block tested ends.
    pub(super) fn emit_register_run(&mut self, run: &Run, program: &Program, blocks: Option<&FrameBlocks>) {
        if run.zeros.is_empty() {
            return self.run_code(run, program, &[]);
        }
        let (general, join) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let (first, shift) = (self.current_inst(), self.unchecked_shift);
        // The second copy goes through the run's instructions as the first
        // did: from the next (its first step is not marked).
        let copy = self.copy_from(first + 1);
        self.lose_eax_and_flags();
        let zeros: Vec<i32> = run.zeros.iter().map(|&k| run.cells[k]).collect();
        match blocks {
            None => self.test_temporaries(&zeros, general),
            Some(blocks) => {
                let (block, fast) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
                asm!(self.ops; cmp rbx, a_block_end);
                self.jump(if blocks.stride > 0 { Jump::IfAboveOrEqual } else { Jump::IfBelowOrEqual }, block);
                asm!(self.ops; =>fast);
                let body = PlainBody::FrameBlocks { blocks: Box::new(blocks.clone()), zeros, general, first };
                self.plain_code.push(PlainCode { entry: block, exit: Some(fast), copy: (first, None), body, shift });
            }
        }
        self.run_code(run, program, &run.zeros);
        // The run as it is: after the program, where the code that mostly
        // runs takes no jump over it.
        let body = PlainBody::Run { run: Box::new(run.clone()), first };
        self.plain_code.push(PlainCode { entry: general, exit: Some(join), copy, body, shift });
        asm!(self.ops; =>join);
        // Either way: what both ways know (a run does not move the
        // pointer: the cell known on the tape before it still is).
        self.unchecked_shift = self.unchecked_shift.max(shift);
        self.lose_eax_and_flags();
    }

    /// Jumps to `general` unless the cells `zeros` all hold 0 (a run's
    /// temporaries); off the tape, the recovery of each load goes there.
    pub(super) fn test_temporaries(&mut self, zeros: &[i32], general: DynamicLabel) {
        for (n, &off) in zeros.iter().enumerate() {
            // One cell is compared; more are or'ed in al, the last `or`
            // setting the flags (a `movzx` sets none).
            let load = match (n, zeros.len()) {
                (_, 1) => CellInst::CmpZero,
                (0, _) => CellInst::MovzxEax,
                _ => CellInst::OrToAl,
            };
            self.recoverable_access(off, |e| e.cell(load, off), |_| Recovery::Restart(general));
        }
        self.jump(Jump::IfNonZero, general);
    }

    /// The code of a run, the cells `zeros` (indices in its cells) taken
    /// for 0 on entry: not loaded, and not stored where they end 0.
    pub(super) fn run_code(&mut self, run: &Run, program: &Program, zeros: &[usize]) {
        let cells = &run.cells[..];
        let slot = |off: i32| cells.iter().position(|&cell| cell == off).expect("a cell in a register");
        let mut state = RunState::new(cells);
        for &k in zeros {
            state.held[k] = Held::Constant(0);
        }
        for &cell in cells {
            // eax holds memory's value of a cell, which the run changes in
            // its register.
            self.in_eax.forget(cell);
        }
        self.zf_cell = None;
        for (n, step) in run.steps.iter().enumerate() {
            if n > 0 {
                self.mark();
            }
            match *step {
                RunStep::Switch(ref switch) => self.run_switch(&mut state, switch),
                RunStep::Registers(Op::Add { off, val }) => {
                    let k = slot(off);
                    match state.held[k] {
                        Held::Constant(v) => state.held[k] = Held::Constant(v.wrapping_add(val)),
                        _ => {
                            let r = self.run_register(&mut state, k);
                            asm!(self.ops; add Rb(r), val as i8);
                        }
                    }
                    state.dirty[k] = true;
                }
                RunStep::SetStored { off, val } => {
                    // The cell's first touch: where the program makes it.
                    self.touch(off);
                    self.cell(CellInst::MovImm(val), off);
                    state.held[slot(off)] = Held::Constant(val);
                    state.dirty[slot(off)] = true;
                }
                RunStep::Registers(Op::Set { off, val }) => {
                    if state.held[slot(off)] == Held::Product {
                        // Touched here first where the product is zero.
                        self.run_register(&mut state, slot(off));
                    }
                    state.held[slot(off)] = Held::Constant(val);
                    state.dirty[slot(off)] = true;
                }
                RunStep::Registers(multiply @ Op::AddMul { off, .. }) => {
                    if !(run.last_reads.contains(&n) && self.hand_on(&mut state, multiply)) {
                        self.run_multiply(&mut state, multiply);
                    }
                    if let Some(k) = cells.iter().position(|&cell| cell == off) {
                        state.dirty[k] = true;
                    }
                }
                RunStep::Registers(op) => unreachable!("a run has no {op:?}"),
                RunStep::CopyFromRegister(copy) => {
                    self.copy_from_register(&mut state, copy);
                    self.mark();
                }
                RunStep::Op(op) => self.op(op, program),
                RunStep::Copy(copy) => {
                    self.copy(copy);
                    self.mark();
                }
            }
        }
        for (k, &off) in cells.iter().enumerate() {
            if !state.dirty[k] {
                continue;
            }
            if zeros.contains(&k) && state.held[k] == Held::Constant(0) {
                // Taken for 0 and left 0.
                continue;
            }
            if state.held[k] == Held::Product {
                self.run_register(&mut state, k);
            }
            debug_assert!(state.held[k] != Held::Dead, "a cell changed and then handed on");
            self.touch(off);
            match state.held[k] {
                Held::Constant(v) => self.cell(CellInst::MovImm(v), off),
                _ => self.cell(CellInst::StoreReg(state.regs[k]), off),
            }
        }
        debug_assert!(self.carried.is_empty(), "a product left unloaded after its run");
        self.zf_cell = None;
        // The next instruction reads a cell of the run: eax takes it from
        // its register, not from the store just made (not from a register
        // left stale by a constant). Zero-extended, as eax holds a cell (a
        // switch indexes its tables with rax): a move where the register
        // is (fib.b's digits: no latency), else a `movzx`.
        if let Some(k) = run.read_next.filter(|&k| state.held[k] == Held::Register) {
            match state.wide[k] {
                false => asm!(self.ops; mov eax, Rd(state.regs[k])),
                true => asm!(self.ops; movzx eax, Rb(state.regs[k])),
            }
            self.in_eax = EaxCells::only(cells[k]);
        }
    }

    /// A switch in a run (`RunStep::Switch`), every cell of it on the
    /// tape: v into eax from its register or the tape, the tables' address
    /// in rdx (rsi is a run register), each cell's new value made in its
    /// register where it is in one (a constant stays one), else on the
    /// tape as outside a run. The carry walk's digit and carry pass through
    /// it in registers: no store and load back on the way.
    fn run_switch(&mut self, state: &mut RunState, switch: &SwitchPlan) {
        let tables = switch.reads_tables();
        // Without tables v is only compared (carries): from the counter's
        // own register, where no cell's new value is made there first.
        let counter_kept = switch.cells.iter().all(|cell| {
            cell.off != switch.src
                || matches!(cell.form, CellForm::Constant(_) | CellForm::Update { and: false, add: false })
        });
        let counter = match state.slot(switch.src) {
            Some(k) if !tables && counter_kept => self.run_register(state, k),
            Some(k) => {
                let r = self.run_register(state, k);
                asm!(self.ops; movzx eax, Rb(r));
                AL
            }
            None => {
                self.touch(switch.src);
                self.cell(CellInst::MovzxEax, switch.src);
                AL
            }
        };
        // First the registers of the cells whose new value is made from
        // their old one, and of those with a product not yet added (touched
        // here first where it is zero): a load may check the tape through
        // rdx, which then takes the tables' address.
        for cell in &switch.cells {
            let Some(k) = state.slot(cell.off) else { continue };
            let no_op = cell.form == CellForm::Update { and: false, add: false };
            let reads_old = match cell.form {
                CellForm::Carry(carry) => carry_flag_alone(state.held[k], carry.add).is_none(),
                CellForm::Update { .. } => !no_op,
                _ => false,
            };
            if reads_old || state.held[k] == Held::Product {
                self.attribute(cell.at);
                self.run_register(state, k);
            }
        }
        if tables {
            asm!(self.ops; lea rdx, [=>self.routines.data]);
        }
        for cell in &switch.cells {
            self.attribute(cell.at);
            let Some(k) = state.slot(cell.off) else {
                self.switch_cell(cell, Rq::RDX);
                continue;
            };
            let (keep, add) = cell.keep_and_add();
            match cell.form {
                CellForm::Constant(v) => state.held[k] = Held::Constant(v),
                CellForm::FromTable => {
                    asm!(self.ops; movzx Rd(state.regs[k]), BYTE [rdx + rax + add]);
                    state.held[k] = Held::Register;
                    state.wide[k] = false;
                }
                CellForm::Carry(carry) => {
                    if let Some(one_from_at) = carry_flag_alone(state.held[k], carry.add) {
                        let r = state.regs[k];
                        asm!(self.ops; cmp Rb(counter), carry.at as i8);
                        match one_from_at {
                            true => asm!(self.ops; setae Rb(r)),
                            false => asm!(self.ops; setb Rb(r)),
                        }
                        // (Above the flag's byte, whatever the register held.)
                        (state.held[k], state.wide[k]) = (Held::Register, true);
                        state.dirty[k] = true;
                        continue;
                    }
                    let r = self.run_register(state, k);
                    asm!(self.ops; cmp Rb(counter), carry.at as i8);
                    let imm = carry.add.immediate() as i8;
                    match carry.add {
                        CarryAdd::OneMoreFromAt(_) => asm!(self.ops; sbb Rb(r), imm),
                        CarryAdd::OneMoreBelowAt(_) => asm!(self.ops; adc Rb(r), imm),
                    }
                }
                CellForm::Update { and: false, add: false } => continue,
                CellForm::Update { and, add: adds } => {
                    let r = self.run_register(state, k);
                    if and {
                        asm!(self.ops; and Rb(r), BYTE [rdx + rax + keep]);
                    }
                    if adds {
                        asm!(self.ops; add Rb(r), BYTE [rdx + rax + add]);
                    }
                }
            }
            state.dirty[k] = true;
        }
        self.in_eax = EaxCells::NONE;
        self.zf_cell = None;
    }

    /// `set [t] = 0; mul [t] += [s] * k` with the source in a register and
    /// the target in memory: the product's byte stored.
    fn copy_from_register(&mut self, state: &mut RunState, copy: Product) {
        let k = state.slot(copy.src).expect("a cell in a register");
        // The multiply is the instruction after the clear.
        let source = self.reading_source_of(self.current_inst() + 1, |e| e.run_register(state, k));
        // The product itself (an addend of 255 would be subtracted).
        let by = match copy.factor {
            1 => source,
            _ => self.product_byte(source, copy.factor),
        };
        self.touch(copy.off);
        self.cell(CellInst::StoreReg(by), copy.off);
        self.in_eax.forget(copy.off);
    }

    /// The register of a run's cell (`k` of `cells`), made to hold its
    /// value: loaded at its first read, or set to its constant.
    fn run_register(&mut self, state: &mut RunState, k: usize) -> Rq {
        let r = state.regs[k];
        match state.held[k] {
            Held::Memory => {
                self.touch(state.cells[k]);
                self.cell(CellInst::MovzxReg(r), state.cells[k]);
                state.wide[k] = false;
            }
            Held::Constant(v) => {
                asm!(self.ops; mov Rd(r), v as i32);
                state.wide[k] = false;
            }
            Held::Register => {}
            Held::Dead => unreachable!("a value handed on is not read again (Run::last_reads)"),
            // The cell's first touch, but for the multiply's where its
            // product is not zero: off the tape, the fault names that one.
            Held::Product => {
                let off = state.cells[k];
                let kept = self.carried.iter().position(|carried| carried.off == off).expect("a product kept");
                let at = self.carried.remove(kept).at;
                let nonzero_site = self.ops.new_dynamic_label();
                let either = Either { product: r, off, nonzero_at: at, nonzero_site, zero_at: self.attributed() };
                self.recoverable_access(off, |e| e.cell(CellInst::AddToReg(r), off), |_| Recovery::Either(either));
            }
        }
        state.held[k] = Held::Register;
        r
    }

    /// A multiply by 1 that reads its source for the last time
    /// (`Run::last_reads`): where it would copy the source's register into
    /// the target's (a target holding 0, or an `if_nonzero` one's not yet
    /// loaded), the two cells swap registers instead, the target's value
    /// (or product) the source's, and the source `Held::Dead`. False where
    /// it would not, with nothing emitted.
    fn hand_on(&mut self, state: &mut RunState, multiply: Op) -> bool {
        let Op::AddMul { off, src, if_nonzero, .. } = multiply else { unreachable!("a multiply") };
        let slot = |cell: i32| state.slot(cell).expect("a cell in a register");
        let (s, t) = (slot(src), slot(off));
        let into_product = if_nonzero && state.held[t] == Held::Memory;
        if matches!(state.held[s], Held::Constant(_)) || !(into_product || state.held[t] == Held::Constant(0)) {
            return false;
        }
        // The source in its register, read as the multiply reads it.
        self.reading_source_of(self.current_inst(), |e| e.run_register(state, s));
        state.regs.swap(s, t);
        state.wide[t] = state.wide[s];
        state.held[s] = Held::Dead;
        state.held[t] = if into_product {
            self.carried.push(Carried { product: state.regs[t], off, at: self.attributed() });
            Held::Product
        } else {
            Held::Register
        };
        true
    }

    /// `cell[off] += cell[src] * factor` in a run, one of them (or both) in
    /// a register (the target never, `if_nonzero`: `select::runs`).
    fn run_multiply(&mut self, state: &mut RunState, multiply: Op) {
        let Op::AddMul { off, src, factor, if_nonzero } = multiply else { unreachable!("a multiply") };
        let (target, source_slot) = (state.slot(off), state.slot(src));
        // A constant source: an add of a constant (of nothing, touching
        // nothing, if zero and `if_nonzero`).
        if let Some(Held::Constant(v)) = source_slot.map(|k| state.held[k]) {
            if v == 0 && if_nonzero {
                return;
            }
            let product = v.wrapping_mul(factor);
            match target {
                Some(t) => match state.held[t] {
                    Held::Constant(c) => state.held[t] = Held::Constant(c.wrapping_add(product)),
                    _ => {
                        let r = self.run_register(state, t);
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
        let source = self.reading_source_of(self.current_inst(), |e| match source_slot {
            Some(k) => e.run_register(state, k),
            None => {
                e.touch(src);
                if !e.in_eax.holds(src) {
                    e.cell(CellInst::MovzxEax, src);
                    e.in_eax = EaxCells::only(src);
                }
                AL
            }
        });
        // (A source in eax is zero-extended.)
        let source_wide = source_slot.is_some_and(|k| state.wide[k]);
        // An `if_nonzero` multiply, the cell's first touch: its product
        // kept, the cell not loaded (`Held::Product`).
        if let (Some(t), true) = (target, if_nonzero) {
            if state.held[t] == Held::Memory {
                let r = state.regs[t];
                state.wide[t] = match factor {
                    1 => {
                        asm!(self.ops; mov Rd(r), Rd(source));
                        source_wide
                    }
                    255 => {
                        asm!(self.ops; mov Rd(r), Rd(source); neg Rb(r));
                        source_wide
                    }
                    _ => {
                        let product = self.product_byte(source, factor);
                        asm!(self.ops; movzx Rd(r), Rb(product));
                        false
                    }
                };
                state.held[t] = Held::Product;
                self.carried.push(Carried { product: r, off, at: self.attributed() });
                return;
            }
        }
        // A product into a cell in a register that holds a constant: the
        // sum made in one instruction, the constant never moved into the
        // register (a copy into a cleared cell is a move). The carry walk's
        // `[p] = 1; [p] += [s] * 2`: `lea esi, [r8 + r8 + 1]`.
        if let Some(t) = target.filter(|_| factor != 255) {
            if let Held::Constant(c) = state.held[t] {
                self.sum_product_into(state.regs[t], None, source, factor, c);
                // A move of the source, or a `lea`.
                state.wide[t] = if (factor, c) == (1, 0) { source_wide } else { true };
                state.held[t] = Held::Register;
                return;
            }
        }
        match target.map(|t| (t, self.run_register(state, t))) {
            Some((t, r)) if factor != 255 => {
                self.sum_product_into(r, Some(r), source, factor, 0);
                // A `lea`, or an add to the low byte.
                state.wide[t] |= matches!(factor, 2 | 4 | 8);
            }
            target => {
                let by = self.addend_byte(source, factor);
                self.add_addend(target.map(|(_, r)| r), off, by, factor, if_nonzero.then_some(source));
            }
        }
    }

    /// `target = base + source * factor + disp` (`base`, if any, is
    /// `target` itself): one `lea` where x86 scales by the factor (without
    /// a base 2, 3, 4, 5, 8 and 9; with one 2, 4 and 8), else the product
    /// made in cl first (`sum_into`).
    pub(super) fn sum_product_into(&mut self, target: Rq, base: Option<Rq>, source: Rq, factor: u8, disp: u8) {
        let disp32 = i32::from(disp as i8);
        match (base, scaled(source, factor)) {
            (None, Some((base, index))) => self.lea32(target, base, Some(index), disp32),
            (Some(base), _) if matches!(factor, 2 | 4 | 8) => {
                self.lea32(target, Some(base), Some((source, factor)), disp32)
            }
            _ => {
                let by = self.addend_byte(source, factor);
                self.sum_into(target, base, by, disp);
            }
        }
    }

    /// `target = base + by + disp` (`base` None: `by + disp`) in one
    /// instruction, a move, an add or a `lea`; in 32 bits, of which only
    /// the low byte counts, here and wherever a cell's register is read.
    /// `base`, if any, is `target` itself.
    pub(super) fn sum_into(&mut self, target: Rq, base: Option<Rq>, by: Rq, disp: u8) {
        debug_assert!(base.is_none_or(|base| base == target), "a sum into its own register");
        match (base, disp) {
            (None, 0) => asm!(self.ops; mov Rd(target), Rd(by)),
            (None, _) => self.lea32(target, Some(by), None, i32::from(disp as i8)),
            (Some(_), 0) => asm!(self.ops; add Rb(target), Rb(by)),
            (Some(base), _) => self.lea32(target, Some(base), Some((by, 1)), i32::from(disp as i8)),
        }
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
    pub(super) fn product_byte(&mut self, source: Rq, factor: u8) -> Rq {
        self.multiply_into_ecx(source, factor);
        Rq::RCX
    }

    /// `cell[off] += by` (`-=` for a factor of 255, see `addend_byte`), the
    /// cell in `target` if it is in a register, else in memory; `skip`: an
    /// `if_nonzero` multiply's source (`target_access`).
    fn add_addend(&mut self, target: Option<Rq>, off: i32, by: Rq, factor: u8, skip: Option<Rq>) {
        match target {
            Some(r) if factor == 255 => asm!(self.ops; sub Rb(r), Rb(by)),
            Some(r) => asm!(self.ops; add Rb(r), Rb(by)),
            None => {
                let access = if factor == 255 { CellInst::SubReg(by) } else { CellInst::AddReg(by) };
                self.target_access(off, skip, |e| e.cell(access, off));
                self.in_eax.forget(off);
            }
        }
    }
}
