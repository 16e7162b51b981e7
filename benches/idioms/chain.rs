//! A switch-like digit chain: over LEN frames of 3 cells [digit, t, g],
//! copy the digit to t, then `t[-[-[-[-[-[-]g+]]]]]` (g = digit >= 5), and
//! clear g.

pub const NAME: &str = "digit chain [-[-[-[-[-";

pub fn bf_setup(len: usize) -> String {
    let mut s = ">".repeat(9);
    for k in 0..len {
        s += &"+".repeat(k % 10);
        s += ">>>";
    }
    s + &"<".repeat(9 + 3 * len)
}

pub fn bf_body(len: usize) -> String {
    format!("{}{}", "[->+>+<<]>>[-<<+>>]<[-[-[-[-[-[-]>+<]]]]]>[-]>".repeat(len), "<".repeat(3 * len))
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) a[9 + 3 * i] = i % 10;")
}

pub fn c_body(len: usize) -> String {
    format!("for (long i = 9; i < 9 + 3 * {len}; i += 3) sink += a[i] >= 5;")
}
