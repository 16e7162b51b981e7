//! A random Brainfuck program generator for differential testing.
//!
//! Everything is derived from one `u64` seed (splitmix64), so a failure is
//! reproduced from the seed alone. The programs lean towards the shapes an
//! optimiser rewrites: runs of `+-<>`, clear loops, multiply/copy loops
//! (also with non-unit steps on the counter, which end only through
//! wrap-around or never), scans, nested counter loops, single-pass loops,
//! I/O, and walks off either end of the tape.

use bfc::ir::EofMode;

/// splitmix64: tiny, fast, and good enough to pick program shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One differential test case: a program and how to run it.
#[derive(Debug, Clone)]
pub struct Case {
    pub seed: u64,
    pub program: Vec<u8>,
    pub input: Vec<u8>,
    pub eof: EofMode,
    pub tape: usize,
    /// Of those, the cells left of where the program starts
    /// (`--left-margin`).
    pub left_margin: usize,
    /// Bits of a cell (`--cell-bits`).
    pub cell_bits: u32,
}

/// The case for `seed`.
pub fn case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    // 300 cells: not a multiple of the page size, so bounds are checked
    // explicitly rather than by guard pages. A few tapes are tiny: there
    // the program is a chain of ifs reaching past both ends.
    let tape = match rng.below(32) {
        0 => rng.range(2, 8) as usize,
        1..=8 => 300,
        _ => 4096,
    };
    let eof = rng.pick(&[EofMode::Unchanged, EofMode::Zero, EofMode::MinusOne]);
    let input_len = rng.below(12) as usize;
    // Half the bytes small: counters read from input then take the values
    // where a chain of ifs stops at each of its levels.
    let input = (0..input_len).map(|_| if rng.chance(1, 2) { rng.below(8) } else { rng.below(256) } as u8).collect();
    let (mut program, pos) =
        Gen { rng: &mut rng, out: Vec::new(), tape: tape as i64, depth: 0, pos: 0, lea_counter: false }.program();
    // Drawn after the program, so that the other seeds' cases stay as
    // they were.
    if tape >= 16 && rng.chance(1, 16) {
        program.splice(0..0, output_flood(&mut rng));
    }
    // One case in eight runs the same program from further right: first
    // `<` as many times as there are cells left of where it starts. The
    // tape is the same, its cells numbered from elsewhere; the program
    // moves left of where it started and back.
    let mut left_margin = 0;
    if rng.chance(1, 8) {
        left_margin = rng.range(1, (tape as i64 - 1).min(12)) as usize;
        program.splice(0..0, std::iter::repeat_n(b'<', left_margin));
    }
    // One case in four runs at 16-bit cells, one in eight at 32 (drawn
    // last, so the programs stay those of the seeds before). Programs that
    // count on 8-bit wrapping mostly run out of the oracle's steps there
    // and are discarded; the others compare word and dword code.
    let cell_bits = match rng.below(8) {
        0 | 1 => 16,
        2 => 32,
        _ => 8,
    };
    // Endings, each drawn last, after the ones before (so that the
    // programs stay those of the seeds before): an add walk, a divmod loop,
    // a run between far cells, a loop that runs at most once, a frame walk,
    // a comparison loop, a walk over frames with temporaries, a block of
    // sets; most then print. Each in one case in `one_in` (`None`: every
    // case) on a tape of 16 cells or more.
    let mut ending = |rng: &mut Rng, tape: usize, one_in: Option<u64>, make: fn(&mut Gen<'_>), print: &[u8]| {
        if tape >= 16 && one_in.is_none_or(|den| rng.chance(1, den)) {
            let mut end = Gen { rng, out: Vec::new(), tape: tape as i64, depth: 0, pos, lea_counter: false };
            make(&mut end);
            end.out.extend_from_slice(print);
            program.extend(end.out);
        }
    };
    ending(&mut rng, tape, Some(4), |g| g.add_walk(), b".");
    ending(&mut rng, tape, Some(8), |g| g.divmod(), b".");
    // One case in sixteen on a guarded tape runs on one of 8192 cells and
    // ends with a run between cells 4097 to 5000 apart: farther apart than
    // the smallest tape, closer than this one, so the code keeps them in
    // registers and touches them out of order.
    let mut tape = tape;
    if tape == 4096 && rng.chance(1, 16) {
        tape = 8192;
        ending(&mut rng, tape, None, |g| g.far_run(), b"");
    }
    // A loop whose body moves the pointer onto a cell it clears, so that
    // it runs at most once.
    ending(&mut rng, tape, Some(8), |g| g.moving_once(), b"");
    ending(&mut rng, tape, Some(4), |g| g.frame_walk(), b".>.<<.");
    ending(&mut rng, tape, Some(4), |g| g.compare_loop(), b".>.<<.");
    ending(&mut rng, tape, Some(4), |g| g.temp_walk(), b".>.<<.");
    ending(&mut rng, tape, Some(4), |g| g.set_block(), b".>.<<.");
    // A case chain on a counter read from input (morse.b's dispatch).
    ending(
        &mut rng,
        tape,
        Some(4),
        |g| {
            g.out.push(b',');
            g.case_chain();
        },
        b".>.<<.",
    );
    // A counting loop holding a flag's loop (primes.bf's modulo).
    ending(&mut rng, tape, Some(2), |g| g.nested_loop(), b".>.<<.");
    // A nest of cases whose innermost moves onto a cell it clears.
    ending(&mut rng, tape, Some(4), |g| g.moving_case_nest(), b".>.<<.");
    // A walk copying a cell of each frame through a temporary cleared
    // first (factorials.b's digit loop).
    ending(&mut rng, tape, Some(4), |g| g.copy_walk(), b".>.<<.");
    // A walk, then a scan back along the cells it tested.
    ending(&mut rng, tape, Some(4), |g| g.walk_pair(), b".>.<<.");
    // A walk multiplying a cell of each frame into temporaries, one moved
    // back, the others cleared or left.
    ending(&mut rng, tape, Some(4), |g| g.product_walk(), b".>.<<.");
    // A digit chain whose counter a run makes from a constant and two
    // cells read from input (past 255 in a register).
    ending(
        &mut rng,
        tape,
        Some(4),
        |g| {
            g.lea_counter = true;
            g.digit_chain(None);
        },
        b".>.<<.",
    );
    // A walk whose temporaries the code tests many iterations at once.
    ending(&mut rng, tape, Some(4), |g| g.block_walk(), b".>.<<.");
    Case { seed, program, input, eof, tape, left_margin, cell_bits }
}

/// A start that prints more than the output buffer holds (64 KiB): a loop
/// that prints an unknown byte (its counter) then `len` known ones, `len +
/// 1` a power of two, so that from the empty buffer a constant print ends
/// exactly at the buffer's end and a `.` follows (a short print that filled
/// the buffer once left it full). Cells 0 to 2; leaves 0, 0 and a constant,
/// the pointer at cell 0; 85 to 105 thousand of the oracle's steps.
fn output_flood(rng: &mut Rng) -> Vec<u8> {
    let (len, passes) = rng.pick(&[(31, 9), (15, 17)]);
    let value = rng.range(1, 20) as usize;
    format!("{}[>-[.>[-]{}{}<-]<-]", "+".repeat(passes), "+".repeat(value), ".".repeat(len)).into_bytes()
}

struct Gen<'r> {
    rng: &'r mut Rng,
    out: Vec<u8>,
    tape: i64,
    depth: usize,
    /// Roughly where the pointer is: moves are counted, loops assumed to
    /// return where they started. Keeps most programs on the tape.
    pos: i64,
    /// Digit chains count a constant plus two neighbours read from input
    /// (`digit_chain`; only in their ending, so that the programs stay
    /// those of the seeds before).
    lea_counter: bool,
}

