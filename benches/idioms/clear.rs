//! Clear loops in a walk: over LEN frames of 2 cells [flag 1, x], `[-]+++`
//! on each x (cleared, then set again for the next round): `[>[-]+++>]`,
//! and back with `[<<]`.

pub const NAME: &str = "clear loops [-]";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "+>>".repeat(len), "<".repeat(9 + 2 * len))
}

pub fn bf_body(_len: usize) -> String {
    "[>[-]+++>]<<[<<]>>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) a[9 + 2 * i] = 1;")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; while (a[i]) { a[i + 1] = 3; i += 2; } i -= 2; while (a[i]) i -= 2; sink += i;".to_string()
}
