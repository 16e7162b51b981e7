//! Switches: chains of nested ifs on one counter, as factor.b writes its
//! digit arithmetic, become table lookups.
//!
//! ```text
//! if [p+7] != 0                        switch on [p+7]: [p+7] [p+8] [p+17] by table
//!   add  [p+7] -= 1
//!   add  [p+8] += 1
//!   if [p+7] != 0
//!     add  [p+7] -= 1
//!     add  [p+8] += 1
//!     ... ten levels, the last one
//!     adding to [p+17] ...
//! ```
//!
//! Each operation of such a chain adds, sets, or adds a multiple of the
//! counter, and each if tests the counter: what the chain does to a cell
//! depends only on the counter's value when it starts. So the pass runs the
//! chain for each of the 256 values and records, per cell, whether it is
//! touched, whether it is set or added to, and by how much. The chain took
//! a branch per level, mispredicted whenever the digits vary; the code
//! generator turns the tables into loads without a branch (see
//! `Op::Switch`).
//!
//! Which cells the chain touches, and so which tape error it stops with,
//! depends on the counter; so does the order it touches them in, and the
//! command that touches each first. A switch touches its cells in one
//! order, the same for every value, each at one command. The pass lists
//! the cells in an order that agrees with every value's, and keeps the
//! chain as ifs where no order does or where a cell is first touched at
//! another command for another value: then the error, where two cells are
//! off the tape or one is, is the program's, cell and command.
//!
//! Runs last, once: the other passes do not look into switches.

use crate::ir::{Inst, Op, Program, SwitchCell};

/// Fewer ifs than this stay as they are: one multiply `If` is cheaper as a
/// branch when it is predictable (and the walks pass unguards it in the
/// loops where it is not).
const MIN_IFS: usize = 2;
/// Chains touching more cells stay (each costs 772 bytes of tables).
const MAX_CELLS: usize = 16;
/// Longer chains stay: the pass runs each one 256 times.
const MAX_LEN: usize = 512;

/// Replaces the chains of nested ifs on one counter by `Op::Switch`es.
pub fn switch_tables(program: Program) -> Program {
    fold_set_cells(chains_to_switches(program))
}

fn chains_to_switches(program: Program) -> Program {
    super::replace_blocks(program, |block, data| {
        let Op::If { off } = block[0].op else { return None };
        let cells = tables(block, off)?;
        let start = u32::try_from(data.len()).expect("program data under 4 GiB");
        for cell in &cells {
            cell.view().encode(data);
        }
        Some(vec![Inst::new(Op::Switch { src: off, start, cells: cells.len() as u16 }, block[0].at)])
    })
}

/// A switch's cell that a `set` in the straight-line code before it gave a
/// value it still holds becomes a cell the switch sets for every value of
/// its counter, from its tables: a digit chain adding into a cell cleared
/// just before (factorials.b's `[-]>[<<+>+>-]<[>+<-]<[>+<-[>+<-[...`, its
/// digit made in the cell its copy went through) then stores a table's
/// byte, without an `and` and an `add` on the cell in memory (two
/// read-modify-writes on the loop's path through memory), and the set
/// before it is a dead store (`dead_stores`). The set touched the cell: it
/// is on the tape, and the switch may touch it for every value.
fn fold_set_cells(program: Program) -> Program {
    let Program { insts, mut data } = program;
    // Cells (from where the stretch started) a set gave the value.
    let mut known: super::FastMap<i64, u8> = super::FastMap::default();
    let mut base = 0i64;
    for inst in &insts {
        let cell = |off: i32| base + off as i64;
        match inst.op {
            Op::Move(d) => base += d as i64,
            Op::Set { off, val } => {
                known.insert(cell(off), val);
            }
            Op::Add { off, .. } | Op::AddMul { off, .. } | Op::In { off } => {
                known.remove(&cell(off));
            }
            Op::Out { .. } | Op::Print { .. } => {}
            Op::Switch { src, start, cells } => {
                for k in 0..cells as usize {
                    let at = start as usize + k * SwitchCell::SIZE;
                    let tables = &mut data[at..at + SwitchCell::SIZE];
                    let off = SwitchCell::decode(tables).off;
                    if let Some(&value) = known.get(&cell(off)).filter(|_| off != src) {
                        set_for_every_value(tables, value);
                    }
                    known.remove(&cell(off));
                }
            }
            _ => {
                known.clear();
                base = 0;
            }
        }
    }
    Program { insts, data }
}

