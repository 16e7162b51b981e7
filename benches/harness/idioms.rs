//! Idiom micro-benchmarks: one file per idiom in `benches/idioms/`, each
//! giving the Brainfuck for a length LEN (a setup, and a body that starts
//! and ends at cell 9) and a scalar C reference doing the same work.
//!
//! Both run the body R times, with R chosen so that R x LEN is about 2^27:
//! the Brainfuck with three counters (cells 0-2), the C with a `for` loop
//! whose body starts with a compiler barrier (`asm volatile("" ::: "memory")`)
//! so that gcc cannot hoist the work out of the loop. The C is compiled
//! with `gcc -O2 -fno-tree-vectorize -fno-tree-loop-distribute-patterns`:
//! a scalar loop, not a vector one nor a call to memset. Both print one
//! byte at the end.

#[path = "../idioms/addwalk.rs"]
mod addwalk;
#[path = "../idioms/carry.rs"]
mod carry;
#[path = "../idioms/chain.rs"]
mod chain;
#[path = "../idioms/clear.rs"]
mod clear;
#[path = "../idioms/compare.rs"]
mod compare;
#[path = "../idioms/marker.rs"]
mod marker;
#[path = "../idioms/mul.rs"]
mod mul;
#[path = "../idioms/scan.rs"]
mod scan;
#[path = "../idioms/straight.rs"]
mod straight;
#[path = "../idioms/stride.rs"]
mod stride;

pub struct Idiom {
    pub name: &'static str,
    /// The file's stem in benches/idioms/.
    pub file: &'static str,
    bf_setup: fn(usize) -> String,
    bf_body: fn(usize) -> String,
    c_setup: fn(usize) -> String,
    c_body: fn(usize) -> String,
}

macro_rules! idiom {
    ($m:ident) => {
        Idiom {
            name: $m::NAME,
            file: stringify!($m),
            bf_setup: $m::bf_setup,
            bf_body: $m::bf_body,
            c_setup: $m::c_setup,
            c_body: $m::c_body,
        }
    };
}

pub fn all() -> Vec<Idiom> {
    vec![
        idiom!(scan),
        idiom!(stride),
        idiom!(marker),
        idiom!(clear),
        idiom!(addwalk),
        idiom!(mul),
        idiom!(chain),
        idiom!(carry),
        idiom!(compare),
        idiom!(straight),
    ]
}

pub const LENGTHS: [usize; 4] = [16, 256, 4096, 32768];
/// Tape cells for every idiom program (the strided scan at 32768 frames,
/// the carry walk's parallel arrays and the comparison's 8-cell frames
/// need more than the default).
pub const TAPE: usize = 1 << 19;

/// The three counters: R = a * b * c, each at most 200.
pub fn reps(len: usize) -> (usize, usize, usize) {
    let r = ((1usize << 27) / len).max(1);
    let c = r.min(200);
    let b = r.div_ceil(c).min(200);
    let a = r.div_ceil(b * c);
    (a, b, c)
}

impl Idiom {
    pub fn bf(&self, len: usize) -> String {
        let (a, b, c) = reps(len);
        // The setup starts at cell 0; the counters are cells 0-2.
        let mut s = (self.bf_setup)(len);
        s += &format!("{}[>{}[>{}[>>>>>>>", "+".repeat(a), "+".repeat(b), "+".repeat(c));
        s += &(self.bf_body)(len);
        s += "<<<<<<<-]<-]<-]>>>>>>>>>.";
        s
    }

    pub fn c(&self, len: usize) -> String {
        let (a, b, c) = reps(len);
        format!(
            "#include <stdio.h>\n\
             static unsigned char a[{TAPE} + 64];\n\
             static long sink;\n\
             int main(void) {{\n\
             {}\n\
             for (long r = 0; r < {}L; r++) {{\n\
             __asm__ volatile(\"\" ::: \"memory\");\n\
             {}\n\
             }}\n\
             putchar(a[9] + (int)sink);\n\
             return 0;\n\
             }}\n",
            (self.c_setup)(len),
            a * b * c,
            (self.c_body)(len)
        )
    }
}
