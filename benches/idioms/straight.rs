//! A long straight-line run: LEN random commands of `+-<>` over 16 cells,
//! ending where it began, then a copy loop `[->+<]` (without which the
//! rounds would fold into one closed form). The reference adds each cell's
//! total once, then copies.

pub const NAME: &str = "straight-line runs";

/// The run, and each cell's total change.
fn run(len: usize) -> (String, [u8; 16]) {
    let mut rng = 0x2545_f491_4f6c_dd1du64 ^ len as u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let (mut s, mut pos, mut totals) = (String::new(), 0usize, [0u8; 16]);
    while s.len() < len {
        match next(4) {
            0 => {
                s.push('+');
                totals[pos] = totals[pos].wrapping_add(1);
            }
            1 => {
                s.push('-');
                totals[pos] = totals[pos].wrapping_sub(1);
            }
            2 if pos < 15 => {
                s.push('>');
                pos += 1;
            }
            _ if pos > 0 => {
                s.push('<');
                pos -= 1;
            }
            _ => {}
        }
    }
    s += &"<".repeat(pos);
    (s, totals)
}

pub fn bf_setup(_len: usize) -> String {
    String::new()
}

pub fn bf_body(len: usize) -> String {
    run(len).0 + "[->+<]"
}

pub fn c_setup(_len: usize) -> String {
    String::new()
}

pub fn c_body(len: usize) -> String {
    let totals = run(len).1;
    let adds: String =
        totals.iter().enumerate().filter(|(_, &t)| t != 0).map(|(i, t)| format!("a[{}] += {t}; ", 9 + i)).collect();
    adds + "a[10] += a[9]; a[9] = 0;"
}
