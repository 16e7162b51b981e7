//! How a shortcut (`Op::Shortcut`) tests its zeros: the load plan.

use crate::ir::Shortcut;

/// A shortcut, and the loads that test its zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::x64) struct ShortcutPlan {
    pub shortcut: Shortcut,
    pub tests: Vec<ZeroTest>,
}

impl ShortcutPlan {
    pub(super) fn of(shortcut: Shortcut) -> ShortcutPlan {
        ShortcutPlan { tests: zero_tests(&shortcut), shortcut }
    }
}

/// One load of a shortcut's zeros test (`Op::Shortcut`): `size` cells (1,
/// 2, 4 or 8) from `at`, of which the bytes in `mask` must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::x64) struct ZeroTest {
    pub at: i32,
    pub size: u32,
    pub mask: u64,
}

/// How the code tests a shortcut's `zeros`: loads of
/// `Shortcut::zero_test_width` cells, as few as cover them (as many as
/// `Shortcut::zero_tests_needed` says). Every load lies within `reach`,
/// whose cells the code has checked are on the tape.
fn zero_tests(shortcut: &Shortcut) -> Vec<ZeroTest> {
    let size = shortcut.zero_test_width();
    let reach = shortcut.reach;
    let mut tests = Vec::new();
    let mut rest = &shortcut.zeros[..];
    while let Some(&first) = rest.first() {
        let at = first.min(reach.1 - (size as i32 - 1)).max(reach.0);
        let covered = rest.iter().take_while(|&&z| z < at + size as i32).count();
        let mask = rest[..covered].iter().fold(0u64, |mask, &z| mask | 0xff << (8 * (z - at)));
        tests.push(ZeroTest { at, size, mask });
        rest = &rest[covered..];
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_tested_by_the_widest_loads_that_stay_within_reach() {
        let tests = |zeros: &[i32], reach| {
            let shortcut = Shortcut { zeros: zeros.to_vec(), reach, changes: vec![], delta: 0, divmod: None };
            let tests: Vec<_> = zero_tests(&shortcut).iter().map(|t| (t.at, t.size, t.mask)).collect();
            // As many as the optimiser was told they would be.
            assert_eq!(tests.len(), shortcut.zero_tests_needed());
            tests
        };
        // Sixteen cells: two loads of 8.
        assert_eq!(tests(&(5..21).collect::<Vec<_>>(), (-1, 20)), [(5, 8, u64::MAX), (13, 8, u64::MAX)]);
        // A reach of 7: loads of 4, the second moved back to end in reach.
        assert_eq!(tests(&[1, 2, 3, 4, 5, 6], (0, 6)), [(1, 4, 0xffff_ffff), (3, 4, 0xffff_0000)]);
        // Only the bytes of the zeros are tested.
        assert_eq!(tests(&[0, 9], (0, 9)), [(0, 8, 0xff), (2, 8, 0xff << 56)]);
        assert_eq!(tests(&[0], (0, 0)), [(0, 1, 0xff)]);
        assert_eq!(tests(&[0, 8, 16], (0, 16)).len(), 3);
        assert_eq!(tests(&[-3, 4, 5], (-3, 5)).len(), 2);
        // Every set of zeros within a reach of up to 12 cells.
        for span in 0..12 {
            for set in 0u32..1 << (span + 1) {
                let zeros: Vec<i32> = (0..=span).filter(|&z| set & 1 << z != 0).map(|z| z - 3).collect();
                tests(&zeros, (-3, span - 3));
            }
        }
    }
}
