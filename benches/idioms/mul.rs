//! Multiply and copy loops in a walk: over LEN frames of 4 cells [flag 1,
//! s, a, b], `[->+>+++<<]` (a multiply), `>[-<+>]` (a copy back) and `>[-]`
//! (a clear) on each; back with `[<<<<]`.

pub const NAME: &str = "multiply loops [->+>+++<<]";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "+>+++++>>>".repeat(len), "<".repeat(9 + 4 * len))
}

pub fn bf_body(_len: usize) -> String {
    "[>[->+>+++<<]>[-<+>]>[-]>]<<<<[<<<<]>>>>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) {{ a[9 + 4 * i] = 1; a[10 + 4 * i] = 5; }}")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; while (a[i]) { unsigned char s = a[i + 1]; a[i + 2] += s; a[i + 3] += 3 * s; \
     a[i + 1] = a[i + 2]; a[i + 2] = 0; a[i + 3] = 0; i += 4; } \
     i -= 4; while (a[i]) i -= 4; sink += i;"
        .to_string()
}
