//! The marker walk `-[+>-]+`: finds the cell holding 1 among LEN cells
//! holding 2 (each one decremented, tested and restored), then back with
//! `[<]`.

pub const NAME: &str = "marker walk -[+>-]+";

pub fn bf_setup(len: usize) -> String {
    format!("{}{}+{}", ">".repeat(9), "++>".repeat(len), "<".repeat(9 + len))
}

pub fn bf_body(_len: usize) -> String {
    "-[+>-]+<[<]>".to_string()
}

pub fn c_setup(len: usize) -> String {
    format!("for (long i = 9; i < 9 + {len}; i++) a[i] = 2; a[9 + {len}] = 1;")
}

pub fn c_body(_len: usize) -> String {
    "long i = 9; a[i]--; while (a[i]) { a[i]++; i++; a[i]--; } a[i]++; \
     i--; while (a[i]) i--; i++; sink += i;"
        .to_string()
}
