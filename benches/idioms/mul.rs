//! Multiply and copy loops: over LEN frames of 3 cells, `[->+>+++<<]`
//! (a multiply), `>[-<+>]` (a copy back) and `>[-]` (a clear).

pub const NAME: &str = "multiply loops [->+>+++<<]";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "+++++>>>".repeat(len), "<".repeat(9 + 3 * len))
}

pub fn bf_body(len: usize) -> String {
    format!("{}{}", "[->+>+++<<]>[-<+>]>[-]>".repeat(len), "<".repeat(3 * len))
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) a[9 + 3 * i] = 5;")
}

pub fn c_body(len: usize) -> String {
    format!(
        "for (long i = 9; i < 9 + 3 * {len}; i += 3) {{ unsigned char s = a[i]; \
         a[i + 1] += s; a[i + 2] += 3 * s; a[i] = a[i + 1]; a[i + 1] = 0; a[i + 2] = 0; }}"
    )
}
