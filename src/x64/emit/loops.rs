//! Blocks: loops tested at the bottom, ifs, shortcuts, and small loops
//! unrolled once, as the plan gives them (`select::SmallLoop`).

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::jumps::{Jump, LOOP_ALIGN};
use super::{Block, CellInst, Emitter, PlainCode, Recovery};
use crate::ir::{Change, DivMod, Op, Program};
use crate::x64::select::{EaxCells, ShortcutPlan, SmallLoop, ZeroTests};

/// Iterations an add walk (`select::AddWalk`) makes one at a time before
/// its blocks: most walks are shorter (siercarpet's `[-->]` over its
/// seven base-3 digits), and for them the 16-byte compare, over cells just
/// written one byte at a time, costs more than it saves (after 4, walks
/// of 8 cells took 1.12x as long).
const WALK_PREFIX: usize = 8;

impl Emitter {
    /// A loop's test and the top of its body; with a `carried` cell, eax
    /// holds it at the top (see `select::SmallLoop::carried`). Where the
    /// code before it ended by adding to the tested cell (`zf_cell`), the
    /// add set the flags and touched the cell.
    pub(super) fn open_loop(&mut self, off: i32, carried: Option<(i32, DynamicLabel)>, zf_cell: Option<i32>) {
        let exit = self.loop_entry(off, zf_cell);
        if let Some((cell, plain)) = carried {
            // Earlier than the program touches it: off the tape, the loop
            // runs again as plain code (at `plain`), which fails where the
            // program does.
            self.recoverable_access(cell, |e| e.cell(CellInst::MovzxEax, cell), |_| Recovery::Restart(plain));
            // From here and from the loop's end alike, the pointer is where
            // the loop's test touched a cell.
            self.unchecked_shift = off.unsigned_abs() as u64;
            self.in_eax = EaxCells::only(cell);
        }
        self.loop_top(off, exit);
    }

    /// A loop's test on entry: a zero cell jumps to the exit it returns.
    pub(super) fn loop_entry(&mut self, off: i32, zf_cell: Option<i32>) -> DynamicLabel {
        let exit = self.ops.new_dynamic_label();
        self.jump_if_zero(off, zf_cell, exit);
        exit
    }

    /// The first test of a loop whose body keeps what it holds in registers
    /// of its own (a register loop or walk, a carry loop): eax and the
    /// flags are lost, and a zero cell `off` jumps to `to`, on the flags of
    /// an add to it where the code before ended with one (`jump_if_zero`:
    /// e_digits' `-[+++<<<<-]`, whose branch then need not wait for the
    /// load of the byte just stored).
    pub(super) fn enter_if_nonzero(&mut self, off: i32, to: DynamicLabel) {
        let zf_cell = self.zf_cell;
        self.lose_eax_and_flags();
        self.jump_if_zero(off, zf_cell, to);
    }

    /// Jumps to `to` where the cell `off` is 0: a compare, touching the
    /// cell, unless the flags hold it already (`zf_cell`: the code before
    /// ended by adding to it, which touched it).
    pub(super) fn jump_if_zero(&mut self, off: i32, zf_cell: Option<i32>, to: DynamicLabel) {
        if zf_cell != Some(off) {
            self.touch(off);
            self.cell(CellInst::CmpZero, off);
        }
        self.jump(Jump::IfZero, to);
    }

    /// The top of a loop's body, which its end jumps back to.
    pub(super) fn loop_top(&mut self, off: i32, exit: DynamicLabel) {
        let top = self.ops.new_dynamic_label();
        self.align_loop_top();
        asm!(self.ops; =>top);
        self.blocks.push(Block { top, exit, off });
    }

    /// An if, its value loaded into eax if `load` (eax does not hold it):
    /// it stays there, for a multiply loop's body reads it. Where the code
    /// before it ended by adding to the tested cell (`zf_cell`), the branch
    /// takes the add's flags: it need not wait for the load of the byte
    /// just stored (a store-to-load forward, which delays a mispredicted
    /// branch by as much), and the add touched the cell (a `movzx` leaves
    /// the flags alone).
    pub(super) fn open_if(&mut self, off: i32, load: bool, zf_cell: Option<i32>) {
        let top = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        let flags_tested = zf_cell == Some(off);
        if load {
            if !flags_tested {
                self.touch(off);
            }
            self.cell(CellInst::MovzxEax, off);
        }
        if !flags_tested {
            asm!(self.ops; test eax, eax);
        }
        self.jump(Jump::IfZero, exit);
        self.blocks.push(Block { top, exit, off });
    }

