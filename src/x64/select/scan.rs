//! Scans back that skip what the scan or walk out passed (`scan_return`,
//! `walk_return`).

use super::ScanForm;
use crate::ir::{Op, Program};

/// A scan back to where a scan started (`[>>>]` ... `[<<<]`): the first
/// scan passed only non-zero cells from where it started to the zero it
/// stopped at, so the second need not pass them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ScanReturn {
    /// Index of the scan back.
    pub at: usize,
    /// Whether it may start behind where the first scan started, where it
    /// knows nothing (the pointer is compared with that start at run time).
    pub compare: bool,
}

/// The form of the scan at `i`, given `pending`, the scan back the last
/// scan kept its start for (updated for the next scan).
pub(super) fn form(program: &Program, i: usize, pending: &mut Option<ScanReturn>) -> ScanForm {
    match pending.take() {
        Some(back) if back.at == i => ScanForm::Returns { compare: back.compare },
        _ => {
            *pending = scan_return(program, i);
            if pending.is_some() {
                ScanForm::KeepsStart
            } else {
                ScanForm::Plain
            }
        }
    }
}

/// For the scan at `i`, the later scan back along the same cells that can
/// skip what this one passed: `[>>>]` (stops at Z, having passed only
/// non-zero cells from where it started, P), straight-line code that moves
/// the pointer to L and writes no cell the way back passes between L and
/// P, except to set it non-zero, then `[<<<]`. From L at or after P, that
/// scan passes the same non-zero cells and goes on from the one before P;
/// so it jumps there. Cells from Z on are not known: those between Z and L
/// the code must set non-zero. No I/O in between: it may call the runtime,
/// which may change the register that holds P; and no block, so the scan
/// back is the next step after straight-line code.
pub(super) fn scan_return(program: &Program, i: usize) -> Option<ScanReturn> {
    // Scans for 0 only: what they pass is non-zero.
    let Op::Scan { stride, value: 0 } = program.insts[i].op else { return None };
    returning_scan(program, i + 1, stride, 0)
}

/// For the walk at `i` (a loop, its end at `end`), the later scan back
/// along the cells it tested that can skip them, as `scan_return` for a
/// scan: a walk `[>>>]` whose body is adds, sets, multiplies and `if`s of
/// them that move the pointer on by the stride, writing no cell the walk
/// tests but to set it non-zero (mandelbrot's `[>>>>>>>[-]>>]`, whose
/// frames' flags it passes, before `<<<<<<<<<[<<<<<<<<<]`), stops at a
/// zero Z having passed only non-zero cells from the first it tested, P;
/// the way back from among them runs on to the cell before P, as after a
/// scan. The walk keeps P (the cell it tests first, `test` from where it
/// starts).
pub(super) fn walk_return(program: &Program, i: usize, end: usize) -> Option<ScanReturn> {
    let Op::Loop { off: test } = program.insts[i].op else { return None };
    let mut moved = 0i64;
    // Each write of the body, from where an iteration starts, and whether
    // it sets the cell non-zero (made or not, by an `if`: a cell the walk
    // tests stays non-zero either way).
    let mut writes: Vec<(i64, bool)> = Vec::new();
    let mut ifs = 0;
    for inst in &program.insts[i + 1..end] {
        match inst.op {
            // A move in an `if` leaves the stride unknown.
            Op::Move(d) if ifs == 0 => moved += d as i64,
            Op::If { .. } => ifs += 1,
            Op::EndIf => ifs -= 1,
            Op::Set { off, val } => writes.push((moved + off as i64, val != 0)),
            Op::Add { val: 0, .. } => {}
            Op::Add { off, .. } | Op::AddMul { off, .. } => writes.push((moved + off as i64, false)),
            // Loops, scans, switches, and I/O (which may call the runtime,
            // which may change the register that keeps P).
            _ => return None,
        }
    }
    let stride = i32::try_from(moved).ok().filter(|&stride| stride != 0)?;
    // Iteration j tests P + j * stride and writes w + j * stride (w from
    // the walk's start, P - test): a cell it tests, for w - test a whole
    // number of strides.
    let on_tested = |w: i64| (w - test as i64).rem_euclid(moved.abs()) == 0;
    if writes.iter().any(|&(w, nonzero)| on_tested(w) && !nonzero) {
        return None;
    }
    // After the walk the pointer is at Z - test.
    returning_scan(program, end + 1, stride, -(test as i64) * stride.signum() as i64)
}

/// The scan back that returns along what a scan or a walk passed, if the
/// straight-line code `program.insts[from..]` leads to one as
/// `scan_return` says: the scan or walk went along `stride` and stopped at
/// Z, `moved` (counted along `stride`'s direction) from where the pointer
/// is at `from`.
fn returning_scan(program: &Program, from: usize, stride: i32, mut moved: i64) -> Option<ScanReturn> {
    let (dir, step) = (stride.signum() as i64, stride.unsigned_abs() as i64);
    // Offsets from Z, counted along the first scan's direction: the last
    // write to each, and whether it set a non-zero value.
    let mut written: Vec<(i64, bool)> = Vec::new();
    for (j, inst) in program.insts.iter().enumerate().skip(from) {
        match inst.op {
            Op::Move(d) => moved += d as i64 * dir,
            Op::Set { off, val } => written.push((moved + off as i64 * dir, val != 0)),
            Op::Add { val: 0, .. } => {}
            Op::Add { off, .. } | Op::AddMul { off, .. } => written.push((moved + off as i64 * dir, false)),
            // L is `moved` from Z; the way back passes L, L - step, ...:
            // the cells the first scan passed if `moved` is a whole number
            // of steps.
            Op::Scan { stride: back, value: 0 } if back == -stride && moved.rem_euclid(step) == 0 => {
                let passed = |u: i64| u <= moved && u.rem_euclid(step) == 0;
                let last_write = |u: i64| written.iter().rev().find(|w| w.0 == u).map(|w| w.1);
                let spoiled = written.iter().any(|&(u, _)| passed(u) && last_write(u) == Some(false));
                // From Z to L, every cell passed must be set non-zero.
                let unknown = (0..=moved).filter(|&u| passed(u)).any(|u| last_write(u) != Some(true));
                return (!spoiled && !unknown).then_some(ScanReturn { at: j, compare: moved < 0 });
            }
            _ => return None,
        }
    }
    None
}
