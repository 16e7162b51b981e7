//! `[>]` then `[<]`: scans right to the first zero over LEN nonzero cells
//! and back.

pub const NAME: &str = "scan [>] [<]";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "+>".repeat(len), "<".repeat(9 + len))
}

pub fn bf_body(_len: usize) -> String {
    "[>]<[<]>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 9; i < 9 + {len}; i++) a[i] = 1;")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; while (a[i]) i++; i--; while (a[i]) i--; i++; sink += i;".to_string()
}