    /// A loop's end, tested at the bottom: one jump per iteration. When the
    /// body ended by adding to the tested cell (`zf_cell`), the add set the
    /// flags.
    pub(super) fn close_loop(&mut self, zf_cell: Option<i32>) {
        let Block { top, exit, off } = self.blocks.pop().expect("balanced IR");
        if zf_cell != Some(off) {
            self.touch(off);
            self.cell(CellInst::CmpZero, off);
        }
        self.jump(Jump::IfNonZero, top);
        asm!(self.ops; =>exit);
    }

    /// The end of an if or a shortcut.
    ///
    /// After an if, the pointer may be where the `If` tested it or where
    /// the body left it. Both are within the body's moves of a touched
    /// cell, which the shift already counts. After a shortcut, eax and the
    /// flags are what the shortcut or the body left: neither is known.
    /// What the body's end knows of the tape holds after the shortcut too:
    /// the shortcut is one run of the body, every cell of which it checked
    /// is on the tape.
    pub(super) fn close_block(&mut self, op: Op) {
        debug_assert!(matches!(op, Op::EndIf | Op::EndShortcut));
        let Block { exit, .. } = self.blocks.pop().expect("balanced IR");
        asm!(self.ops; =>exit);
    }

    /// A shortcut (`Op::Shortcut`) and the start of the code it stands
    /// for: its cells are compared with the tape's bounds, its zeros
    /// tested, and if all is well its changes made, then on after the
    /// block.
    pub(super) fn open_shortcut(&mut self, plan: &ShortcutPlan) {
        let shortcut = &plan.shortcut;
        let code = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        self.jump_unless_on_tape(shortcut.reach, None, code);
        match &plan.tests {
            ZeroTests::Bytes(cells) => {
                if let Some((&first, rest)) = cells.split_first() {
                    self.cell(CellInst::MovzxEax, first);
                    if rest.is_empty() {
                        asm!(self.ops; test eax, eax);
                    }
                    for &cell in rest {
                        self.cell(CellInst::OrToAl, cell);
                    }
                    self.jump(Jump::IfNonZero, code);
                }
            }
            ZeroTests::Words(tests) => {
                for test in tests {
                    let (at, mask) = (test.at, test.mask);
                    match test.size {
                        8 if mask == u64::MAX => asm!(self.ops; mov rax, QWORD [a_ptr + at]; test rax, rax),
                        8 => asm!(self.ops; mov rax, QWORD [a_ptr + at]; mov rcx, QWORD mask as i64; test rax, rcx),
                        4 => asm!(self.ops; mov eax, DWORD [a_ptr + at]; test eax, mask as i32),
                        2 => asm!(self.ops; movzx eax, WORD [a_ptr + at]; test eax, mask as i32),
                        _ => asm!(self.ops; movzx eax, BYTE [a_ptr + at]; test eax, eax),
                    }
                    self.jump(Jump::IfNonZero, code);
                }
            }
        }
        if let Some(divmod) = shortcut.divmod {
            self.emit_divmod(divmod, code);
        }
        for &(off, change) in &shortcut.changes {
            match change {
                Change::Set(v) => self.cell(CellInst::MovImm(v), off),
                Change::Add(v) => self.cell(CellInst::AddImm(v), off),
            }
        }
        if shortcut.delta != 0 {
            self.move_ptr(shortcut.delta);
        }
        self.jump(Jump::Always, exit);
        asm!(self.ops; =>code);
        self.blocks.push(Block { top: code, exit, off: 0 });
    }