impl Gen<'_> {
    /// The program, and roughly where it leaves the pointer.
    fn program(mut self) -> (Vec<u8>, i64) {
        if self.tape < 16 {
            let start = self.rng.range(0, self.tape - 1);
            self.moves(start);
            self.digit_chain(None);
            self.out.push(b'.');
            return (self.out, self.pos);
        }
        // Start a little right of cell 0 so that leftward code does not
        // always underflow at once.
        let start = self.rng.range(2, 12);
        self.moves(start);
        let pieces = self.rng.range(3, 14);
        // One program in four walks off the tape (or nearly).
        let walk_off = if self.rng.chance(1, 4) { self.rng.range(0, pieces) } else { -1 };
        for i in 0..pieces {
            if i == walk_off {
                self.walk_off();
            }
            self.piece();
        }
        // Show some of the final state: an optimiser's wrong cell values
        // become visible even when the program printed nothing.
        for _ in 0..self.rng.range(0, 4) {
            self.out.push(b'.');
            let d = self.small_offset().signum();
            self.moves(d);
        }
        self.out.push(b'.');
        (self.out, self.pos)
    }

    fn push_n(&mut self, byte: u8, n: i64) {
        self.out.extend(std::iter::repeat_n(byte, n as usize));
    }

    /// `+` or `-` adding `v` (mod 256) in the shorter direction.
    fn add(&mut self, v: u8) {
        if v < 128 {
            self.push_n(b'+', v as i64);
        } else {
            self.push_n(b'-', 256 - v as i64);
        }
    }

    fn moves(&mut self, d: i64) {
        self.pos += d;
        if d >= 0 {
            self.push_n(b'>', d);
        } else {
            self.push_n(b'<', -d);
        }
    }

    /// A move of 1 to 4 cells, leftward only where that stays on the tape.
    fn small_offset(&mut self) -> i64 {
        let d = self.rng.range(1, 4);
        if self.rng.chance(1, 2) && self.pos - d >= 0 {
            -d
        } else {
            d
        }
    }

    /// A nonzero count to add, sometimes large enough to wrap.
    fn amount(&mut self) -> u8 {
        match self.rng.below(6) {
            0 => self.rng.range(100, 255) as u8,
            1 => 255,
            _ => self.rng.range(1, 12) as u8,
        }
    }

    /// A sequence of pieces, the body of a loop.
    fn block(&mut self, pieces: i64) {
        self.depth += 1;
        for _ in 0..pieces {
            self.piece();
        }
        self.depth -= 1;
    }

    fn piece(&mut self) {
        let nested = self.depth < 3;
        match self.rng.below(if nested { 18 } else { 12 }) {
            0 | 1 => {
                let v = self.amount();
                self.add(v);
            }
            2 => {
                let d = self.small_offset();
                self.moves(d);
            }
            3 => {
                let clear = self.rng.pick(&[&b"[-]"[..], b"[+]", b"[--]", b"[-]+"]);
                self.out.extend_from_slice(clear);
            }
            4 | 5 => self.mul_loop(),
            6 if self.rng.chance(1, 4) => self.marker_walk(),
            6 if self.rng.chance(1, 3) => self.scan_pair(),
            6 => self.scan(),
            7 => self.out.push(b'.'),
            8 => {
                // Net-zero noise: folds away, but `+-` still touches its cell.
                let noise = self.rng.pick(&[&b"+-"[..], b"-+", b"<>", b"><", b"++--", b"+<->", b">+<-"]);
                self.out.extend_from_slice(noise);
            }
            9 | 10 => self.out.push(b','),
            11 if self.rng.chance(1, 3) => self.carry_walk(),
            11 if self.rng.chance(1, 2) => self.shift_walk(),
            11 if self.rng.chance(1, 3) => self.row_walk(),
            11 => self.digit_chain(None),
            // Loops with bodies of their own, only while not too deep.
            12 if self.rng.chance(1, 2) => self.register_loop(),
            12 | 13 => self.counter_loop(),
            14 => {
                // Runs at most once: ends by clearing its own cell.
                let start = self.pos;
                self.out.push(b'[');
                let n = self.rng.range(1, 4);
                self.block(n);
                self.moves(start - self.pos);
                self.out.extend_from_slice(b"[-]]");
            }
            15 => {
                // Arbitrary: often endless (then discarded by the oracle).
                // Mostly the body returns the pointer to where it started.
                let start = self.pos;
                self.out.push(b'[');
                let n = self.rng.range(1, 4);
                self.block(n);
                if self.rng.chance(3, 4) {
                    self.moves(start - self.pos);
                }
                self.out.push(b']');
                self.pos = start;
            }
            16 => {
                // Walks while cells are nonzero, clearing them: `[->>]`.
                let d = if self.rng.chance(3, 4) { self.rng.range(1, 3) } else { self.small_offset() };
                self.out.extend_from_slice(b"[-");
                self.moves(d);
                self.pos -= d;
                self.out.push(b']');
            }
            _ => {
                let v = self.rng.range(1, 80) as u8;
                self.add(v);
                self.out.push(b'.');
            }
        }
    }

    /// `[->+>+++<<]`, `[>++<-]`, `[-->+<]`, ...: a counter stepped by some
    /// amount each pass, and targets at offsets around it, each adding a
    /// factor; the pointer returns to the counter.
    fn mul_loop(&mut self) {
        if self.rng.chance(2, 3) {
            let v = self.amount();
            self.add(v);
        }
        let step = match self.rng.below(8) {
            0..=3 => 255,
            4 => 1,
            5 => self.rng.pick(&[254, 2, 253, 3]),
            _ => self.rng.range(1, 255) as u8,
        };
        let counter_first = self.rng.chance(1, 2);
        self.out.push(b'[');
        if counter_first {
            self.add(step);
        }
        let base = self.pos;
        let mut pos = 0;
        for _ in 0..self.rng.range(1, 4) {
            let mut off = self.rng.range(1, 4) * self.rng.pick(&[1, -1]);
            if self.rng.chance(1, 12) {
                // Occasionally a target far off, or the counter itself.
                off = self.rng.pick(&[0, 7, -6, 12]);
            }
            if base + off < 0 {
                off = -off;
            }
            self.moves(off - pos);
            pos = off;
            let factor = match self.rng.below(5) {
                0 => self.rng.range(250, 255) as u8,
                _ => self.rng.range(1, 5) as u8,
            };
            self.add(factor);
        }
        self.moves(-pos);
        if !counter_first {
            self.add(step);
        }
        self.out.push(b']');
    }

    /// A counting loop holding a loop on a flag that runs now and then, as
    /// primes.bf's modulo by repeated subtraction (an ending of one case in
    /// two): each pass steps `s` down and sets the flag `f`; a copy of `s`
    /// into `t` (through `u`) clears the flag where `s` is not 0; the
    /// flag's loop adds `r` back into `s`, sets or adds to `t`, and clears
    /// itself. Six cells within 4 of the counter, which is anywhere, or
    /// near either end of the tape (some cells then off it): in registers
    /// where they are few and close enough, inner loop and all
    /// (`select::register_loop`). With the inner loop's first test left
    /// out of its code, 9 mismatches in 5,000 programs (seed 7000001).
    fn nested_loop(&mut self) {
        let start = self.pos;
        match self.rng.below(4) {
            0 => {
                let n = self.tape - self.pos - self.rng.range(1, 6);
                self.moves(n);
            }
            1 => {
                let n = self.rng.range(0, 4) - self.pos;
                self.moves(n);
            }
            _ => {}
        }
        // Four cells, then `r`, which only the inner loop touches: mostly
        // between the others (the counter's included), so that it can be
        // in a register.
        let mut offs: Vec<i64> = vec![0];
        while offs.len() < 5 {
            let off = self.rng.range(-4, 4);
            if !offs.contains(&off) {
                offs.push(off);
            }
        }
        let free = |lo: i64, hi: i64| (lo..=hi).filter(|off| !offs.contains(off)).collect::<Vec<_>>();
        let (lo, hi) = (*offs.iter().min().expect("cells"), *offs.iter().max().expect("cells"));
        let between = free(lo, hi);
        let r = if !between.is_empty() && self.rng.chance(3, 4) { between } else { free(-4, 4) };
        offs.push(self.rng.pick(&r));
        let [_, s, f, t, u, r] = offs[..] else { unreachable!("six cells") };
        let at = |g: &mut Self, off: i64, code: &[u8]| {
            g.moves(off);
            g.out.extend_from_slice(code);
            g.moves(-off);
        };
        for cell in [s, r] {
            let v = self.rng.range(1, 7) as u8;
            self.add_at(cell, v);
        }
        let n = self.rng.range(1, 20) as u8;
        self.add(n);
        self.out.extend_from_slice(b"[-");
        self.add_at(s, 255);
        self.add_at(f, 1);
        self.move_into(s, &[(t, 1), (u, 1)]);
        self.move_into(u, &[(s, 1)]);
        // if t: clear f and t.
        self.moves(t);
        self.out.push(b'[');
        at(self, f - t, b"[-]");
        self.out.extend_from_slice(b"[-]]");
        self.moves(-t);
        self.moves(f);
        self.out.push(b'[');
        self.moves(-f);
        self.move_into(r, &[(s, 1), (u, 1)]);
        self.move_into(u, &[(r, 1)]);
        // A set, which tells whether the loop ran (256 runs of adds alone
        // look like none).
        match self.rng.below(3) {
            0 => at(self, t, b"[-]+"),
            1 => {
                let v = self.amount();
                at(self, t, &vec![b'+'; v as usize]);
            }
            _ => {}
        }
        at(self, f, b"-]");
        self.out.push(b']');
        self.moves(start - self.pos);
    }

    /// A nest of cases on a counter read from input whose innermost case
    /// moves the pointer onto a cell it clears, as bfminifier.b's filter
    /// drops a character (`,[-[-[-[>[-]]]]]`, an ending of one case in
    /// four): every level then ends on a zero wherever the pointer is, so
    /// each runs at most once (`known-values`: the cell an `if` tested is 0
    /// after it where its body ends on a 0). Levels may work through a cell
    /// beside; the move is 1 to 3 cells either way; now and then the cell
    /// is left 1, and the levels are loops.
    fn moving_case_nest(&mut self) {
        self.out.push(b',');
        let levels = self.rng.range(1, 6);
        for _ in 0..levels {
            self.out.push(b'[');
            let step = self.rng.range(1, 12) as u8;
            self.add(step.wrapping_neg());
            if self.rng.chance(1, 4) {
                let d = self.rng.range(1, 3) * self.rng.pick(&[1, -1]);
                let v = self.amount();
                self.add_at(d, v);
            }
        }
        let d = self.rng.range(1, 3) * self.rng.pick(&[1, -1]);
        self.moves(d);
        let clear: &[u8] = if self.rng.chance(1, 8) { b"[-]+" } else { b"[-]" };
        self.out.extend_from_slice(clear);
        // Where the pointer ends depends on the way: counted from before.
        self.pos -= d;
        self.out.extend(std::iter::repeat_n(b']', levels as usize));
    }

    /// A walk along frames of 2 to 5 cells either way, each copying a
    /// source cell into a target through a temporary cleared first
    /// (`[-]>[<<+>+>-]<[>+<-]`, factorials.b's digit loop; an ending of one
    /// case in four): the temporary the walk's own cell one time in two,
    /// the target often in the frame before, which the first iteration has
    /// not touched (a guarded multiply, and `linear-stretches` around it).
    /// 1 to 4 frames are set up, most times then lost to the compiler by a
    /// scan; the walk ends at a zero cell, or off the tape (one in three
    /// goes there).
    fn copy_walk(&mut self) {
        let stride = self.rng.range(2, 5) * self.rng.pick(&[1, -1]);
        let temp = if self.rng.chance(1, 2) { 0 } else { self.rng.range(-4, 4) };
        let source = loop {
            let cell = self.rng.range(-4, 4);
            if cell != temp {
                break cell;
            }
        };
        let target = loop {
            let cell = if self.rng.chance(1, 2) { -stride + self.rng.range(-1, 1) } else { self.rng.range(-6, 6) };
            if cell != temp && cell != source {
                break cell;
            }
        };
        let frames = self.rng.range(1, 4);
        for k in 0..frames {
            self.moves(k * stride);
            self.out.extend_from_slice(b"[-]");
            let v = self.amount();
            self.add(v);
            let v = self.amount();
            self.add_at(source, v);
            self.moves(-k * stride);
        }
        // Most times from the last frame back to a zero before the first:
        // where the frames are is then lost to the compiler, which knows
        // only the cell the scan stopped on.
        if self.rng.chance(3, 4) {
            let start = self.pos;
            self.moves(-stride);
            self.out.extend_from_slice(b"[-]");
            self.moves(frames * stride);
            self.out.push(b'[');
            self.moves(-stride);
            self.out.push(b']');
            self.pos = start - stride;
            self.moves(stride);
        }
        self.out.push(b'[');
        self.moves(temp);
        self.out.extend_from_slice(b"[-]");
        self.moves(-temp);
        let factor = self.rng.pick(&[1, 1, 2, 255]);
        self.move_into(source, &[(target, factor), (temp, 1)]);
        self.move_into(temp, &[(source, 1)]);
        // Then the target touched again, or moved on (an `if` on it: what
        // proves it on the tape comes after the copy's stretch, as the
        // digit chain's switch in factorials.b).
        match self.rng.below(3) {
            0 => {}
            k => self.add_or_move_beside(target, k == 2),
        }
        // One walk in three makes the next frame's cell nonzero: it runs
        // to a tape end, where the first cell off the tape is the copy's
        // target or another, by the order of their touches.
        if self.rng.chance(1, 3) {
            self.add_at(stride, 1);
        }
        self.moves(stride);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// A `case` on the counter at the pointer as Brainfuck writes it
    /// (morse.b; an ending of one case in four): nested loops, each
    /// subtracting from the counter, the innermost clearing it, and after
    /// each inner level closes the level's own work through a cell beside
    /// it, often a loop that leaves the counter alone (`[.-]`). Each level
    /// runs at most once (`known-values`: the loop beside keeps the counter
    /// known 0), its subtraction made in al where the level's test loaded
    /// it (`emit::cells`).
    fn case_chain(&mut self) {
        let levels = self.rng.range(2, 7);
        for _ in 0..levels {
            self.out.push(b'[');
            let step = self.rng.range(1, 12) as u8;
            self.add(step.wrapping_neg());
        }
        self.out.extend_from_slice(b"[-]");
        for _ in 0..levels {
            let d = self.rng.range(1, 3) * self.rng.pick(&[1, -1]);
            match self.rng.below(3) {
                0 => {
                    self.moves(d);
                    self.out.extend_from_slice(b"[.-]");
                    self.moves(-d);
                }
                1 => {
                    self.moves(d);
                    let v = self.amount();
                    self.add(v);
                    self.out.push(b'.');
                    self.moves(-d);
                }
                _ => {}
            }
            self.out.push(b']');
        }
    }

    /// `[->+<[->+<[->+<[-]]]]`: ifs nested on one counter, as factor.b
    /// steps its digits. Each level steps the counter and adds to cells
    /// around it; the innermost clears the counter, or moves it to a cell.
    ///
    /// With a `carry`, the innermost level also steps the cell that far
    /// away (the next digit's counter, in `carry_walk`).
    ///
    /// A level may also add to cells after the level inside it closes,
    /// which the counter's small values reach before the inner level's
    /// cells and its larger ones after; on a small tape some chains reach
    /// past both ends of it, so that which end a run falls off first
    /// depends on the counter.
    fn digit_chain(&mut self, carry: Option<i64>) {
        // Sometimes near an end of the tape, where the far cells are off it
        // and only some counter values reach them.
        let start = self.pos;
        let at_right_end = carry.is_none() && self.rng.chance(1, 6);
        if at_right_end {
            let n = self.tape - self.pos - self.rng.range(1, 12);
            self.moves(n);
            let v = self.amount();
            self.add(v);
        }
        let off_left_end = self.rng.chance(1, 4);
        let levels = self.rng.range(2, 6);
        let base = self.pos;
        // Cells just past the tape's start and end (either first), from
        // the counter: the innermost level touches the second; the level
        // around it, after it closes, the first, then the second. Small
        // counters so touch the first first, larger ones the second.
        let both_ends = (carry.is_none() && (self.tape < 16 || self.tape <= 300 && self.rng.chance(1, 3))).then(|| {
            let (start, end) = (-(base + 1 + self.rng.range(0, 2)), self.tape - base + self.rng.range(0, 2));
            if self.rng.chance(1, 2) {
                (start, end)
            } else {
                (end, start)
            }
        });
        if both_ends.is_some() {
            self.out.push(b',');
        }
        // With an even number of levels (no new draw: later seeds keep
        // their programs), the cells 11 either side of the counter first,
        // where on the tape: a switch the chain becomes then lies between
        // cells known on it, and runs without bounds checks
        // (`select::switch::on_tape`).
        if levels % 2 == 0 && carry.is_none() && base >= 11 && base + 11 < self.tape {
            self.add_at(-11, 1);
            self.add_at(11, 1);
        }
        // In its ending, the counter is a constant plus its two neighbours,
        // read from input first, moved into it
        // (`>,<<,>[-]+++++>[-<+>]<<[->+<]>`): a run makes it in a register
        // with a `lea`, past 255 in 32 bits, and hands it to the switch in
        // eax (zero-extended, or the tables are read past the value's row).
        if self.lea_counter && carry.is_none() && both_ends.is_none() && base >= 1 && base + 1 < self.tape {
            self.out.extend_from_slice(b">,<<,>[-]");
            let v = self.amount();
            self.add(v);
            for side in [1, -1] {
                self.moves(side);
                self.out.extend_from_slice(b"[-");
                self.moves(-side);
                self.out.push(b'+');
                self.moves(side);
                self.out.push(b']');
                self.moves(-side);
            }
        }
        for level in 0..levels {
            self.out.push(b'[');
            let step = self.rng.pick(&[255, 255, 255, 1, 2]);
            self.add(step);
            self.chain_adds(base, off_left_end);
            if let Some((_, second)) = both_ends.filter(|_| level == levels - 1) {
                self.add_at(second, 1);
            }
        }
        if let Some(carry) = carry {
            self.moves(carry);
            // A borrow or a carry.
            let step = self.rng.pick(&[255, 1]);
            self.add(step);
            self.moves(-carry);
        }
        match self.rng.below(3) {
            0 => self.out.extend_from_slice(b"[-]"),
            1 => self.out.extend_from_slice(b"[->+<]"),
            _ => self.out.extend_from_slice(b"++++++++++[+<->]"),
        }
        for level in (0..levels).rev() {
            self.out.push(b']');
            if let Some((first, second)) = both_ends.filter(|_| level == levels - 1) {
                self.add_at(first, 1);
                self.add_at(second, 1);
            } else if level > 0 && self.rng.chance(1, 3) {
                self.chain_adds(base, off_left_end);
            }
        }
        if at_right_end {
            self.moves(start - self.pos);
        }
    }

    /// One or two adds of a digit chain's level, to cells near the counter
    /// at `base`, sometimes far: the next digit, off the tape's start with
    /// `off_left_end`.
    fn chain_adds(&mut self, base: i64, off_left_end: bool) {
        for _ in 0..self.rng.range(1, 3) {
            let mut off = self.rng.range(1, 3) * self.rng.pick(&[1, -1]);
            if self.rng.chance(1, 6) {
                // Sometimes far off: the next digit, beyond the tape.
                off = self.rng.pick(&[10, -10, 7]);
            }
            if base + off < 0 && !off_left_end {
                off = -off;
            }
            let v = self.amount();
            self.add_at(off, v);
        }
    }

    /// Adds `v` to the cell `off` away, and comes back.
    fn add_at(&mut self, off: i64, v: u8) {
        self.moves(off);
        self.add(v);
        self.moves(-off);
    }

    /// `[>[->+<[->+<[->>>-<<<[-]]]]>>]`: a walk along an array, each
    /// element a digit chain that carries into the next element's counter
    /// (factor.b's carries along a number); it ends at a zero cell, or off
    /// the tape.
    fn carry_walk(&mut self) {
        let stride = self.rng.range(2, 4);
        let counter = self.rng.range(1, stride - 1);
        self.out.push(b'[');
        self.moves(counter);
        self.digit_chain(Some(stride));
        self.moves(stride - counter);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// `[>[->>>+<<<]<<<<]`: a walk along an array, moving a cell of each
    /// element into the element visited before (mandelbrot's shifts, where
    /// the target is what the previous iteration cleared, sometimes cleared
    /// first); or, clearing it first, into the element visited next, whose
    /// cell the next iteration moves on (factor.b's walks that carry a value
    /// along, which keep it in a register from one iteration to the next).
    fn shift_walk(&mut self) {
        let stride = self.rng.range(2, 4) * self.rng.pick(&[1, -1]);
        let factor = self.rng.pick(&[1, 1, 2, 3]);
        let to = if self.rng.chance(1, 3) { stride } else { -stride };
        self.out.extend_from_slice(b"[>");
        // Clearing the target first makes a copy: carried along ahead, or,
        // behind, a clear the next iteration's copy overwrites.
        if to == stride || self.rng.chance(1, 2) {
            self.moves(to);
            self.out.extend_from_slice(b"[-]");
            self.moves(-to);
        }
        self.out.extend_from_slice(b"[-");
        self.moves(to);
        self.add(factor);
        self.moves(-to);
        self.out.extend_from_slice(b"]<");
        self.moves(stride);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// A walk over frames whose body copies the frame's cell into
    /// temporaries and adds them back, which clears them:
    /// `[[->+>++<<]>[-<+>]>[-<<+>>]<<>>>]` and its kin (`select::Run::zeros`:
    /// the temporaries are tested for 0 first, and where all are, a copy
    /// of the body without them runs). Frames of 2 to 5 cells either way;
    /// 1 to 3 temporaries within 6 cells either side (the next frames'
    /// cells too); factors; 1 to 4 frames' cells set first; now and then a
    /// temporary not added back (left nonzero), or one set before the walk
    /// (the body as it is runs).
    fn temp_walk(&mut self) {
        let stride = self.rng.range(2, 5) * self.rng.pick(&[1, -1]);
        let mut temps: Vec<i64> = (0..self.rng.range(1, 3)).map(|_| self.rng.range(-6, 6)).collect();
        temps.retain(|&t| t != 0);
        temps.sort_unstable();
        temps.dedup();
        // The frames' cells: this one's and the next 0 to 3 nonzero.
        for k in 0..self.rng.range(1, 4) {
            self.moves(k * stride);
            self.out.extend_from_slice(b"[-]");
            let v = self.amount();
            self.add(v);
            self.moves(-k * stride);
        }
        if self.rng.chance(1, 3) {
            let t = self.rng.pick(&[0, stride]) + temps.first().copied().unwrap_or(1);
            self.moves(t);
            let v = self.amount();
            self.add(v);
            self.moves(-t);
        }
        self.out.push(b'[');
        self.out.extend_from_slice(b"[-");
        for &t in &temps {
            self.moves(t);
            let factor = self.rng.pick(&[1, 1, 2, 3, 255]);
            self.add(factor);
            self.moves(-t);
        }
        self.out.push(b']');
        for &t in &temps {
            if self.rng.chance(5, 6) {
                let factor = self.rng.pick(&[1, 1, 2, 255]);
                self.move_into(t, &[(0, factor)]);
            }
        }
        self.moves(stride);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// A walk of 1 to 30 frames whose body moves the frame's cell out into
    /// temporaries and back, which clears them (`select::WalkInBlocks`:
    /// the code tests the temporaries of up to 16 iterations at once):
    /// strides 1 to 4 either way; 1 to 3 temporaries within 6 cells either
    /// side (which the code tests one iteration at a time), or in arrays
    /// 16 frames and 1 to 24 cells apart (the carry walk's layout);
    /// one time in two a temporary of a frame up to 16 past the last made
    /// nonzero (a block that holds one, then the iteration's own test); one
    /// time in three a write in each iteration to the next frame's cell or
    /// to a later frame's temporary (no blocks then); one time in three
    /// placed so that the walk ends near the tape's end or runs off it (a
    /// block's bytes past the end).
    fn block_walk(&mut self) {
        let stride = self.rng.range(1, 4) * self.rng.pick(&[1, -1]);
        let far = self.rng.chance(1, 3);
        let mut temps: Vec<i64> =
            (1..=self.rng.range(1, 3))
                .map(|k| {
                    if far {
                        k * (16 * stride + self.rng.range(1, 24) * stride.signum())
                    } else {
                        self.rng.range(-6, 6)
                    }
                })
                .collect();
        temps.retain(|&t| t != 0);
        temps.sort_unstable();
        temps.dedup();
        let frames = self.rng.range(1, 30);
        if self.rng.chance(1, 3) {
            let end = if stride > 0 { self.tape - 1 } else { 0 };
            let first = end - stride * (frames + self.rng.range(-3, 2));
            self.moves(first - self.pos);
        }
        for k in 0..frames {
            self.moves(k * stride);
            self.out.extend_from_slice(b"[-]");
            let v = self.rng.range(1, 12) as u8;
            self.add(v);
            self.moves(-k * stride);
        }
        if let (true, Some(&t)) = (self.rng.chance(1, 2), temps.first()) {
            let at = self.rng.range(0, frames + 16) * stride + t;
            self.moves(at);
            let v = self.amount();
            self.add(v);
            self.moves(-at);
        }
        self.out.extend_from_slice(b"[[-");
        for &t in &temps {
            self.moves(t);
            let factor = self.rng.pick(&[1, 1, 2, 3]);
            self.add(factor);
            self.moves(-t);
        }
        self.out.push(b']');
        for &t in &temps {
            let factor = self.rng.pick(&[1, 1, 2, 255]);
            self.move_into(t, &[(0, factor)]);
        }
        if let (true, Some(&t)) = (self.rng.chance(1, 3), temps.last()) {
            let at = if self.rng.chance(1, 2) { stride } else { t + self.rng.range(1, 15) * stride };
            self.moves(at);
            self.add(1);
            self.moves(-at);
        }
        self.moves(stride);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// Sets of 2 to 12 neighbouring cells in any order, each `[-]` and an
    /// add or none (`select::SetBlock`: stored several cells at a time),
    /// from 12 cells left of the pointer to 12 right; one time in three
    /// in a walk of stride 1 to 3 either way, which goes on while the block
    /// leaves the cell it moves to nonzero: mostly to a tape end, where
    /// the block fails at the first of its sets whose cell is off.
    fn set_block(&mut self) {
        let start = self.rng.range(-12, 12);
        let mut cells: Vec<i64> = (start..start + self.rng.range(2, 12)).collect();
        for k in (1..cells.len()).rev() {
            let j = self.rng.below(k as u64 + 1) as usize;
            cells.swap(k, j);
        }
        let stride = self.rng.chance(1, 3).then(|| self.rng.range(1, 3) * self.rng.pick(&[1, -1]));
        if stride.is_some() {
            self.out.push(b'[');
        }
        for off in cells {
            self.moves(off);
            self.out.extend_from_slice(b"[-]");
            if self.rng.chance(2, 3) {
                let v = self.amount();
                self.add(v);
            }
            self.moves(-off);
        }
        if let Some(stride) = stride {
            self.moves(stride);
            // Loops are assumed to return where they started.
            self.pos -= stride;
            self.out.push(b']');
        }
    }

    /// `[-]` of the cell `from` adding each `factor` to its cell `to`
    /// (offsets from the pointer, where it comes back).
    fn move_into(&mut self, from: i64, to: &[(i64, u8)]) {
        self.moves(from);
        self.out.extend_from_slice(b"[-");
        let mut at = from;
        for &(cell, factor) in to {
            self.moves(cell - at);
            self.add(factor);
            at = cell;
        }
        self.moves(from - at);
        self.out.push(b']');
        self.moves(-from);
    }

    /// Faase's self-interpreter moving a counter and its payload along an
    /// array of frames, `[<[->>>>>+<<<<<]>[->>>>>+<<<<<]>>>>+>-]`: each
    /// iteration moves (or adds, or copies ahead) the payload cells and the
    /// counter one frame on, adds to what it moved, and steps the counter
    /// down, so the walk ends (or runs off the tape) within 256 frames.
    /// Frames of 2 to 6 cells either way; payload cells within the frame,
    /// either side of the counter, moved with a factor; the counter's move
    /// first or last. The counter is set first (1 to 80 frames), and the
    /// payload cells are added to.
    fn frame_walk(&mut self) {
        let dir = if self.rng.chance(1, 2) || self.pos < 40 { 1 } else { -1 };
        let stride = dir * self.rng.range(2, 6);
        let mut payload: Vec<i64> =
            (0..self.rng.range(1, 3)).map(|_| self.rng.range(1 - stride.abs(), stride.abs() - 1)).collect();
        payload.retain(|&q| q != 0);
        payload.dedup();
        let counter_first = self.rng.chance(1, 2);
        // The counter: 1 to 80 frames (off a 300-cell tape, some); the
        // payload, what it holds.
        self.out.extend_from_slice(b"[-]");
        let frames = self.rng.range(1, 80) as u8;
        self.add(frames);
        for &q in &payload {
            self.moves(q);
            let v = self.amount();
            self.add(v);
            self.moves(-q);
        }
        self.out.push(b'[');
        if counter_first {
            self.move_into(0, &[(stride, 1)]);
        }
        for &q in &payload {
            let factor = self.rng.pick(&[1, 1, 1, 2, 255]);
            self.move_into(q, &[(q + stride, factor)]);
        }
        if !counter_first {
            self.move_into(0, &[(stride, 1)]);
        }
        for &q in &payload {
            if self.rng.chance(1, 2) {
                self.moves(q + stride);
                let v = self.amount();
                self.add(v);
                self.moves(-q - stride);
            }
        }
        self.moves(stride);
        self.out.push(b'-');
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// A loop counting cells down to a branch made by a scan, the
    /// comparison `[->-[>]<<]` and its kin (`select::FastForward`): adds to
    /// the loop's cell (odd, or none), to the cells the scan passes (odd,
    /// or none: then they must be nonzero) and to others; then a scan of
    /// stride 1 to 3 either way from a cell near the loop's, passing 0 to
    /// 2 cells, and the move that brings it back where it stops at the
    /// cell after them. The cells are set first: the loop's to 1 to 40,
    /// the others to small values, 0 among them, and the cell the scan
    /// should stop at to 0 three times in four.
    fn compare_loop(&mut self) {
        let stride = self.rng.range(1, 3) * if self.rng.chance(1, 2) { 1 } else { -1 };
        let from = self.rng.range(-3, 3);
        let passed = self.rng.range(0, 2);
        let stop = from + passed * stride;
        if stop == 0 {
            return;
        }
        let odd = |g: &mut Gen| g.rng.pick(&[255, 255, 1, 253, 3, 5]);
        let mut adds: Vec<(i64, u8)> = Vec::new();
        if self.rng.chance(3, 4) {
            adds.push((0, odd(self)));
        }
        for k in 0..passed {
            let cell = from + k * stride;
            if self.rng.chance(2, 3) && !adds.iter().any(|&(c, _)| c == cell) {
                adds.push((cell, odd(self)));
            }
        }
        // At least one counter, or the loop may not end.
        if adds.is_empty() {
            adds.push((0, odd(self)));
        }
        if self.rng.chance(1, 2) {
            let cell = self.rng.range(-4, 4);
            if cell != stop && !adds.iter().any(|&(c, _)| c == cell) {
                adds.push((cell, self.amount()));
            }
        }
        // Room on the left for the cells, set.
        if self.pos < 8 {
            self.moves(8);
        }
        let (lo, hi) = (from.min(stop).min(-4), from.max(stop).max(4));
        for cell in lo..=hi {
            let v = match cell {
                0 => self.rng.range(1, 40) as u8,
                _ if cell == stop && self.rng.chance(3, 4) => 0,
                _ => self.rng.pick(&[0, 1, 2, 5, 200]),
            };
            self.moves(cell);
            self.out.extend_from_slice(b"[-]");
            self.add(v);
            self.moves(-cell);
        }
        self.out.push(b'[');
        for &(cell, v) in &adds {
            self.moves(cell);
            self.add(v);
            self.moves(-cell);
        }
        self.moves(from);
        let step = if stride > 0 { b'>' } else { b'<' };
        self.out.push(b'[');
        self.push_n(step, stride.abs());
        self.out.push(b']');
        // Where the scan stops on the way back, as the compiler assumes.
        self.pos += stop - from;
        self.moves(-stop);
        self.out.push(b']');
    }

    /// long.b's levels: a loop that builds a row of cells up from zero
    /// beyond a gap cell and walks back over it, multiplying each cell into
    /// the one before, to the first zero (the gap, if it and the row were
    /// zero: the pass makes a shortcut of it), then steps back to its
    /// counter. `++[->>+>+>++<[>[<++>-]<<]<]`, either way, rows of 3 to 8.
    fn row_walk(&mut self) {
        let dir = if self.rng.chance(1, 2) || self.pos < 12 { 1 } else { -1 };
        let (fwd, back) = if dir > 0 { (b'>', b'<') } else { (b'<', b'>') };
        let len = self.rng.range(3, 8);
        let factor = self.rng.pick(&[1, 2, 3, 255]);
        let times = self.rng.range(1, 3);
        self.add(times as u8);
        self.out.extend_from_slice(&[b'[', b'-', fwd]);
        for _ in 0..len {
            self.out.push(fwd);
            let v = if self.rng.chance(1, 4) { self.amount() } else { 1 };
            self.add(v);
        }
        self.out.extend_from_slice(&[b'+', back, b'[', fwd, b'[', back]);
        self.add(factor);
        self.out.extend_from_slice(&[fwd, b'-', b']', back, back, b']', back, b']']);
    }

    /// Marker walks, `-[+>>>>-]+` and `+[-<<+]-`: a few cells `stride`
    /// apart, some holding the marker value, then a walk that adds the
    /// value to the cell it leaves and takes it from the one it enters, so
    /// stopping at the next marker (or running off the tape where there is
    /// none): strides of -5 to 5, any value, the add before and after the
    /// loop or not, the two adds of the body in either order.
    fn marker_walk(&mut self) {
        let stride = self.rng.range(1, 5) * self.rng.pick(&[1, -1]);
        let value = if self.rng.chance(1, 2) { 1 } else { self.rng.range(1, 255) as u8 };
        let cells = self.rng.range(0, 6);
        for _ in 0..cells {
            let v = if self.rng.chance(1, 3) { value } else { self.amount() };
            self.add(v);
            self.moves(stride);
        }
        let back = self.rng.range(0, cells);
        self.moves(-stride * back);
        let around = self.rng.chance(3, 4);
        if around {
            self.add(value.wrapping_neg());
        }
        self.out.push(b'[');
        if self.rng.chance(3, 4) {
            self.add(value);
            self.moves(stride);
            self.add(value.wrapping_neg());
        } else {
            self.moves(stride);
            self.add(value.wrapping_neg());
            self.moves(-stride);
            self.add(value);
            self.moves(stride);
        }
        self.out.push(b']');
        // Loops are assumed to return where they started.
        self.pos -= stride;
        if around && self.rng.chance(1, 2) {
            self.add(value);
        }
    }

    /// Add walks, `[-->]`, `<++[<++]`, `[->>>>]`: a row of up to 60 cells
    /// `stride` apart (1 to 4 either way) made nonzero, or now and then
    /// holding the value that stops the walk, then from its first cell a
    /// walk along it that adds to one cell each step: its own, the next one
    /// (which it then tests), one or two strides behind, two ahead, or one
    /// between. Long rows make the code's 16-byte blocks; one row in four
    /// ends near the end of the tape the walk goes towards, which it runs
    /// off or stops just before.
    fn add_walk(&mut self) {
        let stride = self.rng.range(1, 4) * self.rng.pick(&[1, -1]);
        let off = match self.rng.below(5) {
            0 => 0,
            1 => stride,
            2 => -stride * self.rng.range(1, 2),
            3 => 2 * stride,
            _ => self.rng.range(-3, 3),
        };
        let add = self.amount();
        let stop = if off == stride { add.wrapping_neg() } else { 0 };
        let mut len = self.rng.range(0, 60);
        if self.rng.chance(1, 4) {
            // Its row ends near the end of the tape it walks towards.
            let gap = self.rng.range(0, 2 * stride.abs());
            let end = if stride > 0 { self.tape - 1 - gap } else { gap };
            let start = (end - stride * len).clamp(0, self.tape - 1);
            self.moves(start - self.pos);
        }
        // A row that fits on the tape (as far as `pos` knows).
        let room = if stride > 0 { self.tape - 1 - self.pos } else { self.pos };
        len = len.min(room.max(0) / stride.abs());
        for _ in 0..len {
            let v = if self.rng.chance(1, 40) { stop } else { self.amount() };
            self.add(v);
            self.moves(stride);
        }
        self.moves(-stride * len);
        self.out.push(b'[');
        self.moves(off);
        self.add(add);
        self.moves(stride - off);
        self.out.push(b']');
        // Loops are assumed to return where they started.
        self.pos -= stride;
    }

    /// Divmod loops, esolangs' `[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]` (or the
    /// one that does not keep n), either way: its cells added to (small
    /// values, 0, 1, 255: a divisor of 1 too, whose restart moves the
    /// pointer elsewhere), mostly nothing where the layout wants zeros;
    /// one loop in four with its cells at the end of the tape it reaches
    /// towards, some off it.
    fn divmod(&mut self) {
        let (cells, src) = if self.rng.chance(1, 2) {
            (7, "[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]")
        } else {
            (6, "[->-[>+>>]>[+[-<+>]>+>>]<<<<<]")
        };
        let dir = if self.rng.chance(1, 3) { -1 } else { 1 };
        if self.rng.chance(1, 4) {
            let inside = self.rng.range(1, cells);
            let start = if dir > 0 { self.tape - inside } else { inside - 1 };
            self.moves(start - self.pos);
        }
        // As many cells as are on the tape (as far as `pos` knows).
        let room = if dir > 0 { self.tape - self.pos } else { self.pos + 1 };
        let laid = cells.min(room.max(1));
        for k in 0..laid {
            let v = match k {
                0 => self.amount(),
                _ if k >= cells - 2 && self.rng.chance(7, 8) => 0,
                _ => {
                    let any = self.amount();
                    self.rng.pick(&[0, 1, 2, 255, any])
                }
            };
            self.add(v);
            if k + 1 < laid {
                self.moves(dir);
            }
        }
        self.moves(-dir * (laid - 1));
        let src = if dir > 0 { src.to_string() } else { mirror(src) };
        self.out.extend(src.bytes());
    }

    /// `[>]`, `[<]`, `[>>>]`, ... sometimes over a few nonzero cells first.
    fn scan(&mut self) {
        let stride = self.small_offset();
        self.scan_over_array(stride, (1, 2), 5, 3);
    }

    /// A scan of `stride`; first, with odds `array`, up to `len` nonzero
    /// cells `stride` apart are laid out, and the scan starts up to `back`
    /// of them back.
    fn scan_over_array(&mut self, stride: i64, array: (u64, u64), len: i64, back: i64) {
        if self.rng.chance(array.0, array.1) {
            self.array(stride, len);
            let back = -stride * self.rng.range(1, back);
            self.moves(back);
        }
        self.out.push(b'[');
        self.moves(stride);
        self.out.push(b']');
    }

    /// `[>>>]` ... `[<<<]`: a scan, straight-line code that moves and
    /// writes around where it stopped, and a scan back the other way
    /// (mandelbrot's appends to an array; the code generator makes the
    /// second skip the cells the first passed, where the code between
    /// leaves them non-zero). Sometimes over an array laid out first.
    fn scan_pair(&mut self) {
        let stride = self.small_offset();
        self.scan_over_array(stride, (2, 3), 6, 4);
        for _ in 0..self.rng.range(1, 4) {
            // Mostly cells the scans pass, sometimes one between them.
            let mut k = self.rng.range(-3, 1) * stride;
            if self.rng.chance(1, 5) {
                k += self.rng.pick(&[1, -1]);
            }
            match self.rng.below(4) {
                0 => {
                    let d = stride * self.rng.range(-2, 1);
                    self.moves(d);
                }
                1 => {
                    // Set non-zero: the way back still passes it.
                    self.moves(k);
                    self.out.extend_from_slice(b"[-]+");
                    self.moves(-k);
                }
                2 => {
                    self.moves(k);
                    self.out.extend_from_slice(b"[-]");
                    self.moves(-k);
                }
                _ => {
                    self.moves(k);
                    let v = self.amount();
                    self.add(v);
                    self.moves(-k);
                }
            }
        }
        self.out.push(b'[');
        self.moves(-stride);
        self.out.push(b']');
    }

    /// `[>[-]+++>]` ... `[<<]`: a walk whose body writes cells of its
    /// frames and moves on by its stride, straight-line code around where
    /// it stopped, and a scan back the other way (mandelbrot's
    /// `[>>>>>>>[-]>>]<<<<<<<<<[<<<<<<<<<]`: the code generator makes the
    /// scan skip the cells the walk tested, where neither the body nor the
    /// code between writes them but to set them non-zero). Mostly over an
    /// array laid out first; one walk in five sets the next frame's flag,
    /// running to a tape end. One write in three lands on a cell it tests,
    /// mostly the one it passed last; one in three is made by an `if`.
    fn walk_pair(&mut self) {
        let stride = self.rng.range(1, 5) * self.rng.pick(&[1, -1]);
        if self.rng.chance(3, 4) {
            let frames = self.array(stride, 6);
            let back = -stride * self.rng.range(1, frames);
            self.moves(back);
        }
        self.out.push(b'[');
        for _ in 0..self.rng.range(1, 3) {
            let mut at = self.rng.range(1, stride.abs().max(2) - 1) * stride.signum();
            if self.rng.chance(1, 3) {
                at = stride * self.rng.pick(&[-1, -1, 0, 1]);
            }
            // One write in three made by an `if` on a cell of the frame,
            // added to first (so that it mostly runs), which it clears.
            let guard = self.rng.chance(1, 3).then(|| self.rng.range(1, stride.abs()) * stride.signum());
            if let Some(cell) = guard {
                let v = self.amount();
                self.add_at(cell, v);
                self.moves(cell);
                self.out.push(b'[');
                self.moves(-cell);
            }
            match self.rng.below(4) {
                0 => self.at(at, b"[-]"),
                1 => self.at(at, b"[-]+++"),
                k => self.add_or_move_beside(at, k == 3),
            }
            if let Some(cell) = guard {
                self.at(cell, b"[-]]");
            }
        }
        if self.rng.chance(1, 5) {
            self.at(stride, b"[-]+");
        }
        self.moves(stride);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
        // Mostly back to the last cell the walk passed first, sometimes to
        // one before: before the first where the walk passed few.
        if self.rng.chance(3, 4) {
            let d = -stride * self.rng.pick(&[1, 1, 2]);
            self.moves(d);
        }
        for _ in 0..self.rng.range(0, 2) {
            let k = self.rng.range(-2, 1) * stride + self.rng.pick(&[0, 0, 0, 1]);
            match self.rng.below(3) {
                0 => {
                    let d = stride * self.rng.range(-2, 1);
                    self.moves(d);
                }
                1 => self.at(k, b"[-]+"),
                _ => self.at(k, b"[-]"),
            }
        }
        self.out.push(b'[');
        self.moves(-stride);
        self.out.push(b']');
        // The two frames after the stop, whose flags the array gave
        // values: a scan back that stopped elsewhere prints others.
        self.at(stride, b".");
        self.at(2 * stride, b".");
    }

    /// A walk whose body multiplies a cell of its frame into two or three
    /// temporaries, moves the first back into it and clears or leaves the
    /// others: `[>[->+>+++<<]>[-<+>]>[-]>]`, the multiply loops' idiom (the
    /// first temporary's product kept in a register past the others'
    /// touches, `select::runs::carried_product`). Frames of 4 to 6 cells
    /// either way; the source and the temporaries in the frame, the first
    /// temporary beyond the source, or (one walk in two) the source within
    /// 3 cells of the flag, the first temporary 1 or 2 beyond it, the
    /// others within 5 cells of it, either side (the next frames' cells
    /// too); 1 to 5 frames' flags given amounts, their sources amounts or
    /// input; one walk in two from where the last frame's flag is 1 to 5
    /// cells from the end of the tape it walks to, some of its cells off
    /// it.
    fn product_walk(&mut self) {
        let stride = self.rng.range(4, 6) * self.rng.pick(&[1, -1]);
        let frames = self.rng.range(1, 5);
        if self.rng.chance(1, 2) {
            // The last frame's flag 1 to 5 cells from the end.
            let last = (frames - 1) * stride.abs() + self.rng.range(1, 5);
            let near = if stride > 0 { self.tape - last } else { last - 1 };
            self.moves(near - self.pos);
        }
        // The first temporary beyond the source from the flag: a cell the
        // body touches only where the source is not 0 (an `if_nonzero`
        // multiply's target, `opt::guards`). One walk in two keeps its
        // cells in its frame (as the idiom: a run, where frames sharing
        // cells make a walk that hands them on in registers); the others
        // anywhere.
        let in_frame = self.rng.chance(1, 2);
        let dir = if in_frame { stride.signum() } else { self.rng.pick(&[1, -1]) };
        let source = dir * self.rng.range(1, if in_frame { stride.abs() - 2 } else { 3 });
        let mut temps =
            vec![source + dir * self.rng.range(1, if in_frame { stride.abs() - 1 - source.abs() } else { 2 })];
        // Cells enough: the frame's but the flag's and the source's.
        let wanted = self.rng.range(2, 3).min(stride.abs() - 2) as usize;
        while temps.len() < wanted {
            let c = if in_frame { dir * self.rng.range(1, stride.abs() - 1) } else { self.rng.range(-5, 5) };
            if c != 0 && c != source && !temps.contains(&c) {
                temps.push(c);
            }
        }
        // The frames' flags and sources, those on the tape; the sources
        // mostly read (values the compiler does not know).
        for k in 0..frames {
            for cell in [k * stride, k * stride + source] {
                let (v, read) = (self.amount(), cell != k * stride && self.rng.chance(2, 3));
                if (0..self.tape).contains(&(self.pos + cell)) {
                    if read {
                        self.at(cell, b",");
                    } else {
                        self.add_at(cell, v);
                    }
                }
            }
        }
        self.out.push(b'[');
        let to: Vec<(i64, u8)> = temps.iter().map(|&t| (t, self.rng.pick(&[1, 1, 3, 2, 255]))).collect();
        self.move_into(source, &to);
        // One walk in four adds to a cell beyond the first temporary before
        // moving it back: a cell touched between that temporary's multiply
        // and its read, whatever the source, which off the tape fails
        // after the multiply's error (the product then stays in memory).
        if self.rng.chance(1, 4) {
            let (beyond, v) = (temps[0] + dir * self.rng.range(1, 2), self.amount());
            self.add_at(beyond, v);
        }
        self.move_into(temps[0], &[(source, 1)]);
        for &t in &temps[1..] {
            if self.rng.chance(2, 3) {
                self.at(t, b"[-]");
            }
        }
        self.moves(stride);
        // Loops are assumed to return where they started.
        self.pos -= stride;
        self.out.push(b']');
    }

    /// 1 to `len` cells `stride` apart from the pointer on, each given an
    /// amount; the pointer left past the last. Returns how many.
    fn array(&mut self, stride: i64, len: i64) -> i64 {
        let cells = self.rng.range(1, len);
        for _ in 0..cells {
            let v = self.amount();
            self.add(v);
            self.moves(stride);
        }
        cells
    }

    /// An amount added to the cell at `at`, or (`moved`) that cell moved
    /// into one beside it.
    fn add_or_move_beside(&mut self, at: i64, moved: bool) {
        if moved {
            let beside = at + self.rng.pick(&[1, -1]);
            self.move_into(at, &[(beside, 1)]);
        } else {
            let v = self.amount();
            self.add_at(at, v);
        }
    }

    /// `code` at `off` from the pointer, which then comes back.
    fn at(&mut self, off: i64, code: &[u8]) {
        self.moves(off);
        self.out.extend_from_slice(code);
        self.moves(-off);
    }

    /// Two cells `d` apart (4097 to 5000, either way), read from input:
    /// the first one less one, added to the far one and cleared (a run
    /// keeping it in a register), then the far one moved back, doubled
    /// (a copy through a product), both printed. Sometimes placed so that
    /// the far cell is off the end it lies towards, or the near one is.
    fn far_run(&mut self) {
        let d = self.rng.range(4097, 5000) * self.rng.pick(&[1, -1]);
        let base = match self.rng.below(4) {
            // The far cell just off (or on) the tape.
            0 if d > 0 => self.tape - d + self.rng.range(-2, 2),
            0 => -d + self.rng.range(-2, 2),
            _ if d > 0 => self.rng.range(2, self.tape - d - 2),
            _ => self.rng.range(2 - d, self.tape - 2),
        };
        self.moves(base - self.pos);
        // Each move below is one of `d` cells.
        let run = ",>,<-[->+<]>[-<++>]<.>.<";
        let run = if d > 0 { run.to_string() } else { mirror(run) };
        for byte in run.bytes() {
            match byte {
                b'>' | b'<' => self.push_n(byte, d.abs()),
                _ => self.out.push(byte),
            }
        }
    }

    /// A loop whose body ends by moving the pointer onto a cell and
    /// clearing it, `[>>[-]]` (rule30.b) or `,[-<+<<<[-]]`: the next test
    /// meets that zero, so it runs at most once and leaves the pointer
    /// where it began or moved. The move is short, or reaches one end of
    /// the tape, sometimes past it. Then a few cells printed.
    fn moving_once(&mut self) {
        let start = self.pos;
        let counter = self.rng.pick(&[&b","[..], b"+", b"", b"-"]);
        self.out.extend_from_slice(counter);
        self.out.push(b'[');
        for _ in 0..self.rng.range(0, 2) {
            let k = self.small_offset();
            self.moves(k);
            let v = self.amount();
            self.add(v);
            self.moves(-k);
        }
        let d = match self.rng.below(6) {
            0 => self.tape - 1 - start + self.rng.range(-1, 2),
            1 => -start + self.rng.range(-2, 1),
            _ => self.rng.range(1, 5) * self.rng.pick(&[1, -1]),
        };
        let d = if d == 0 { 1 } else { d };
        self.moves(d);
        let clear = self.rng.pick(&[&b"[-]"[..], b"[+]", b"+[-]", b"[-]-+"]);
        self.out.extend_from_slice(clear);
        self.out.push(b']');
        for _ in 0..self.rng.range(1, 3) {
            self.out.push(b'.');
            self.out.push(self.rng.pick(b"<>"));
        }
        self.out.push(b'.');
    }

    /// Moves the pointer off the tape (or near its end), touches a cell,
    /// and comes back to print: that output must not appear if the touch
    /// was off the tape.
    fn walk_off(&mut self) {
        let start = self.pos;
        match self.rng.below(5) {
            0 => {
                let n = self.pos + self.rng.range(-1, 3);
                self.moves(-n);
            }
            1 => {
                let n = self.tape - self.pos + self.rng.range(-3, 3);
                self.moves(n);
            }
            2 => self.out.extend_from_slice(self.rng.pick(&[&b"+[>+]"[..], b"-[>>>-]", b"+[<+]", b"+[<<-]"])),
            3 => {
                // Fill the last cells, then scan right over them.
                let n = self.tape - self.pos - 4;
                self.moves(n);
                self.out.extend_from_slice(b"+>+>+>+<<<[>]");
            }
            _ => {
                let n = self.tape - self.pos - self.rng.range(1, 3);
                self.moves(n);
                self.out.extend_from_slice(b"+[>]");
            }
        }
        // The touch; a net-zero one must fail all the same.
        let touch = self.rng.pick(&[&b"+"[..], b"+", b"+", b"-+", b"+-"]);
        self.out.extend_from_slice(touch);
        self.moves(start - self.pos);
        self.out.push(b'.');
    }

    /// `[->+>>-<<[>>+<<[-]]>[-<<+>>]<]`: a loop that does not move the
    /// pointer, on a few cells around its counter, with ifs inside
    /// (prime8's modulo loop, mandelbrot's carries), which the code
    /// generator runs in registers. Sometimes next to an end of the tape,
    /// and sometimes touching a cell further away only inside an if.
    fn register_loop(&mut self) {
        let start = self.pos;
        if self.rng.chance(1, 6) {
            let n = self.tape - self.pos - self.rng.range(1, 6);
            self.moves(n);
        }
        let near_left = self.rng.chance(1, 4);
        let base = self.pos;
        // Any offset but the counter's, off the left end only sometimes.
        let offset = |rng: &mut Rng, far: bool| {
            let reach = if far { 6 } else { 3 };
            let off = rng.range(1, reach) * rng.pick(&[1, -1]);
            if base + off < 0 && !near_left {
                -off
            } else {
                off
            }
        };
        let n = self.rng.range(1, 6) as u8;
        self.add(n);
        self.out.extend_from_slice(b"[-");
        for _ in 0..self.rng.range(2, 5) {
            let far = self.rng.chance(1, 4);
            let (a, b) = (offset(self.rng, false), offset(self.rng, far));
            match self.rng.below(3) {
                0 => {
                    self.moves(a);
                    let v = self.amount();
                    self.add(v);
                    self.moves(-a);
                }
                // An if on `a`: it adds to `b` and clears `a`.
                1 => {
                    self.moves(a);
                    self.out.push(b'[');
                    self.moves(b - a);
                    let v = self.amount();
                    self.add(v);
                    self.moves(a - b);
                    self.out.extend_from_slice(b"[-]]");
                    self.moves(-a);
                }
                // `a` moved into `b`, times a factor.
                _ if a != b => {
                    self.moves(a);
                    self.out.extend_from_slice(b"[-");
                    self.moves(b - a);
                    let factor = self.rng.pick(&[1, 1, 3, 7]);
                    self.add(factor);
                    self.moves(a - b);
                    self.out.extend_from_slice(b"]");
                    self.moves(-a);
                }
                _ => {}
            }
        }
        self.out.push(b']');
        self.moves(start - self.pos);
    }

    /// `+++[>++[>+<-]<-]`: a counter set, a body shifted one cell right,
    /// and the counter decremented each pass.
    fn counter_loop(&mut self) {
        let n = self.rng.range(1, 6) as u8;
        self.add(n);
        self.out.push(b'[');
        let d = self.small_offset();
        self.moves(d);
        let pieces = self.rng.range(1, 3);
        self.block(pieces);
        self.moves(-d);
        self.out.push(b'-');
        self.out.push(b']');
    }
}

/// The program's mirror image: every move the other way.
pub fn mirror(src: &str) -> String {
    let swap = |c| match c {
        '<' => '>',
        '>' => '<',
        c => c,
    };
    src.chars().map(swap).collect()
}
