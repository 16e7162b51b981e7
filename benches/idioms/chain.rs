//! A switch-like digit chain in a walk: over LEN frames of 4 cells [flag 1,
//! digit, t, g], copy the digit to t, then `t[-[-[-[-[-[-]g+]]]]]` (g =
//! digit >= 5), and clear g; back with `[<<<<]`.

pub const NAME: &str = "digit chain [-[-[-[-[-";

pub fn bf_setup(len: usize) -> String {
    let mut s = ">".repeat(9);
    for k in 0..len {
        s += "+>";
        s += &"+".repeat(k % 10);
        s += ">>>";
    }
    s + &"<".repeat(9 + 4 * len)
}

pub fn bf_body(_len: usize) -> String {
    "[>[->+>+<<]>>[-<<+>>]<[-[-[-[-[-[-]>+<]]]]]>[-]>]<<<<[<<<<]>>>>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 0; i < {len}; i++) {{ a[9 + 4 * i] = 1; a[10 + 4 * i] = i % 10; }}")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; while (a[i]) { sink += a[i + 1] >= 5; i += 4; } \
     i -= 4; while (a[i]) i -= 4; sink += i;"
        .to_string()
}
