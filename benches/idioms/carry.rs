//! A bignum carry walk: doubles a number of LEN decimal digits, all 5, one
//! a cell (digit+1 in the cell, temporaries in parallel arrays): a walk
//! `[ ... >]` with a digit chain and a carry per digit; then sets the
//! digits back to 5 for the next round.

pub const NAME: &str = "bignum carry walk";

/// Temporaries of the digit at p: p+T (carry in), p+2T, p+3T, p+4T.
fn t(len: usize) -> usize {
    len + 16
}

pub fn bf_setup(len: usize) -> String {
    format!("{}{}{}", ">".repeat(9), "++++++>".repeat(len), "<".repeat(9 + len))
}

pub fn bf_body(len: usize) -> String {
    let t = t(len);
    let (c, s, g, d) = (t, 2 * t, 3 * t, 4 * t);
    let r = |n: usize| ">".repeat(n);
    let l = |n: usize| "<".repeat(n);
    let mut b = String::from("[");
    // cell -> s, d = cell - 1, cell = 1 + 2d, copy d; chain: g = d >= 5
    b += &format!("[-{}+{}]", r(s), l(s));
    b += &format!("{}-{}+", r(s), l(s));
    b += &format!("{}[-{}++{}+{}]{}", r(s), l(s), r(d), l(d - s), l(s));
    b += &format!("{}[-[-[-[-[-[-]{}+{}]]]]]{}", r(d), l(d - g), r(d - g), l(d));
    // + carry in; on overflow -10 and a carry out
    b += &format!("{}[-{}+{}]{}", r(c), l(c), r(c), l(c));
    b += &format!("{}[-{}----------{}+{}]{}", r(g), l(g), r(1 + c), r(g - 1 - c), l(g));
    b += ">]";
    // past the end: a carry makes a new digit, which the reset clears
    b += &format!("{}[-]{}[-]", r(c), l(c));
    // back over the digits, setting each to 5
    b += &"<[-]++++++".repeat(len);
    b
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 9; i < 9 + {len}; i++) a[i] = 6;")
}

pub fn c_body(len: usize) -> String {
    format!(
        "int c = 0; long i = 9; while (a[i]) {{ int x = 2 * (a[i] - 1) + c; c = x >= 10; \
         a[i] = 1 + x - 10 * c; i++; }} a[i] = 0; sink += i; \
         for (long k = 9; k < 9 + {len}; k++) a[k] = 6;"
    )
}
