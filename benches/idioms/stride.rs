//! `[>>>>]` then `[<<<<]`: strided scans over LEN frames of 4 cells.

pub const NAME: &str = "strided scan [>>>>]";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "+>>>>".repeat(len), "<".repeat(9 + 4 * len))
}

pub fn bf_body(_len: usize) -> String {
    "[>>>>]<<<<[<<<<]>>>>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) a[9 + 4 * i] = 1;")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; while (a[i]) i += 4; i -= 4; while (a[i]) i -= 4; i += 4; sink += i;".to_string()
}