/// Makes the cell whose tables are `tables` (a `SwitchCell`'s bytes), which
/// holds `value` before the switch, set for every value switched on.
fn set_for_every_value(tables: &mut [u8], value: u8) {
    for v in 0..256 {
        let (keep, add) = if tables[SwitchCell::TOUCH + v] != 0 {
            (tables[SwitchCell::KEEP + v], tables[SwitchCell::ADD + v])
        } else {
            (0xff, 0)
        };
        tables[SwitchCell::TOUCH + v] = 1;
        tables[SwitchCell::KEEP + v] = 0;
        tables[SwitchCell::ADD + v] = (value & keep).wrapping_add(add);
    }
}

/// One cell's tables while they are built.
struct Tables {
    off: i32,
    touch: [u8; 256],
    keep: [u8; 256],
    add: [u8; 256],
    /// The command that touches it first in the chain's text.
    at: u32,
}

impl Tables {
    fn view(&self) -> SwitchCell<'_> {
        SwitchCell { off: self.off, touch: &self.touch, keep: &self.keep, add: &self.add, at: self.at }
    }
}

/// What one run of the chain did to a cell.
#[derive(Clone, Copy)]
struct Effect {
    touched: bool,
    keep: u8,
    add: u8,
}

const UNTOUCHED: Effect = Effect { touched: false, keep: 0xff, add: 0 };

/// `block` runs from an `If` on `counter` to its `EndIf`. The tables of its
/// cells, counter first, then in the order the chain first touches them
/// (see `touch_order`); None when it is not such a chain, or when no one
/// order of its cells gives the error the chain would for every value.
fn tables(block: &[Inst], counter: i32) -> Option<Vec<Tables>> {
    if block.len() > MAX_LEN {
        return None;
    }
    let mut cells = vec![counter];
    // Where each cell is first touched: the counter by the first if.
    let mut ats = vec![block[0].at];
    let mut ifs = 0;
    // For each `If`, the index of its `EndIf`.
    let mut skip = vec![0; block.len()];
    let mut open = Vec::new();
    for (i, inst) in block.iter().enumerate() {
        let target = match inst.op {
            Op::If { off } if off == counter => {
                ifs += 1;
                open.push(i);
                continue;
            }
            Op::EndIf => {
                skip[open.pop().expect("balanced block")] = i;
                continue;
            }
            Op::Add { off, .. } | Op::Set { off, .. } => off,
            Op::AddMul { off, src, .. } if src == counter => off,
            _ => return None,
        };
        if !cells.contains(&target) {
            cells.push(target);
            ats.push(inst.at);
        }
    }
    if ifs < MIN_IFS || cells.len() > MAX_CELLS {
        return None;
    }
    let index = |off: i32| cells.iter().position(|&cell| cell == off).expect("listed above");
    let mut tables: Vec<Tables> = cells
        .iter()
        .zip(&ats)
        .map(|(&off, &at)| Tables { off, touch: [0; 256], keep: [0xff; 256], add: [0; 256], at })
        .collect();
    let mut effects = vec![UNTOUCHED; cells.len()];
    // first[a][b]: some value touches cell a first, then b.
    let mut first = vec![vec![false; cells.len()]; cells.len()];
    let mut order = Vec::with_capacity(cells.len());
    for v in 0..256 {
        effects.fill(UNTOUCHED);
        // The counter is read first, by the first if.
        order.clear();
        order.push(0);
        let mut value = v as u8;
        let mut pc = 0;
        while pc < block.len() {
            if let Some(off) = block[pc].op.cells().next().filter(|&off| off != counter) {
                let k = index(off);
                if !order.contains(&k) {
                    // A cell's code has one command: the one every value
                    // that touches the cell touches it first at.
                    if block[pc].at != tables[k].at {
                        return None;
                    }
                    order.push(k);
                }
            }
            match block[pc].op {
                Op::If { .. } if value == 0 => pc = skip[pc],
                Op::Add { off, val } if off == counter => value = value.wrapping_add(val),
                Op::Set { off, val } if off == counter => value = val,
                Op::AddMul { off, factor, .. } if off == counter => {
                    value = value.wrapping_add(value.wrapping_mul(factor))
                }
                Op::Add { off, val } => {
                    let effect = &mut effects[index(off)];
                    *effect = Effect { touched: true, add: effect.add.wrapping_add(val), ..*effect };
                }
                Op::Set { off, val } => effects[index(off)] = Effect { touched: true, keep: 0, add: val },
                Op::AddMul { off, factor, .. } => {
                    let effect = &mut effects[index(off)];
                    *effect =
                        Effect { touched: true, add: effect.add.wrapping_add(value.wrapping_mul(factor)), ..*effect };
                }
                _ => {}
            }
            pc += 1;
        }
        for (k, &a) in order.iter().enumerate() {
            for &b in &order[k + 1..] {
                first[a][b] = true;
            }
        }
        // The counter was read by the first if; it ends set to its value.
        effects[0] = Effect { touched: true, keep: 0, add: value };
        for (table, effect) in tables.iter_mut().zip(&effects) {
            table.touch[v] = effect.touched as u8;
            table.keep[v] = effect.keep;
            table.add[v] = effect.add;
        }
    }
    // A counter every chain leaves as it found it is not written at all.
    let counter = &mut tables[0];
    if (0..256).all(|v| counter.add[v] == v as u8) {
        counter.keep = [0xff; 256];
        counter.add = [0; 256];
    }
    let order = touch_order(&first)?;
    let mut tables: Vec<Option<Tables>> = tables.into_iter().map(Some).collect();
    Some(order.into_iter().map(|k| tables[k].take().expect("each cell once")).collect())
}

