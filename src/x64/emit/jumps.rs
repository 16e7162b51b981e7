//! Jumps to the code's own labels in the fewest bytes: 2 where the
//! displacement fits in 8 bits, else 5 (`jmp`) or 6 (`jcc`). A jump back
//! knows its distance when it is emitted; a jump forward does not, so the
//! code is emitted twice (`emit::emit`): first with every forward jump in
//! its 32-bit form, which measures how far each goes (`Jumps::shortened`),
//! then with those sure to fit in 8 bits short. Their displacements are
//! written once the code is whole (`Jumps::patch`).
//!
//! Between a forward jump and its target the second pass's code is the
//! first's, less the jumps made short, except where a size depends on
//! offsets: a padding before a loop top (`Emitter::align_loop_top`) may
//! grow up to `LOOP_ALIGN - 1` bytes, a jump back short in the first pass
//! may be long in the second. A jump is made short only if it fits with
//! each of those grown to its most (`Jumps::growth`).

use dynasmrt::{DynamicLabel, DynasmApi};

use super::{Asm, Emitter};

/// The alignment of loop tops (`Emitter::align_loop_top`).
pub(super) const LOOP_ALIGN: usize = 32;

/// The condition of a jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Jump {
    Always,
    /// `jz`/`je`
    IfZero,
    /// `jnz`/`jne`
    IfNonZero,
    /// `jb` (unsigned)
    IfBelow,
    /// `jae` (unsigned)
    IfAboveOrEqual,
    /// `ja` (unsigned)
    IfAbove,
    /// `jbe` (unsigned)
    IfBelowOrEqual,
}

impl Jump {
    /// The opcode's bytes before the displacement.
    fn opcode(self, short: bool) -> ([u8; 2], usize) {
        let cc = match self {
            Jump::Always => return if short { ([0xEB, 0], 1) } else { ([0xE9, 0], 1) },
            Jump::IfZero => 0x4,
            Jump::IfNonZero => 0x5,
            Jump::IfBelow => 0x2,
            Jump::IfAboveOrEqual => 0x3,
            Jump::IfAbove => 0x7,
            Jump::IfBelowOrEqual => 0x6,
        };
        if short {
            ([0x70 | cc, 0], 1)
        } else {
            ([0x0F, 0x80 | cc], 2)
        }
    }
}

/// The forward jumps of one pass, and what the pass before found of them.
#[derive(Default)]
pub(super) struct Jumps {
    /// Whether the n-th forward jump is short (from the pass before; none
    /// is in the first).
    short: Vec<bool>,
    /// This pass's forward jumps, in code order.
    forward: Vec<Forward>,
    /// Where this pass's code may be longer in a later one, in code order:
    /// where each such piece ends, and by how much at most.
    growth: Vec<(usize, usize)>,
}

/// A forward jump: where it starts and ends, whether short, and its target.
struct Forward {
    start: usize,
    end: usize,
    short: bool,
    label: DynamicLabel,
}

impl Jumps {
    /// For a pass after one that emitted `Jumps::shortened`.
    pub fn with_short(short: Vec<bool>) -> Jumps {
        Jumps { short, ..Jumps::default() }
    }

    /// Which of this pass's forward jumps, all 32-bit, will fit in 8 bits
    /// in a pass that makes them short: each one's distance, 4 bytes
    /// longer (3 for a `jmp`) with the jump 2 bytes long, and everything
    /// between it and its target that may grow (`growth`) grown to its
    /// most. `targets`: each jump's target's offset.
    pub fn shortened(&self, targets: &[usize]) -> Vec<bool> {
        // Both lists are in code order: the pieces that end after a jump's
        // start are found from where the jump before's were, and only a
        // jump already within reach adds up those before its target (a
        // few: they lie within 127 bytes). A binary search of all pieces
        // for each end was a tenth of a big program's emission.
        let mut after_start = 0;
        self.forward
            .iter()
            .zip(targets)
            .map(|(jump, &target)| {
                debug_assert!(!jump.short, "measured in a pass of 32-bit jumps");
                while self.growth.get(after_start).is_some_and(|&(end, _)| end <= jump.start) {
                    after_start += 1;
                }
                let mut distance = target - (jump.start + 2);
                let between = self.growth[after_start..].iter().take_while(|&&(end, _)| end <= target);
                for &(_, most) in between {
                    if distance > i8::MAX as usize {
                        break;
                    }
                    distance += most;
                }
                distance <= i8::MAX as usize
            })
            .collect()
    }

