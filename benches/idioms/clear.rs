//! Clear loops: `[-]+++>` over LEN cells (each cleared, then set again for
//! the next round), straight-line.

pub const NAME: &str = "clear loops [-]";

pub fn bf_setup(_len: usize) -> String {
    String::new()
}

pub fn bf_body(len: usize) -> String {
    format!("{}{}", "[-]+++>".repeat(len), "<".repeat(len))
}

pub fn c_setup(_len: usize) -> String {
    String::new()
}

pub fn c_body(len: usize) -> String {
    format!("for (long i = 9; i < 9 + {len}; i++) a[i] = 3;")
}