    /// A divmod loop's closed form (`ir::DivMod::run`), its cells checked
    /// on the tape: the dividend n in r8, the count in ecx, the rest in
    /// edx. Before its first restart (n < count, 256 for 0) the count goes
    /// down by n and the rest up; else, unless count + rest is 1 (then the
    /// loop runs: on to `code`, nothing written), a division by the period
    /// (count + rest, 256 for 0) gives the restarts and where the last
    /// left the counter. Uses eax, ecx, edx, r8 to r10.
    fn emit_divmod(&mut self, d: DivMod, code: DynamicLabel) {
        let (restarts, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        asm!(self.ops
            ; movzx r8d, BYTE [a_ptr]
            ; movzx ecx, BYTE [a_ptr + d.count]
            ; movzx edx, BYTE [a_ptr + d.rest]
            // Iterations to the first restart: count, 256 for 0.
            ; lea eax, [rcx - 1]
            ; movzx eax, al
            ; add eax, 1
            ; cmp r8d, eax
            ; jae =>restarts
            ; sub BYTE [a_ptr + d.count], r8b
            ; add BYTE [a_ptr + d.rest], r8b
            ; jmp =>done
            ; =>restarts
            ; lea r9d, [rcx + rdx]
            ; movzx r9d, r9b
            ; cmp r9d, 1
        );
        self.jump(Jump::IfZero, code);
        asm!(self.ops
            // The period: count + rest, 256 for 0.
            ; lea r10d, [r9 - 1]
            ; movzx r10d, r10b
            ; add r10d, 1
            ; mov r9d, eax
            ; mov eax, r8d
            ; sub eax, r9d
            ; xor edx, edx
            ; div r10d
            ; add eax, 1
            ; add BYTE [a_ptr + d.quotient], al
            ; mov BYTE [a_ptr + d.rest], dl
            ; sub r10d, edx
            ; mov BYTE [a_ptr + d.count], r10b
            ; =>done
            ; mov BYTE [a_ptr], 0
        );
        if let Some(copy) = d.copy {
            asm!(self.ops; add BYTE [a_ptr + copy], r8b);
        }
    }

    /// A short innermost loop (`select::SmallLoop`), its end included: two
    /// copies of the body per iteration, the loop tested between them (one
    /// taken branch for two iterations), with its carried cell in eax and
    /// its sunk store made on the way out.
    pub(super) fn emit_small_loop(&mut self, l: &SmallLoop, program: &Program) {
        // The loop's instruction is marked: the body's first is next.
        let body = self.marks.len();
        // A load of the carried cell touches it before the program would:
        // where that fails, the loop runs as plain code (`PlainCode`). The
        // loop's own cell is loaded by its tests, which touch it anyway.
        let shift = self.unchecked_shift;
        // The top is reached from before the loop and from the body's end:
        // eax holds there only what both leave in it, the carried cell
        // (loaded below) or nothing. (An add before the loop leaves its
        // cell in eax, `EaxCells::pass_op`; the body's end, another: fuzz
        // seed 6703902.)
        self.in_eax = EaxCells::NONE;
        let tested_in_eax = l.carried == Some(l.test);
        let entry = l.carried.filter(|_| !tested_in_eax).map(|_| self.ops.new_dynamic_label());
        if tested_in_eax {
            self.test_in_eax(l.test);
        }
        let zf_cell = self.zf_cell.take();
        self.open_loop(l.test, l.carried.zip(entry), zf_cell);
        let plain = entry.map(|entry| {
            let mut depth = 1;
            let ops = program.insts[body..].iter().map(|inst| inst.op).take_while(|op| {
                depth += op.opens() as i32 - op.closes() as i32;
                depth > 0
            });
            // `exit`: the loop's own, past a sunk store (the plain loop
            // makes every store).
            let exit = self.blocks.last().expect("the loop").exit;
            PlainCode::looped(entry, exit, body - 1, l.test, ops, shift)
        });
        // The sunk store is made on the way out of a loop that ran, not on
        // the way past one that did not.
        let not_run = l.sunk.map(|_| {
            let ran = self.ops.new_dynamic_label();
            std::mem::replace(&mut self.blocks.last_mut().expect("the loop").exit, ran)
        });
        if let Some(walk) = l.blocks {
            // The first iterations one at a time (where a walk is short,
            // the 16-byte compare costs more than it saves), then blocks,
            // then the loop below for the rest: it starts a new top.
            let end_loop = body + 2; // after the walk's add and move
            for _ in 0..WALK_PREFIX {
                self.unmarked((body, None), |e| e.straight(&l.second, program));
                self.attribute(self.ats[end_loop]);
                self.exit_if_zero(l.test);
            }
            let rest = self.ops.new_dynamic_label();
            self.emit_add_walk_blocks(walk, rest);
            self.align_loop_top();
            asm!(self.ops; =>rest);
            self.blocks.last_mut().expect("the loop").top = rest;
        }
        self.straight(&l.first, program);
        let sunk_inst = l.sunk.map(|_| self.marks.len());
        if l.sunk.is_some() {
            self.mark();
        }
        self.straight(&l.after_sunk, program);
        // The test between the copies is the loop's `]` (the next
        // instruction, marked after the second copy).
        self.attribute(self.ats[self.marks.len()]);
        if tested_in_eax {
            self.test_in_eax(l.test);
        }
        self.exit_if_zero(l.test);
        self.unmarked((body, sunk_inst), |e| e.straight(&l.second, program));
        if tested_in_eax {
            // The loop's `]` too, not the copy's last instruction (fuzz
            // seed 5303847: off the tape, the error named the move).
            self.attribute(self.ats[self.marks.len()]);
            self.test_in_eax(l.test);
        } else if let Some(cell) = l.carried.filter(|&cell| !self.in_eax.holds(cell)) {
            // Not where the body was expected to leave it: loaded before
            // the next iteration's test, as before the first.
            let entry = entry.expect("a carried cell");
            self.recoverable_access(cell, |e| e.cell(CellInst::MovzxEax, cell), |_| Recovery::Restart(entry));
            self.zf_cell = None;
        }
        self.mark();
        self.op(Op::EndLoop, program);
        if let (Some(sunk), Some(not_run)) = (l.sunk, not_run) {
            // The last iteration's store: the pointer has moved on.
            self.touch(sunk.off);
            self.cell(CellInst::MovImm(sunk.val), sunk.off);
            asm!(self.ops; =>not_run);
            // Both ways the loop's test touched its cell last here.
            self.unchecked_shift = l.test.unsigned_abs() as u64;
        }
        self.plain_code.extend(plain);
    }

    /// Pads to a 32-byte boundary with the fewest (multi-byte) NOPs, so a
    /// loop body's placement does not decide its speed: the front end
    /// fetches and caches decoded code by 32-byte lines, and at 16 a loop's
    /// branches fell on one line or two as the code before it grew (a
    /// longer scan 102 bytes earlier made siercarpet 1.05x as long; counter
    /// under `--jit` was 1.09x its executable's time). The code's start is
    /// aligned to 32 too (`object`, and a page in the JIT).
    pub(super) fn align_loop_top(&mut self) {
        // The recommended NOP encodings of 1 to 8 bytes.
        const NOPS: [&[u8]; 8] = [
            &[0x90],
            &[0x66, 0x90],
            &[0x0f, 0x1f, 0x00],
            &[0x0f, 0x1f, 0x40, 0x00],
            &[0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
            &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        ];
        let len = (LOOP_ALIGN - self.ops.offset().0 % LOOP_ALIGN) % LOOP_ALIGN;
        let mut pad = len;
        while pad > 0 {
            let nop = NOPS[pad.min(8) - 1];
            self.ops.extend(nop.iter().copied());
            pad -= nop.len();
        }
        self.note_padding(len);
    }

    /// Tests the loop's cell `off` by loading it into eax (unless eax
    /// holds it) and testing that, for the body to use: the flags are then
    /// the test (`zf_cell`). Where an add into the cell just set them, they
    /// are kept (`movzx` leaves them alone).
    fn test_in_eax(&mut self, off: i32) {
        if !self.in_eax.holds(off) {
            self.touch(off);
            self.cell(CellInst::MovzxEax, off);
            self.in_eax = EaxCells::only(off);
        }
        if self.zf_cell != Some(off) {
            asm!(self.ops; test eax, eax);
            self.zf_cell = Some(off);
        }
    }

    /// Leaves the innermost loop when its cell is zero (a test in the
    /// middle of an unrolled body).
    fn exit_if_zero(&mut self, off: i32) {
        let exit = self.blocks.last().expect("inside a loop").exit;
        let zf_cell = self.zf_cell.take();
        self.jump_if_zero(off, zf_cell, exit);
    }
}