    /// Each forward jump's target's offset: all labels are placed.
    pub fn targets(&self, ops: &Asm) -> Vec<usize> {
        let at = |label| ops.labels().resolve_dynamic(label).expect("all labels are placed").0;
        self.forward.iter().map(|jump| at(jump.label)).collect()
    }

    /// Writes each forward jump's displacement into `bytes`.
    pub fn patch(&self, bytes: &mut [u8], targets: &[usize]) {
        for (jump, &target) in self.forward.iter().zip(targets) {
            let rel = target as isize - jump.end as isize;
            if jump.short {
                bytes[jump.end - 1] = i8::try_from(rel).expect("a short jump fits, as measured") as u8;
            } else {
                let rel = i32::try_from(rel).expect("code under 2 GiB");
                bytes[jump.end - 4..jump.end].copy_from_slice(&rel.to_le_bytes());
            }
        }
    }
}

impl Emitter {
    /// `jmp`/`jcc` to `label`: short where it fits (a jump back over a
    /// short body; a jump forward the pass before measured), else 32-bit.
    pub(super) fn jump(&mut self, jump: Jump, label: DynamicLabel) {
        let here = self.ops.offset().0;
        if let Ok(at) = self.ops.labels().resolve_dynamic(label) {
            let (long, long_len) = jump.opcode(false);
            match i8::try_from(at.0 as isize - (here as isize + 2)) {
                Ok(rel) => {
                    self.ops.extend([jump.opcode(true).0[0], rel as u8]);
                    // Farther in a later pass, it may take its long form.
                    self.jumps.growth.push((here + 2, long_len + 4 - 2));
                }
                Err(_) => {
                    let end = here + long_len + 4;
                    let rel = i32::try_from(at.0 as isize - end as isize).expect("code under 2 GiB");
                    self.ops.extend(long[..long_len].iter().copied());
                    self.ops.extend(rel.to_le_bytes());
                }
            }
            return;
        }
        let short = self.jumps.short.get(self.jumps.forward.len()).copied().unwrap_or(false);
        let (opcode, len) = jump.opcode(short);
        self.ops.extend(opcode[..len].iter().copied());
        let width = if short { 1 } else { 4 };
        self.ops.extend(std::iter::repeat_n(0, width));
        self.jumps.forward.push(Forward { start: here, end: here + len + width, short, label });
    }

    /// Notes padding of `len` bytes ending here: up to `LOOP_ALIGN - 1`
    /// in a later pass.
    pub(super) fn note_padding(&mut self, len: usize) {
        self.jumps.growth.push((self.ops.offset().0, LOOP_ALIGN - 1 - len));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `shortened` for one `jcc` at offset 10 to `target`, with `growth`.
    fn short_with(target: usize, growth: &[(usize, usize)]) -> bool {
        let label = Asm::new(0).new_dynamic_label();
        let forward = vec![Forward { start: 10, end: 16, short: false, label }];
        let jumps = Jumps { short: Vec::new(), forward, growth: growth.to_vec() };
        jumps.shortened(&[target])[0]
    }

    #[test]
    fn a_jump_is_made_short_only_if_it_fits_with_everything_between_grown() {
        // Short, it would end at 12: 127 bytes on is the farthest.
        assert!(short_with(139, &[]) && !short_with(140, &[]));
        // A padding of 20 between may grow by 11, a short jump back by 4.
        assert!(!short_with(130, &[(60, 11)]) && short_with(128, &[(60, 11)]));
        assert!(!short_with(136, &[(60, 4)]) && short_with(135, &[(60, 4)]));
        // What ends before the jump or after its target does not count.
        assert!(short_with(139, &[(10, 31), (140, 31)]));
        // What ends at the target does: the target is after it.
        assert!(!short_with(139, &[(139, 1)]));
    }
}