/// An order of the cells `0..first.len()` with `a` before `b` wherever
/// `first[a][b]`: of the cells free to come next, the one first touched
/// in the chain's text (so without such pairs the order is the text's).
/// None where the pairs make a cycle: values that touch two cells in
/// opposite orders.
fn touch_order(first: &[Vec<bool>]) -> Option<Vec<usize>> {
    let n = first.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let free = |b: usize| !placed[b] && (0..n).all(|a| placed[a] || !first[a][b]);
        let next = (0..n).find(|&b| free(b))?;
        placed[next] = true;
        order.push(next);
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testing::*;
    use crate::opt::{passes, to_fixed_point, Config, Level};

    /// The passes that make the ifs of a chain: all the others.
    fn before(p: Program) -> Program {
        to_fixed_point(
            p,
            &passes(Config { level: Level::O2, tape_cells: 64, left_margin: 0, eval_steps: 0, cell_bits: 8 }),
        )
    }

    fn switched(src: &str) -> Program {
        switch_tables(before(program(src)))
    }

    /// factor.b's digit step: ten nested ifs, the last one carrying.
    const DIGIT: &str = "[->+<[->+<[->+<[->+<[->+<[->+<[->+<[->+<[->+<[->+<\
                         [++++++++++[+>-<]>>>>>>>>>>-<<<<<<<<<<]]]]]]]]]]]";

    #[test]
    fn a_digit_chain_becomes_one_switch() {
        // Read, so that no cell's value is known.
        let src = format!(",>,>>>>>>>>>,<<<<<<<<<<{DIGIT}");
        let p = switched(&src);
        let read = |off| Op::In { off };
        assert_eq!(ops(&p), vec![read(0), read(1), read(10), Op::Switch { src: 0, start: 0, cells: 3 }]);
        let cells: Vec<SwitchCell> = p.switch_cells(0, 3).collect();
        assert_eq!(cells.iter().map(|c| c.off).collect::<Vec<_>>(), vec![0, 1, 10]);
        let [counter, digit, carry] = &cells[..] else { unreachable!() };
        // 0: nothing happens; 1..=10: moved to the digit; 11 and up: the
        // digit gets 10 + v, the next one loses 1.
        assert_eq!((counter.touch[0], digit.touch[0], carry.touch[0]), (1, 0, 0));
        for v in 1..=10 {
            assert_eq!((counter.keep[v], counter.add[v]), (0, 0));
            assert_eq!((digit.touch[v], digit.keep[v], digit.add[v]), (1, 0xff, v as u8));
            assert_eq!(carry.touch[v], 0);
        }
        assert_eq!((digit.add[11], carry.touch[11], carry.add[11]), (21, 1, 255));
        let listing = p.display(src.as_bytes());
        assert!(listing.lines().nth(3).unwrap().starts_with("switch on [p]: [p] [p+1] [p+10] by table ; 1:24"));
    }

    #[test]
    fn other_shapes_stay() {
        let chain = |inner: &[Op]| {
            let ops = [&[Op::If { off: 0 }, Op::Add { off: 0, val: 255 }], inner, &[Op::EndIf]].concat();
            Program { insts: ops.into_iter().map(|op| Inst::new(op, 0)).collect(), data: vec![] }
        };
        let clear = [Op::If { off: 0 }, Op::Set { off: 0, val: 0 }, Op::EndIf];
        for p in [
            // One if: left to the walks pass.
            chain(&[Op::Add { off: 1, val: 1 }]),
            // An if on another cell.
            chain(&[Op::If { off: 1 }, Op::Set { off: 1, val: 0 }, Op::EndIf]),
            // Output, a move, a multiply by another cell.
            chain(&[&[Op::Out { off: 1 }], &clear[..]].concat()),
            chain(&[&[Op::Move(1)], &clear[..]].concat()),
            chain(&[&[Op::AddMul { off: 1, src: 2, factor: 1, if_nonzero: false }], &clear[..]].concat()),
        ] {
            assert_eq!(switch_tables(p.clone()), p);
        }
        // The same chain with only adds and ifs on the counter is one.
        let p = switch_tables(chain(&[&[Op::Add { off: 1, val: 1 }], &clear[..]].concat()));
        assert_eq!(ops(&p), vec![Op::Switch { src: 0, start: 0, cells: 2 }]);
    }

    #[test]
    fn keeps_behaviour() {
        let pipeline = |p| switch_tables(before(p));
        for src in [
            format!(",{DIGIT}"),
            // Sets, multiplies by the counter, a counter that survives.
            ",[-->+++<[>>[-]+<<-[>[-]<[->>+++<<]]]]".to_string(),
            ",[>+<-[>>++<<-[>>>-<<<[->+<]]]]".to_string(),
            // Touching off the tape: left, right, and where only some
            // values reach the far cell.
            ",[-<+>[-<+>[-]]]".to_string(),
            format!("{},[->+<[->>+<<[-]]]", ">".repeat(62)),
            format!("{},[->+<[->+<[->>>>+<<<<[-]]]]", ">".repeat(60)),
        ] {
            let src = format!("{src}>.<.>>.<<<.");
            let switches = ops(&pipeline(program(&src))).iter().filter(|op| matches!(op, Op::Switch { .. })).count();
            assert_eq!(switches, 1, "{src}");
            for input in 0..=255u8 {
                assert_preserves(pipeline, &src, &[input]);
            }
        }
    }

    #[test]
    fn a_cell_set_before_the_chain_is_set_for_every_value() {
        // The digit cleared, the carry's cell set to 4, before the chain.
        let src = format!(",>,[-]>>>>>>>>>,[-]++++<<<<<<<<<<{DIGIT}");
        let p = switched(&src);
        let cells: Vec<SwitchCell> = p.switch_cells(0, 3).collect();
        let [_, digit, carry] = &cells[..] else { unreachable!() };
        for v in 0..256 {
            assert_eq!((digit.touch[v], digit.keep[v], carry.touch[v], carry.keep[v]), (1, 0, 1, 0), "{v}");
        }
        assert_eq!((digit.add[0], digit.add[7], digit.add[11], carry.add[0], carry.add[11]), (0, 7, 21, 4, 3));
        // A read of the carry's cell after its set: its value is not known.
        let p = switched(&format!(",>,[-]>>>>>>>>>,[-]++++,<<<<<<<<<<{DIGIT}"));
        let carry = p.switch_cells(0, 3).nth(2).unwrap();
        assert_eq!((carry.touch[0], carry.keep[11]), (0, 0xff));
    }

    /// Random stretches with chains, sets before some, anywhere on the
    /// tape: the same behaviour as the ifs, the command and cell of a tape
    /// error included.
    #[test]
    fn random_chains_after_sets_keep_behaviour() {
        let mut next = random(0x5e75_u64);
        let (mut switches, mut folded) = (0, 0);
        for _ in 0..3000 {
            let mut src = moves(next(64) as i64 - 4) + ",>,>,>,>,>,>,>,<<<<";
            let pieces = 2 + next(14);
            src += &random_stretch(&mut next, pieces, -4, 9, true).0;
            src += "<<.>>>.";
            let p = before(program(&src));
            let chained = chains_to_switches(p.clone());
            let after = fold_set_cells(chained.clone());
            switches += usize::from(chained != p);
            folded += usize::from(after != chained);
            let input = [3, 0, 200, 1, 7, 5, 9, 0, 4, 255, 2, 6, 1];
            assert_eq!(behaviour_located(&p, &input), behaviour_located(&after, &input), "{src}");
        }
        assert!(switches > 500 && folded > 100, "{switches} {folded}");
    }

    /// The chain of the report: a counter of 1 touches `[p-2]` first, then
    /// `[p+1]` (at the last `+`); from 2 on, `[p+1]` first (at the first).
    /// On a tape of two cells, from cell 1, both are off it (at opposite
    /// ends): which error the program stops with depends on the counter; on
    /// any tape, where `[p+1]` alone is off it, the command does. No one
    /// order of a switch's cells fits: the chain stays ifs.
    #[test]
    fn chains_touching_both_ends_in_orders_that_depend_on_the_counter_stay_ifs() {
        use crate::interp::{self, Config as RunConfig, Outcome};
        let src = ",[-[>+<[-]]<<+>>>+<[-]]";
        let switches = |p: &Program| ops(p).iter().filter(|op| matches!(op, Op::Switch { .. })).count();
        for (tape, want) in [(2, 0), (3, 0), (64, 0)] {
            let p = switch_tables(before(program(src)));
            assert_eq!(switches(&p), want, "tape {tape}");
            let run = |p: &Program, at: usize, input: u8| {
                let prog = Program { insts: [program(&">".repeat(at)).insts, p.insts.clone()].concat(), ..p.clone() };
                let config = RunConfig {
                    tape_cells: tape,
                    left_margin: 0,
                    eof: crate::ir::EofMode::Zero,
                    max_steps: Some(10_000),
                    cell_bits: 8,
                };
                let mut out = Vec::new();
                let outcome: Outcome = interp::run(&prog, &config, &mut &[input][..], &mut out);
                (outcome, out)
            };
            for at in 0..tape.min(4) {
                for input in [0, 1, 2, 3, 200] {
                    assert_eq!(run(&p, at, input), run(&program(src), at, input), "tape {tape}, at {at}, {input}");
                }
            }
        }
        // The carried walk of the report: the same chain in a walk.
        let walk = switch_tables(before(program(">,[[-[>+<[-]]<<+>>>+<[-]]>]")));
        assert_eq!(switches(&walk), 0);
    }

    #[test]
    fn touch_order_follows_the_pairs_and_else_the_text() {
        let pairs = |n: usize, edges: &[(usize, usize)]| {
            let mut first = vec![vec![false; n]; n];
            for &(a, b) in edges {
                first[a][b] = true;
            }
            touch_order(&first)
        };
        assert_eq!(pairs(4, &[]), Some(vec![0, 1, 2, 3]));
        assert_eq!(pairs(4, &[(3, 1)]), Some(vec![0, 2, 3, 1]));
        assert_eq!(pairs(3, &[(1, 2), (2, 1)]), None);
    }
}
