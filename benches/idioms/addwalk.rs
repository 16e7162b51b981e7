//! Add walks: over LEN cells holding 7 (a zero each side), `[->]` takes 1
//! from each cell up to the zero after them and `[+<]` gives it back on
//! the way home (siercarpet's `[-->]` and `<++[<++]` over its digits, here
//! over long rows).

pub const NAME: &str = "add walk [->]";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "+++++++>".repeat(len), "<".repeat(9 + len))
}

pub fn bf_body(_len: usize) -> String {
    "[->]<[+<]>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) a[9 + i] = 7;")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; while (a[i]) { a[i] -= 1; i++; } i--; while (a[i]) { a[i] += 1; i--; } i++; sink += i;".to_string()
}
