//! Divmod loops in closed form. Programs that print numbers divide by ten,
//! and compilers to Brainfuck divide and take remainders, with the
//! algorithm of the esolangs wiki, `[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]` on
//! cells `n 0 d 0 0 0 0` (and `[->-[>+>>]>[+[-<+>]>+>>]<<<<<]`, which
//! does not keep `n`): each iteration takes 1 from `n`, steps a counter
//! that runs `d` down and a remainder up, and when the counter reaches 0
//! starts it again and adds 1 to the quotient. Its inner loops run at most
//! once because of the layout (they stop at the two zero cells after the
//! quotient), but no pass can prove that, so the loop runs as written: a
//! chain of stores and loads through memory, 6 cycles or so an iteration,
//! in gcc's code as in bfc's. Its closed form (`ir::DivMod::run`) is a
//! division.
//!
//! The loop becomes a shortcut (`Op::Shortcut`) holding it: where its
//! cells are on the tape and the two cells after the quotient are zero,
//! the division; else (and where the closed form does not hold, a restart
//! with `count + rest` = 1) the loop as written, with its errors.
//!
//! Found by the loop's optimised IR, the inner loop of the restart peeled
//! into an `if` and the loop (as `unguard-walks` leaves it) or not, either
//! direction. The TinyC programs of the wider set (tiny_modsum,
//! tiny_mulmod, tiny_primes, tiny_count) use it; no program of the corpus
//! does; compilers to Brainfuck whose source is public emit it for
//! division and printing.

use crate::ir::{DivMod, Inst, Op, Program, Shortcut};

/// Wraps each divmod loop in a shortcut that makes its closed form.
pub fn divmod_loops(program: Program) -> Program {
    super::replace_blocks(program, |block, data| {
        let Op::Loop { off: 0 } = block[0].op else { return None };
        let shortcut = divmod_of(&block[1..block.len() - 1])?;
        let mut code = Vec::with_capacity(block.len() + 2);
        shortcut.wrap(block, data, &mut code);
        Some(code)
    })
}

