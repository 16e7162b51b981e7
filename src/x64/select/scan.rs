//! Scans back that skip what the scan out passed (`scan_return`).

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
    let (dir, step) = (stride.signum() as i64, stride.unsigned_abs() as i64);
    // Offsets from Z, counted along the first scan's direction: the last
    // write to each, and whether it set a non-zero value.
    let mut written: Vec<(i64, bool)> = Vec::new();
    let mut moved = 0i64;
    for (j, inst) in program.insts.iter().enumerate().skip(i + 1) {
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
