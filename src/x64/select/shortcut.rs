//! How a shortcut (`Op::Shortcut`) tests its zeros: the load plan.

use crate::ir::Shortcut;

/// A shortcut, and the loads that test its zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::x64) struct ShortcutPlan {
    pub shortcut: Shortcut,
    pub tests: ZeroTests,
}

impl ShortcutPlan {
    pub(super) fn of(shortcut: Shortcut) -> ShortcutPlan {
        let tests = if shortcut.zeros.len() <= BYTE_TESTS_MAX {
            ZeroTests::Bytes(shortcut.zeros.clone())
        } else {
            ZeroTests::Words(zero_tests(&shortcut))
        };
        ShortcutPlan { tests, shortcut }
    }
}

/// Zeros up to this many are tested a byte each.
///
/// A load of several cells waits for stores to any of them still on their
/// way to the cache: the store buffer forwards a load only from one store
/// that covers it, and the code before a shortcut mostly writes its zeros
/// a byte at a time (`mul [p+14] += ...` just before `shortcut if [p+14]
/// [p+15] [p+18] == 0`, where a compiler's output to Brainfuck compares
/// two numbers). A one-cell load takes its byte from the store. The
/// wider set's programs compiled to Brainfuck from a small C-like language
/// run 0.74-0.86 of their time with byte tests (tiny_modsum, tiny_primes,
/// tiny_count), a public compiler's output 0.92 (docs/performance.md,
/// sixteenth stop). For up to four zeros the bytes' test (`movzx`, an
/// `or` a zero more, one branch) is one to three instructions longer than
/// the wide one; more are rare, and testing them a byte each changed
/// nothing measurable.
const BYTE_TESTS_MAX: usize = 4;

/// How a shortcut's zeros are tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::x64) enum ZeroTests {
    /// A byte each, or'ed together in al: these cells.
    Bytes(Vec<i32>),
    /// Loads of several cells.
    Words(Vec<ZeroTest>),
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
    fn up_to_four_zeros_are_tested_a_byte_each() {
        let plan = |zeros: &[i32]| {
            ShortcutPlan::of(Shortcut {
                zeros: zeros.to_vec(),
                reach: (-3, 9),
                changes: vec![],
                delta: 0,
                divmod: None,
            })
            .tests
        };
        assert_eq!(plan(&[-3, 0, 9]), ZeroTests::Bytes(vec![-3, 0, 9]));
        assert_eq!(plan(&[1, 2, 3, 4]), ZeroTests::Bytes(vec![1, 2, 3, 4]));
        assert!(matches!(plan(&[1, 2, 3, 4, 5]), ZeroTests::Words(tests) if tests.len() == 1));
    }

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
