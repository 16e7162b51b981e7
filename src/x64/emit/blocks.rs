//! Walks in blocks (`select::WalkInBlocks`): the temporaries of many
//! iterations of a walk's run tested at once, 16 bytes at a time, and the
//! iterations between compared only with where that block ends.

use dynasmrt::x64::Rq;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::scan::Movdqu;
use super::{Emitter, Jump, Recovery};
use crate::ir::{Op, Program};
use crate::x64::select::{FrameBlocks, WalkInBlocks};

impl Emitter {
    /// The walk's `Loop` and its run. The pointer where the block ends is
    /// where it starts: the first iteration tests a block.
    pub(super) fn emit_walk_in_blocks(&mut self, walk: &WalkInBlocks, program: &Program) {
        asm!(self.ops; mov a_block_end, rbx);
        self.op(Op::Loop { off: walk.test }, program);
        self.mark();
        self.emit_register_run(&walk.run, program, Some(&walk.blocks));
    }

    /// After the program, at the start of an iteration past the block
    /// tested last: the next block's temporaries, all at once. Where they
    /// hold 0, the block ends `frames` iterations on and the run takes its
    /// temporaries for 0 (at `fast`, where this code also goes on); else,
    /// or where a byte of it is off the tape (the guard pages fault, and
    /// the code resumes there), the iteration's own temporaries are tested
    /// as a run outside a walk tests them (`test_temporaries`, which jumps
    /// to the run as it is, `general`, where one is not 0).
    pub(super) fn emit_frame_blocks(
        &mut self,
        blocks: &FrameBlocks,
        zeros: &[i32],
        (fast, general): (DynamicLabel, DynamicLabel),
    ) {
        let own = self.ops.new_dynamic_label();
        let shift = self.unchecked_shift;
        for (n, &window) in blocks.windows.iter().enumerate() {
            let xmm = if n == 0 { 0 } else { 2 };
            let far = if window.abs() > (window + 15).abs() { window } else { window + 15 };
            // `select` keeps the windows and the loop's test close to the
            // pointer: the guard pages check them.
            debug_assert!(!self.touch_checks(far), "a block's window checked explicitly");
            self.recoverable_access(far, |e| e.movdqu(Movdqu::Load(xmm), window), |_| Recovery::Restart(own));
            if n > 0 {
                asm!(self.ops; por xmm0, xmm2);
            }
        }
        // A bit for each byte that is 0; those of the temporaries all set.
        asm!(self.ops; pxor xmm1, xmm1; pcmpeqb xmm0, xmm1; pmovmskb eax, xmm0);
        let mask = i32::from(blocks.mask);
        if mask != 0xFFFF {
            asm!(self.ops; and eax, mask);
        }
        asm!(self.ops; cmp eax, mask);
        self.jump(Jump::IfNonZero, own);
        // a_block_end: the first iteration's pointer the block does not cover.
        self.lea64(Rq::R11, Rq::RBX, blocks.frames * blocks.stride);
        self.jump(Jump::Always, fast);
        asm!(self.ops; =>own);
        self.unchecked_shift = shift;
        self.test_temporaries(zeros, general);
    }
}
