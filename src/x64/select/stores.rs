//! Sets of neighbouring cells, one after another (`[-]>[-]>[-]`, a
//! generated program's clearing of its scratch cells, a table reset to
//! constants): stored a few cells at a time (`SetBlock`), as gcc's store
//! merging does, instead of a byte store each.

use super::{runs, Place, SetBlock, Target};
use crate::ir::{Inst, Op, Program};

/// The most sets a block takes: its plain copy, which a tape error runs
/// (`emit::stores`), has a store for each.
pub(super) const BLOCK_MAX: usize = 64;

/// The block of sets `all[i..]` starts with, and how many instructions it
/// takes: the longest run of consecutive sets, at least two, whose cells
/// are neighbours (each set once, no gap between them). Not a set that
/// starts a run of arithmetic (which takes a set for a constant and folds
/// it into what uses it) or a copy (a clear whose product is stored). In
/// loops only: a block's code, with its plain copy and its stores' entries
/// in the table of fault pads, is 2 to 3 times the size of a store a cell,
/// which pays only for code that runs again and again.
pub(super) fn set_block(
    all: &[Inst],
    i: usize,
    program: &Program,
    target: Target,
    place: Place,
) -> Option<(SetBlock, usize)> {
    if place == Place::Once {
        return None;
    }
    let mut sets: Vec<(i32, u8)> = Vec::new();
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    // The sets taken so far that make a block.
    let mut block = 0;
    for j in i..all.len().min(i + BLOCK_MAX) {
        let Op::Set { off, val } = all[j].op else { break };
        let starts_other = j > i && !target.checked && runs::run(all, j, program, target, place).is_some();
        if starts_other || runs::copy(&all[j..], target).is_some() || sets.iter().any(|&(cell, _)| cell == off) {
            break;
        }
        sets.push((off, val));
        (lo, hi) = (lo.min(off), hi.max(off));
        if sets.len() >= 2 && (hi - lo) as usize + 1 == sets.len() {
            block = sets.len();
        }
    }
    sets.truncate(block);
    (block > 0).then_some((SetBlock { sets }, block))
}

impl SetBlock {
    /// The lowest and the highest cell it sets.
    pub fn span(&self) -> (i32, i32) {
        let offs = self.sets.iter().map(|&(off, _)| off);
        (offs.clone().min().expect("a block"), offs.max().expect("a block"))
    }

    /// The value each cell ends with, from the lowest up.
    pub fn bytes(&self) -> Vec<u8> {
        let (lo, hi) = self.span();
        let mut bytes = vec![0; (hi - lo) as usize + 1];
        for &(off, val) in &self.sets {
            bytes[(off - lo) as usize] = val;
        }
        bytes
    }
}
