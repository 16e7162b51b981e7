//! Loops that count down to a branch made by a scan (`fast_forward`): the
//! comparison idiom `[->-[>]<<]`, run many iterations at once on entry.

use super::FastForward;
use crate::ir::analysis::Hull;
use crate::ir::{inverse_mod_256, Inst, Op};

/// Instructions of a body `fast_forward` looks at.
const BODY_MAX: usize = 32;

/// The fast forward of the loop testing `test` with `body`, if it has one.
///
/// The idiom it serves is the comparison of two numbers by counting both
/// down until one is 0, a scan `[>]` branching on which: "the magic loop"
/// `[->-[>]<<]` of division and comparison snippets, bubblesort's
/// `[-<<<-<+>[>]>>]` (which also counts the steps). Run as written, each
/// iteration adds to the same cells through memory and takes two or three
/// branches, for as many iterations as the smaller number. In the code of
/// 1 of the 91 programs of the corpus and the wider set (bubblesort, 0.05x
/// its time before) and of the idiom benchmark `benches/idioms/compare.rs`.
///
/// The body must be adds (at any offsets), moves and one scan for 0, the
/// scan after the adds and followed by moves only. Where the scan stops
/// `k` cells on (`k >= 0`), the pointer comes back to where the iteration
/// began: then the scan passes cells that must be nonzero and stops at
/// one that must be 0. Among the cells the body adds to (each by the same
/// amount every iteration), those the scan passes (one at least) and the
/// loop's own cell are counters: the first iteration after which one of
/// them is 0 branches (or ends the loop). While none is, and the scan's
/// other cells, which the body does not add to, stay as they are, every
/// iteration is the same: all but the last of those before a counter
/// reaches 0 are made as one multiple of each add. The loop then runs as
/// plain code from the top of its body (its cell is not 0), which makes
/// the last and what follows.
///
/// Only where every cell the iterations touch is on the tape (the code
/// compares the pointer with both ends first): the iterations made at once
/// fail nowhere, and the body does no I/O, so nothing tells them from the
/// plain loop's. A counter's add must be odd, so that it reaches 0 within
/// 256 iterations from any value.
pub(super) fn fast_forward(test: i32, body: &[Inst]) -> Option<FastForward> {
    // The idiom's bodies are a few instructions; an outer loop's may be
    // long, and its adds are looked up one by one below.
    if body.len() > BODY_MAX {
        return None;
    }
    let mut at = 0;
    let mut adds: Vec<(i32, u8)> = Vec::new();
    let mut touched = Hull::of_offsets([test]);
    let mut scan = None;
    for inst in body {
        match (inst.op, scan) {
            (Op::Add { off, val }, None) => {
                let cell = at + off;
                touched.cover(cell.into());
                match adds.iter_mut().find(|(c, _)| *c == cell) {
                    Some((_, sum)) => *sum = sum.wrapping_add(val),
                    None => adds.push((cell, val)),
                }
            }
            (Op::Move(delta), _) => at += delta,
            (Op::Scan { stride, value: 0 }, None) => {
                scan = Some((at, stride));
                at = 0;
            }
            _ => return None,
        }
    }
    // The scan starts at `from` and the moves after it add up to `at`: it
    // comes back if it stops `k` strides on, `from + k * stride + at == 0`.
    let (from, stride) = scan?;
    let span = -(from + at);
    if stride == 0 || span % stride != 0 || span / stride < 0 {
        return None;
    }
    let added = |cell: i32| adds.iter().find(|&&(c, _)| c == cell).map_or(0, |&(_, sum)| sum);
    let passed: Vec<i32> = (0..span / stride).map(|k| from + k * stride).collect();
    let zero = from + span;
    // The cell it stops at stays 0 (and is not the loop's, which would
    // end the loop at the first iteration's test).
    if added(zero) != 0 || zero == test {
        return None;
    }
    let mut counters: Vec<(i32, u8)> = Vec::new();
    for cell in passed.iter().copied().chain([test]) {
        let add = added(cell);
        if add != 0 && !counters.iter().any(|&(c, _)| c == cell) {
            // n iterations make it 0 where x + n * add = 0: n = x * k, and
            // n - 1 = x * k - 1, which is 255 for x = 0 (n = 256).
            if add % 2 == 0 {
                return None;
            }
            counters.push((cell, inverse_mod_256(add).wrapping_neg()));
        }
    }
    // A counter the scan passes: the comparison. With only the loop's own
    // cell counting down, the loop is an if run as a loop (mandelbrot's
    // `[-<[>>>>>>>>>]>>>>>>>>]`, on a flag): it runs once, and the fast
    // forward's tests would be all it added.
    if !counters.iter().any(|&(cell, _)| cell != test) {
        return None;
    }
    let nonzero = passed.iter().copied().filter(|&cell| added(cell) == 0).collect();
    for cell in passed.iter().chain([&zero]) {
        touched.cover((*cell).into());
    }
    adds.retain(|&(_, sum)| sum != 0);
    adds.sort_unstable();
    Some(FastForward { test, adds, counters, nonzero, zero, reach: (touched.lo as i32, touched.hi as i32) })
}