/// The shortcut of a loop on `[p]` with `body`, if it is a divmod loop.
fn divmod_of(body: &[Inst]) -> Option<Shortcut> {
    let ops: Vec<Op> = body.iter().map(|inst| inst.op).collect();
    let dir = match ops.iter().find_map(|op| match op {
        Op::Move(d) => Some(d.signum()),
        _ => None,
    })? {
        0 => return None,
        d => d,
    };
    // The adds before the first move: to n, maybe the copy, the count.
    let adds = ops.iter().take_while(|op| matches!(op, Op::Add { .. })).count();
    let mut leading: Vec<(i32, u8)> = ops[..adds]
        .iter()
        .map(|op| match *op {
            Op::Add { off, val } => (off * dir, val),
            _ => unreachable!("adds"),
        })
        .collect();
    leading.sort_unstable();
    let (copy, count) = match leading[..] {
        [(0, 255), (1, 1), (2, 255)] => (Some(dir), 2),
        [(0, 255), (1, 255)] => (None, 1),
        _ => return None,
    };
    // The counter's step (`>-[>+>>]>`), then the restart (`[+[-<+>]>+>>]`)
    // as an if and a loop, or a loop, then back (`<<<<<<`).
    let step = [Op::Add { off: dir, val: 1 }, Op::Move(3 * dir)];
    let restart = [
        Op::Add { off: 0, val: 1 },
        Op::AddMul { off: -dir, src: 0, factor: 1, if_nonzero: false },
        Op::Set { off: 0, val: 0 },
        Op::Add { off: dir, val: 1 },
        Op::Move(3 * dir),
    ];
    let looped = |body: &[Op]| [&[Op::Loop { off: 0 }], body, &[Op::EndLoop]].concat();
    let mut expected = vec![Op::Move(count * dir)];
    expected.extend(looped(&step));
    expected.push(Op::Move(dir));
    let back = Op::Move(-(count + 4) * dir);
    let peeled = [&expected[..], &[Op::If { off: 0 }], &restart, &looped(&restart), &[Op::EndIf, back]].concat();
    let plain = [&expected[..], &looped(&restart), &[back]].concat();
    let rest_of_body = &ops[adds..];
    if rest_of_body != peeled && rest_of_body != plain {
        return None;
    }
    let cell = |k: i32| k * dir;
    let zeros = if dir > 0 { vec![cell(count + 3), cell(count + 4)] } else { vec![cell(count + 4), cell(count + 3)] };
    Some(Shortcut {
        zeros,
        reach: if dir > 0 { (0, cell(count + 4)) } else { (cell(count + 4), 0) },
        changes: Vec::new(),
        delta: 0,
        divmod: Some(DivMod { copy, count: cell(count), rest: cell(count + 1), quotient: cell(count + 2) }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::{behaviour_located, moves, o2, program, random};
    use crate::opt::{optimise, Config};

    const DIVMOD: &str = "[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]";
    const DIVMOD_NO_COPY: &str = "[->-[>+>>]>[+[-<+>]>+>>]<<<<<]";

    fn mirror(src: &str) -> String {
        src.chars()
            .map(|c| match c {
                '<' => '>',
                '>' => '<',
                c => c,
            })
            .collect()
    }

    /// -O2 without compile-time execution, on a tape of `cells` (64: the
    /// tape of `behaviour_located`).
    fn optimised(src: &str, cells: usize) -> Program {
        optimise(program(src), Config { tape_cells: cells, ..o2() })
    }

    fn divmods(p: &Program) -> Vec<DivMod> {
        p.ops().filter_map(|op| if let Op::Shortcut { start } = op { p.shortcut(start).divmod } else { None }).collect()
    }

    #[test]
    fn the_algorithm_and_its_variants_are_found() {
        // Read first: nothing is known of the cells.
        for (src, copy) in [(DIVMOD, true), (DIVMOD_NO_COPY, false)] {
            let p = optimised(&format!(",>,>,<<{src}"), 64);
            let found = divmods(&p);
            let count = if copy { 2 } else { 1 };
            let expected = DivMod { copy: copy.then_some(1), count, rest: count + 1, quotient: count + 2 };
            assert_eq!(found, [expected], "{}", p.display(b""));
            // Leftwards, from the other end.
            let p = optimised(&format!("{},<,<,>>{}", moves(20), mirror(src)), 64);
            let negated = DivMod { copy: copy.then_some(-1), count: -count, rest: -count - 1, quotient: -count - 2 };
            assert_eq!(divmods(&p), [negated], "{}", p.display(b""));
        }
        // Other loops with inner loops are not.
        for src in ["[->+>-[>+>>]>[+[-<+>]>+>]<<<<<<]", "[->+>-[>+>>]>[+[-<++>]>+>>]<<<<<<]", "[-[>]<]"] {
            assert!(divmods(&optimised(&format!(",>,>,<<{src}"), 64)).is_empty(), "{src}");
        }
    }

    /// The closed form against the loop itself, on every divisor and
    /// remainder state, for dividends around every restart, with the
    /// loop's cells anywhere on a short tape (off both ends too), the cells
    /// that must be zero zero or not: output, outcome, the cell and command
    /// of a tape error the same.
    #[test]
    fn the_closed_form_is_the_loop() {
        let mut next = random(0xd1f_u64);
        let mut shortcuts = 0;
        for case in 0..6000 {
            let (src, width) = if case % 2 == 0 { (DIVMOD, 7) } else { (DIVMOD_NO_COPY, 6) };
            let left = case % 3 == 0;
            let at = next(66) as i64 - 2;
            let values: Vec<u8> = (0..width)
                .map(|k| match k {
                    _ if k >= width - 2 && next(8) != 0 => 0,
                    0 => next(256) as u8,
                    _ => [0, 1, 2, 255, next(256) as u8][next(5) as usize],
                })
                .collect();
            // The cells read from input, so that nothing is known of them.
            let (to, back) = if left { ("<", ">") } else { (">", "<") };
            let reads = vec![","; width].join(to);
            let body = if left { mirror(src) } else { src.to_string() };
            let full = format!("{}{reads}{}{body}.{to}.{to}.{to}.{to}.{to}.", moves(at), back.repeat(width - 1));
            let p = program(&full);
            let opt = optimised(&full, 64);
            shortcuts += usize::from(!divmods(&opt).is_empty());
            assert_eq!(behaviour_located(&p, &values), behaviour_located(&opt, &values), "{full} {values:?}");
        }
        assert!(shortcuts > 3000, "{shortcuts}");
    }
}
