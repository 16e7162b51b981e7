//! The comparison "magic loop" `[->-[>]<<]` in a walk: over LEN frames of
//! 8 cells [a, b, t, flag 1, 0, ta, tb, 0], copy a and b (1 to 99) to ta
//! and tb through t, count both down until one is 0, the `[>]` branching
//! on which; bring the two ends together (`<[->]`), set the flag again and
//! clear ta and tb; back with `[<<<<<<<<]`.

pub const NAME: &str = "compare [->-[>]<<]";

fn a(k: usize) -> usize {
    1 + (k * 37) % 99
}

fn b(k: usize) -> usize {
    1 + (k * 91 + 50) % 99
}

pub fn bf_setup(len: usize) -> String {
    let mut s = ">".repeat(14);
    for k in 0..len {
        s += &format!("{}>{}>>+>>>>>", "+".repeat(a(k)), "+".repeat(b(k)));
    }
    s + &"<".repeat(14 + 8 * len)
}

pub fn bf_body(_len: usize) -> String {
    let frame = "<<<[->>+>>>+<<<<<]>>[-<<+>>]<[->+>>>>+<<<<<]>[-<+>]>>>[->-[>]<<]<[->]<[-]+>>[-]>[-]<<<";
    format!(">>>>>>>>[{frame}>>>>>>>>]<<<<<<<<[<<<<<<<<]")
}

pub fn c_setup(len: usize) -> String {
    format!(
        "for (long k = 0; k < {len}; k++) {{ a[14 + 8 * k] = 1 + (k * 37) % 99; a[15 + 8 * k] = 1 + (k * 91 + 50) % 99; }}"
    )
}

/// The loop the Brainfuck runs, as scalar C: both counted down until one
/// is 0.
pub fn c_body(len: usize) -> String {
    format!(
        "for (long k = 0; k < {len}; k++) {{ unsigned char x = a[14 + 8 * k], y = a[15 + 8 * k]; \
         while (x) {{ x--; y--; if (!y) break; }} sink += x; }}"
    )
}
