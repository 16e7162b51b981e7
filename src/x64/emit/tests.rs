//! The bytes of small programs, pinned; and programs run in the JIT where
//! a form's correctness is what is at stake.

use super::super::{compile, compile_marked, Target};
use crate::code::{Status, GUARD_BYTES};
use crate::ir::{EofMode, Op, Program};
use crate::parse::parse;
use dynasmrt::DynasmApi;

fn code(src: &str, target: Target) -> Vec<u8> {
    compile(&parse("t.b", src.as_bytes()).unwrap(), target).bytes
}

const GUARDED: Target = Target { eof: EofMode::Unchanged, checked: false, cell_bits: 8, tape_cells: 4096 };
const CHECKED: Target = Target { eof: EofMode::Unchanged, checked: true, cell_bits: 8, tape_cells: 4000 };

#[test]
fn the_same_program_gives_the_same_bytes() {
    assert_eq!(code("+[->+<].", GUARDED), code("+[->+<].", GUARDED));
}

fn code_of(ops: &[Op]) -> Vec<u8> {
    let insts = ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
    compile(&Program { insts, data: vec![] }, GUARDED).bytes
}

#[test]
fn cell_instructions_take_the_shortest_displacement() {
    // add BYTE [rbx], imm8 / [rbx + disp8] / [rbx + disp32]
    assert!(code("+", GUARDED).windows(3).any(|w| w == [0x80, 0x03, 1]), "add byte [rbx], 1");
    let near = code_of(&[Op::Add { off: 2, val: 1 }]);
    assert!(near.windows(4).any(|w| w == [0x80, 0x43, 2, 1]), "add byte [rbx+2], 1");
    let far = code_of(&[Op::Add { off: 300, val: 1 }]);
    assert!(far.windows(7).any(|w| w == [0x80, 0x83, 44, 1, 0, 0, 1]), "add byte [rbx+300], 1");
    // A pointer step: lea rbx, [rbx + disp8].
    assert!(code_of(&[Op::Move(-2)]).windows(4).any(|w| w == [0x48, 0x8D, 0x5B, 0xFE]));
}

#[test]
fn output_checks_for_a_full_buffer_in_ten_bytes() {
    let has = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    // mov [r13], al; add r13, 1; cmp r13, r14; jb +5; call flush_or_leave
    let out = code_of(&[Op::Out { off: 0 }]);
    assert!(has(&out, &[0x41, 0x88, 0x45, 0x00, 0x49, 0x83, 0xC5, 0x01, 0x4D, 0x3B, 0xEE, 0x72, 0x05, 0xE8]));
    // Output known at compile time: lea rax, [r13 + 2]; ... mov byte
    // [r13 + 1], 'i'; add r13, 2: 8-bit displacements and immediate.
    let insts = vec![crate::ir::Inst::new(Op::Print { start: 0, len: 2 }, 0)];
    let print = compile(&Program { insts, data: b"hi".to_vec() }, GUARDED).bytes;
    assert!(has(&print, &[0x49, 0x8D, 0x45, 0x02, 0x49, 0x3B, 0xC6, 0x76, 0x05, 0xE8]));
    assert!(has(&print, &[0x41, 0xC6, 0x45, 0x00, b'h', 0x41, 0xC6, 0x45, 0x01, b'i', 0x49, 0x83, 0xC5, 0x02]));
}

#[test]
fn a_loop_jumps_back_in_two_bytes_where_it_can() {
    let ends_with = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    // cmp byte [rbx], 0; jne rel8: back over a move, an add and an out.
    assert!(ends_with(&code("[>+.]", GUARDED), &[0x80, 0x3B, 0x00, 0x75]));
    // Over 10 of each, past an 8-bit displacement: jne rel32.
    let long = code(&format!("[{}]", ">+.".repeat(10)), GUARDED);
    assert!(ends_with(&long, &[0x80, 0x3B, 0x00, 0x0F, 0x85]) && !ends_with(&long, &[0x80, 0x3B, 0x00, 0x75]));
}

/// The length of the loop test of `src` that jumps past the loop's jump
/// back (a `je` to just after a backward `jne`).
fn loop_test_len(src: &str) -> Option<usize> {
    use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic};
    let code = compile(&parse("t.b", src.as_bytes()).unwrap(), GUARDED);
    let mut decoder = Decoder::with_ip(64, &code.bytes[..code.code_len], 0, DecoderOptions::NONE);
    let mut insts: Vec<Instruction> = Vec::new();
    while decoder.can_decode() {
        insts.push(decoder.decode());
    }
    let back = |i: &&Instruction| i.mnemonic() == Mnemonic::Jne && i.near_branch_target() < i.ip();
    let exits: Vec<u64> = insts.iter().filter(back).map(|i| i.next_ip()).collect();
    let test = insts.iter().find(|i| i.mnemonic() == Mnemonic::Je && exits.contains(&i.near_branch_target()))?;
    Some(test.len())
}

#[test]
fn a_loop_jumps_forward_in_two_bytes_where_it_fits() {
    // je rel8 over a move, an add and an out; over 20 of each (past 127
    // bytes), je rel32; both to just after the jump back.
    assert_eq!(loop_test_len("[>+.]"), Some(2));
    assert_eq!(loop_test_len(&format!("[{}]", ">+.".repeat(20))), Some(6));
}

#[test]
fn tests_right_after_an_add_to_their_cell_take_its_flags() {
    let has = |code: Vec<u8>, bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    // add byte [rbx+2], -1; lea rbx, [rbx+2]; je rel8 (the loop's first test).
    let (add, step) = ([0x80, 0x43, 2, 0xFF], [0x48, 0x8D, 0x5B, 2]);
    let loop_after = [Op::Add { off: 2, val: 255 }, Op::Move(2), Op::Loop { off: 0 }, Op::Move(1), Op::EndLoop];
    assert!(has(code_of(&loop_after), &[&add[..], &step, &[0x74]].concat()));
    // add byte [rbx], -1; mov byte [rbx+1], 7; movzx eax, byte [rbx]; je:
    // no `test` (the set of another cell leaves the flags alone).
    let set = [0xC6, 0x43, 1, 7];
    let if_after = [Op::Add { off: 0, val: 255 }, Op::Set { off: 1, val: 7 }, Op::If { off: 0 }, Op::Out { off: 0 }];
    let if_after = code_of(&[&if_after[..], &[Op::EndIf]].concat());
    assert!(has(if_after, &[&[0x80, 0x03, 0xFF][..], &set, &[0x0F, 0xB6, 0x03, 0x74]].concat()));
    // A set of the cell itself between: the flags are the add's, not the
    // cell's: the if tests the cell.
    let reset = [Op::Add { off: 0, val: 255 }, Op::Set { off: 0, val: 7 }, Op::If { off: 0 }, Op::Out { off: 0 }];
    assert!(has(code_of(&[&reset[..], &[Op::EndIf]].concat()), &[0x85, 0xC0, 0x74]));
    // A register walk (e_digits' `-[+++<<<<-]`): add byte [rbx], -1; je.
    let body = [Op::Add { off: 0, val: 3 }, Op::Add { off: -4, val: 255 }, Op::Move(-4)];
    let walk = [&[Op::Add { off: 0, val: 255 }, Op::Loop { off: 0 }][..], &body, &[Op::EndLoop]].concat();
    let program = Program { insts: walk.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect(), data: vec![] };
    let steps = crate::x64::select::select(&program, GUARDED).steps;
    assert!(matches!(steps[1], crate::x64::select::Step::RegisterWalk(_)), "{steps:?}");
    let code = code_of(&walk);
    assert!(has(code.clone(), &[0x80, 0x03, 0xFF, 0x74]) || has(code, &[0x80, 0x03, 0xFF, 0x0F, 0x84]));
}

#[test]
fn a_multiply_into_a_cleared_cell_stores_the_product() {
    let clear = Op::Set { off: 10, val: 0 };
    let copy = Op::AddMul { off: 10, src: 1, factor: 1, if_nonzero: false };
    let fused = code_of(&[clear, copy]);
    // movzx eax, [rbx+1]; mov [rbx+10], al
    assert!(fused.windows(7).any(|w| w == [0x0f, 0xb6, 0x43, 0x01, 0x88, 0x43, 0x0a]));
    // Apart, or into another cell, they stay two: the clear, an add.
    let apart = code_of(&[clear, Op::Add { off: 2, val: 1 }, copy]);
    assert!(apart.windows(4).any(|w| w == [0xc6, 0x43, 0x0a, 0x00]));
    assert!(apart.windows(3).any(|w| w == [0x00, 0x43, 0x0a]));
    let elsewhere = code_of(&[clear, Op::AddMul { off: 11, src: 1, factor: 1, if_nonzero: false }]);
    assert!(elsewhere.windows(4).any(|w| w == [0xc6, 0x43, 0x0a, 0x00]));
    assert!(elsewhere.windows(3).any(|w| w == [0x00, 0x43, 0x0b]));
}

#[test]
fn a_walk_carrying_a_value_keeps_it_in_eax() {
    let (set, copy) = (|off| Op::Set { off, val: 0 }, |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: false });
    // On more cells than a register walk takes (`select::RegisterWalk`).
    let steps = (1..6).map(|off| Op::Add { off, val: 1 });
    let walk = |src: i32, stride: i32| {
        let ops: Vec<Op> = [Op::Loop { off: 0 }, set(-1), copy(-1, src), set(src)]
            .into_iter()
            .chain(steps.clone())
            .chain([Op::Move(stride), Op::EndLoop])
            .collect();
        code_of(&ops)
    };
    let loads_of_9 = |code: &[u8]| code.windows(4).filter(|w| *w == [0x0f, 0xb6, 0x43, 9]).count();
    // [p-1] = [p+9] and p -= 10: the next iteration reads what this one
    // stored. One load, before the loop, for its two copies of the body
    // (and one in the loop as plain code, after the program, where that
    // load fails off the tape: `Recovery::Restart`).
    assert_eq!(loads_of_9(&walk(9, -10)), 1 + 1);
    // p -= 9: it reads a cell this one did not store, in each copy (and
    // carries nothing: no plain copy).
    assert_eq!(loads_of_9(&walk(9, -9)), 2);
}

#[test]
fn a_walk_handing_cells_on_makes_its_iterations_in_registers() {
    let nz = |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: true };
    let (add, set) = (|off, val| Op::Add { off, val }, |off| Op::Set { off, val: 0 });
    // Faase's frame walk: 4 and 5 become the next iteration's -1 and 0.
    let frame = [nz(4, -1), set(-1), nz(5, 0), set(0), add(4, 1), add(5, 255), Op::Move(5)];
    let code = code_of(&[&[Op::Loop { off: 0 }], &frame[..], &[Op::EndLoop]].concat());
    let count = |bytes: &[u8], disp: u8| {
        // movzx r32, byte [rbx + disp8] (any register), or an add to the
        // byte itself.
        code.windows(bytes.len() + 2)
            .filter(|w| w[..bytes.len()] == *bytes && w[bytes.len()] & 0xc7 == 0x43 && w[bytes.len() + 1] == disp)
            .count()
    };
    // [p-1] is loaded once before the walk (and once more in the plain
    // copy after the program, which runs where a frame is off the tape);
    // [p+4] once in each of the two iterations a round makes, where its
    // sum is made in a register: the only add to the byte in memory is
    // the plain copy's.
    assert_eq!(count(&[0x0f, 0xb6], 0xff), 1 + 1);
    assert_eq!(count(&[0x0f, 0xb6], 4), 2);
    assert_eq!(code.windows(4).filter(|w| *w == [0x80, 0x43, 4, 1]).count(), 1);
    // The two cells it clears, neighbours, in one store of a word:
    // mov word [rbx-1], 0.
    assert_eq!(code.windows(6).filter(|w| *w == [0x66, 0xc7, 0x43, 0xff, 0, 0]).count(), 2);
}

#[test]
fn a_walk_whose_body_reads_its_counter_tests_it_in_eax() {
    // sortbytes' `[[>>+<<-]<]`: [p+2] += [p]; [p] = 0; p -= 1.
    let mul = Op::AddMul { off: 2, src: 0, factor: 1, if_nonzero: false };
    let code = code_of(&[Op::Loop { off: 0 }, mul, Op::Set { off: 0, val: 0 }, Op::Move(-1), Op::EndLoop]);
    // movzx eax, [rbx]; test eax, eax: the entry's test, and those between
    // and after the two copies; no `cmp byte [rbx], 0`.
    let load_test = [0x0f, 0xb6, 0x03, 0x85, 0xc0];
    assert_eq!(code.windows(5).filter(|w| *w == load_test).count(), 3);
    assert_eq!(code.windows(3).filter(|w| *w == [0x80, 0x3b, 0x00]).count(), 0);
    // The copies add eax to [p+2] without loading [p] themselves.
    assert_eq!(code.windows(3).filter(|w| *w == [0x0f, 0xb6, 0x03]).count(), 3);
}

#[test]
fn a_walk_clears_what_the_next_iteration_overwrites_on_the_way_out() {
    let (set, copy) = (|off| Op::Set { off, val: 0 }, |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: false });
    // mandelbrot's shift: the next iteration's copy overwrites [p+1].
    let shift = [set(10), copy(10, 1), set(1), Op::Move(-9)];
    // In the code: no clear of [p+1] in the loop, one of [p+10] after.
    let code = code_of(&[&[Op::Loop { off: 0 }], &shift[..], &[Op::EndLoop]].concat());
    assert!(!code.windows(4).any(|w| w == [0xc6, 0x43, 1, 0]), "mov byte [rbx+1], 0");
    assert_eq!(code.windows(4).filter(|w| *w == [0xc6, 0x43, 10, 0]).count(), 1);
}

#[test]
fn runs_keep_in_registers_the_cells_they_read_back() {
    let (add, set) = (|off, val| Op::Add { off, val }, |off, val| Op::Set { off, val });
    let mul = |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: false };
    let insts = |ops: &[Op]| ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect::<Vec<_>>();
    // mandelbrot's: [p] is computed, then read three times; [p+2] is
    // only read, then cleared and copied into; [p+3] added to once.
    let digit = [add(0, 255), mul(0, 2), set(2, 0), mul(2, 0), mul(3, 0), set(0, 1)];

    let code = code_of(&digit);
    // movzx esi, [rbx] once; [p+2] = [p] stored from sil; [p] = 1 at
    // the end, as an immediate; no load of [p] after it was changed.
    assert_eq!(code.windows(3).filter(|w| *w == [0x0f, 0xb6, 0x33]).count(), 1);
    assert!(code.windows(4).any(|w| w == [0x40, 0x88, 0x73, 2]), "mov [rbx+2], sil");
    assert!(code.windows(3).any(|w| w == [0xc6, 0x03, 1]), "mov byte [rbx], 1");
    assert!(!code.windows(3).any(|w| w == [0x0f, 0xb6, 0x03]), "no movzx eax, [rbx]");
    // The listing shows each instruction's part: one start each, in
    // order; the add's part and the multiply's are not empty.
    let insts = crate::ir::Program { insts: insts(&digit), data: vec![] };
    let (_, starts) = compile_marked(&insts, GUARDED);
    assert_eq!(starts.len(), digit.len() + 1);
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    assert!(starts[0] < starts[1] && starts[1] < starts[2]);
    // A computed value left at the end is stored from its register.
    let computed = code_of(&[add(0, 255), mul(0, 2), set(2, 0)]);
    assert!(computed.windows(3).any(|w| w == [0x40, 0x88, 0x33]), "mov [rbx], sil");
}

#[test]
fn a_switch_after_a_run_takes_its_counter_from_the_register() {
    // fib.b's digit: [p+2] = [p+1] + [p+3] made in esi, then a digit
    // chain on it (a switch not known on the tape: bounds checked).
    let optimised = |src: &str| {
        let config = crate::opt::Config {
            level: crate::opt::Level::O2,
            tape_cells: 4096,
            left_margin: 0,
            eval_steps: 0,
            cell_bits: 8,
        };
        let program = crate::opt::optimise(parse("t.b", src.as_bytes()).unwrap(), config);
        assert!(program.ops().any(|op| matches!(op, Op::Switch { .. })), "{src}");
        compile(&program, GUARDED).bytes
    };
    let code = optimised(">,>,>,<[-]<[->+<]>>[-<<+>+>]<[->+<[->+<[->+<[-]>>+<<]]]>.>.");
    assert!(code.windows(2).any(|w| w == [0x89, 0xf0]), "mov eax, esi");
    assert!(!code.windows(4).any(|w| w == [0x0f, 0xb6, 0x43, 2]), "no movzx eax, [rbx+2]");
    // Where a `lea` made it (5 + [p+1]: bits above the byte), zero-extended.
    let code = optimised(">,>,>,<[-]+++++<[->+<]>>[-<<+>+>]<[->+<[->+<[->+<[-]>>+<<]]]>.>.");
    assert!(code.windows(4).any(|w| w == [0x40, 0x0f, 0xb6, 0xc6]), "movzx eax, sil");
    // Without the run (the counter read from input), loaded.
    let code = optimised(">,>,>,<[->+<[->+<[->+<[-]>>+<<]]]>.>.");
    assert!(code.windows(4).any(|w| w == [0x0f, 0xb6, 0x43, 2]), "movzx eax, [rbx+2]");
}

/// d = 3d through temporaries at `t1` and `t2`, each added to from d and
/// moved back (`Run::zeros`).
fn tripling(t1: i32, t2: i32) -> Vec<Op> {
    let mul = |off, src, factor| Op::AddMul { off, src, factor, if_nonzero: false };
    let set = |off| Op::Set { off, val: 0 };
    vec![mul(t1, 0, 1), mul(t2, 0, 2), set(0), mul(0, t1, 1), set(t1), mul(0, t2, 1), set(t2)]
}

/// The code of a walk by `stride` whose body is `body`.
fn walk_code(body: &[Op], stride: i32) -> Vec<u8> {
    code_of(&[&[Op::Loop { off: 0 }], body, &[Op::Move(stride), Op::EndLoop]].concat())
}

#[test]
fn a_run_in_a_loop_tests_its_temporaries_and_skips_them_where_zero() {
    let mul = |off, src, factor| Op::AddMul { off, src, factor, if_nonzero: false };
    let set = |off| Op::Set { off, val: 0 };
    // d = 3d through t1 and t2 ([p+1], [p+2]), walking on by 3.
    let body = tripling(1, 2);
    let code = walk_code(&body, 3);
    let count = |bytes: &[u8]| code.windows(bytes.len()).filter(|w| *w == bytes).count();
    // movzx eax, [rbx+1]; or al, [rbx+2]; jne: before each copy of the
    // body (the loop is unrolled once); lea rbx, [rbx+3] the move.
    let tests: Vec<usize> =
        (0..code.len() - 7).filter(|&k| code[k..k + 7] == [0x0f, 0xb6, 0x43, 0x01, 0x0a, 0x43, 0x02]).collect();
    assert_eq!(tests.len(), 2);
    // Its `jne` goes to the run as it is, after the program: the copy
    // without them falls through to the move, no jump over the other.
    let moves: Vec<usize> = (0..code.len() - 4).filter(|&k| code[k..k + 4] == [0x48, 0x8d, 0x5b, 0x03]).collect();
    for k in tests {
        let target = match code[k + 7] {
            0x75 => (k as isize + 9 + code[k + 8] as i8 as isize) as usize,
            _ => {
                assert_eq!(code[k + 7..k + 9], [0x0f, 0x85], "jne");
                (k as isize + 13 + i32::from_le_bytes(code[k + 9..k + 13].try_into().unwrap()) as isize) as usize
            }
        };
        assert!(target > *moves.last().unwrap(), "the run as it is after the loop");
    }
    // The temporaries' loads and clears only where they are not all 0:
    // once for each copy of the body, not twice.
    assert_eq!(count(&[0xc6, 0x43, 0x01, 0x00]), 2, "mov byte [rbx+1], 0");
    assert_eq!(count(&[0xc6, 0x43, 0x02, 0x00]), 2, "mov byte [rbx+2], 0");
    // Once only, the same run makes no test.
    assert_eq!(code_of(&body).windows(2).filter(|w| *w == [0x0a, 0x43]).count(), 0);
    // One temporary is compared: cmp byte [rbx+2], 0; jne (a `movzx`
    // would leave the flags as they were).
    let one = [mul(2, 0, 3), set(0), mul(0, 2, 1), set(2)];
    let code = walk_code(&one, 3);
    assert_eq!(code.windows(5).filter(|w| *w == [0x80, 0x7b, 0x02, 0x00, 0x75]).count(), 2);
}

/// A walk in blocks (its temporaries in arrays 100 and 200 cells on): `mov
/// r11, rbx` before the loop; in each iteration `cmp rbx, r11; jae` (the
/// block's end) and the run without its temporaries; after the program,
/// the test of 6 frames' temporaries at once (two windows of 16 bytes, the
/// frames' bytes 0x9249 of them), the new end `lea r11, [rbx + 18]`, and
/// the iteration's own test, once.
#[test]
fn a_walk_in_blocks_tests_its_temporaries_16_bytes_at_a_time() {
    let code = walk_code(&tripling(100, 200), 3);
    let at = |bytes: &[u8]| code.windows(bytes.len()).position(|w| w == bytes);
    let count = |bytes: &[u8]| code.windows(bytes.len()).filter(|w| *w == bytes).count();
    let first = |bytes: &[u8], name: &str| at(bytes).unwrap_or_else(|| panic!("{name}"));
    let (limit, compare) = (first(&[0x49, 0x89, 0xDB], "mov r11, rbx"), first(&[0x49, 0x3B, 0xDB], "cmp rbx, r11"));
    assert!(matches!(code[compare + 3..compare + 5], [0x0F, 0x83] | [0x73, _]), "jae");
    let step = first(&[0x48, 0x8D, 0x5B, 0x03], "lea rbx, [rbx + 3]");
    let block = first(&[0xF3, 0x0F, 0x6F, 0x43, 100], "movdqu xmm0, [rbx + 100]");
    assert!(limit < compare && compare < step && step < block, "the block's test after the program");
    first(&[0xF3, 0x0F, 0x6F, 0x93, 200, 0, 0, 0], "movdqu xmm2, [rbx + 200]");
    first(&[0x25, 0x49, 0x92, 0, 0, 0x3D, 0x49, 0x92, 0, 0], "and eax, 0x9249; cmp eax, 0x9249");
    first(&[0x4C, 0x8D, 0x5B, 0x12], "lea r11, [rbx + 18]");
    // movzx eax, [rbx+100]; or al, [rbx+200]: once, after the block's test.
    let own = [0x0f, 0xb6, 0x43, 100, 0x0a, 0x83, 200, 0, 0, 0];
    assert_eq!((count(&own), at(&own) > Some(block)), (1, true));
    // The temporaries' clears only in the run as it is.
    assert_eq!(count(&[0xc6, 0x43, 100, 0x00]), 1, "mov byte [rbx+100], 0");
}

#[test]
fn a_walk_compares_with_the_tape_only_the_end_its_test_cell_does_not_prove() {
    let count = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).filter(|w| *w == bytes).count();
    // cmp rcx, r15 (the tape's start); cmp rcx, [r12 + TAPE_END].
    let (start, end) = ([0x49, 0x3B, 0xCF], [0x49, 0x3B, 0x4C, 0x24, crate::code::rt_offset::TAPE_END as u8]);
    // e_digits' `-[+++<<<<-]` and its mirror, their cells from -4 to 0 and
    // from 0 to 4: the end they walk towards is the pointer's limit, the
    // other their test cell, just read. With a cell one beyond the test
    // (`-[+++>+<<<<<-]`), that end is compared.
    for (stride, beyond, compares) in
        [(-4, None, [0, 0]), (4, None, [0, 0]), (-4, Some(1), [0, 1]), (4, Some(-1), [1, 0])]
    {
        let mut body = vec![Op::Add { off: 0, val: 3 }, Op::Add { off: stride, val: 255 }, Op::Move(stride)];
        if let Some(off) = beyond {
            body.insert(1, Op::Add { off, val: 1 });
        }
        let walk = [&[Op::Add { off: 0, val: 255 }, Op::Loop { off: 0 }][..], &body, &[Op::EndLoop]].concat();
        let program = Program { insts: walk.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect(), data: vec![] };
        let steps = crate::x64::select::select(&program, GUARDED).steps;
        assert!(matches!(steps[1], crate::x64::select::Step::RegisterWalk(_)), "{steps:?}");
        let code = code_of(&walk);
        assert_eq!([count(&code, &start), count(&code, &end)], compares, "stride {stride}, beyond {beyond:?}");
    }
}

#[test]
fn checked_code_compares_with_the_tape_bounds() {
    assert!(code("+", CHECKED).len() > code("+", GUARDED).len());
    assert!(!Target::new(EofMode::Zero, 65536).checked);
    assert!(Target::new(EofMode::Zero, 100).checked);
}

#[test]
fn far_accesses_are_checked_even_with_guards() {
    let p = Program { insts: vec![crate::ir::Inst::new(Op::Add { off: GUARD_BYTES as i32, val: 1 }, 0)], data: vec![] };
    let far = compile(&p, GUARDED).bytes.len();
    let p = Program { insts: vec![crate::ir::Inst::new(Op::Add { off: 5, val: 1 }, 0)], data: vec![] };
    let near = compile(&p, GUARDED).bytes.len();
    assert!(far > near);
}

/// Runs `ops` in the JIT on a tape of 64 KiB with no input; what it
/// printed and how it ended.
fn run_ops(ops: &[Op]) -> (Vec<u8>, Status) {
    let insts = ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
    let code = compile(&Program { insts, data: vec![] }, GUARDED);
    let loaded = crate::jit::LoadedCode::load(&code).unwrap();
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let exit = loaded.run_with(65536, crate::jit::Fds { input: -1, output: fds[1] }).unwrap();
    let mut out = vec![0u8; 64];
    // SAFETY: both are the pipe's own descriptors; out has room for 64 bytes.
    let n = unsafe {
        libc::close(fds[1]);
        let n = libc::read(fds[0], out.as_mut_ptr().cast(), out.len());
        libc::close(fds[0]);
        n
    };
    out.truncate(n.max(0) as usize);
    (out, exit.status)
}

#[test]
fn an_if_after_a_run_reads_a_cell_left_constant_as_the_constant() {
    // [p] is computed, read back (so kept in a register), then set to 0
    // (a constant, stored as an immediate): the if must see 0, not the
    // register's earlier 255.
    let ops = [
        Op::Add { off: 0, val: 255 },
        Op::AddMul { off: 1, src: 0, factor: 1, if_nonzero: false },
        Op::Set { off: 0, val: 0 },
        Op::If { off: 0 },
        Op::Out { off: 1 },
        Op::EndIf,
        Op::Out { off: 0 },
    ];
    assert_eq!(run_ops(&ops), (vec![0], Status::Ok));
}

/// What the code generator did before selection was a room of its own: it
/// chose a small loop's carried cell by emitting the body twice, without
/// and with the cell in eax, and keeping it if the code came out shorter
/// and still left it there. Selection now derives it from eax's
/// transitions; on many random walks, it must choose as that did.
#[test]
fn the_carried_cell_is_the_one_a_dry_run_of_the_emitter_would_choose() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let (mut chosen, mut with_runs) = (0, 0);
    for _ in 0..20000 {
        let mut ops = vec![Op::Loop { off: 0 }];
        let mut open_if = false;
        for _ in 0..next(10) {
            let off = next(7) as i32 - 3;
            let op = match next(7) {
                0 => Op::Add { off, val: [1, 255, 0][next(3) as usize] },
                1 | 2 => Op::Set { off, val: [0, 0, 5][next(3) as usize] },
                3 | 4 => Op::AddMul {
                    off,
                    src: next(7) as i32 - 3,
                    factor: [1, 1, 2, 255][next(4) as usize],
                    if_nonzero: false,
                },
                5 if !open_if => Op::If { off },
                _ if open_if => Op::EndIf,
                _ => Op::Set { off, val: 0 },
            };
            open_if = (open_if || matches!(op, Op::If { .. })) && op != Op::EndIf;
            ops.push(op);
        }
        if open_if {
            ops.push(Op::EndIf);
        }
        ops.extend([Op::Move(next(5) as i32 - 5), Op::EndLoop]);
        let program = Program { insts: ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect(), data: vec![] };
        let steps = crate::x64::select::select(&program, GUARDED).steps;
        let [crate::x64::select::Step::SmallLoop(l)] = &steps[..] else { continue };
        let dry_run = |start| {
            let mut emitter = super::Emitter::new(GUARDED, &program, super::Jumps::default());
            emitter.in_eax = start;
            emitter.straight(&l.second, &program);
            (emitter.ops.offset().0, emitter.in_eax)
        };
        let (plain, left) = dry_run(crate::x64::select::EaxCells::NONE);
        // The cell left in eax if it stays there, or the loop's own cell
        // (its tests load it), whichever makes less code, if less.
        let left_in_eax = left.0.into_iter().flatten().next().and_then(|cell| {
            let (carrying, still) = dry_run(crate::x64::select::EaxCells::only(cell));
            still.holds(cell).then_some((carrying, cell))
        });
        let tested = (dry_run(crate::x64::select::EaxCells::only(0)).0, 0);
        let expected = [left_in_eax, Some(tested)]
            .into_iter()
            .flatten()
            .filter(|&(carrying, _)| carrying < plain)
            .min_by_key(|&(carrying, _)| carrying)
            .map(|(_, cell)| cell);
        assert_eq!(l.carried, expected, "{ops:?}");
        chosen += usize::from(expected.is_some());
        with_runs += usize::from(l.second.iter().any(|piece| matches!(piece, crate::x64::select::Straight::Run(_))));
    }
    // The walks were not all without a carried cell, nor without runs.
    assert!(chosen > 100 && with_runs > 100, "{chosen} {with_runs}");
}

/// The bug behind the straight-line benchmark's crash under `--jit`: a
/// short constant `Print` that filled the output buffer exactly left
/// `a_out` at `out_end`, and the next `.` stored its byte one past the
/// 64 KiB buffer (a SIGSEGV, or "tape underflow" where the tape's guard
/// came next) before it compared. `9[>-[.>(31 known bytes)<-]<-]`: each
/// pass prints 32 bytes, so after 2048 passes a print ends at 65536.
#[test]
fn a_print_that_fills_the_output_buffer_flushes_it_before_the_next_out() {
    let data: Vec<u8> = (0..31).map(|i| b'a' + i).collect();
    let ops = [
        Op::Set { off: 0, val: 9 },
        Op::Loop { off: 0 },
        Op::Add { off: 1, val: 255 },
        Op::Loop { off: 1 },
        Op::Out { off: 1 },
        Op::Print { start: 0, len: data.len() as u32 },
        Op::Add { off: 1, val: 255 },
        Op::EndLoop,
        Op::Add { off: 0, val: 255 },
        Op::EndLoop,
    ];
    let insts = ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
    let code = compile(&Program { insts, data: data.clone() }, GUARDED);
    let loaded = crate::jit::LoadedCode::load(&code).unwrap();
    let mut file = tempfile::tempfile().unwrap();
    let fds = crate::jit::Fds { input: -1, output: std::os::fd::AsRawFd::as_raw_fd(&file) };
    let exit = loaded.run_buffered(65536, 0, fds, crate::host::Buffering::Full).unwrap();
    let mut out = Vec::new();
    std::io::Seek::rewind(&mut file).unwrap();
    std::io::Read::read_to_end(&mut file, &mut out).unwrap();
    let expected: Vec<u8> = (0..9).flat_map(|_| (1..=255u8).rev()).flat_map(|c| [&[c][..], &data].concat()).collect();
    assert_eq!(expected.len(), 9 * 255 * 32);
    assert_eq!(exit.status, Status::Ok);
    assert!(out == expected, "{} bytes out, {} expected", out.len(), expected.len());
}

/// At 16 and 32 bits: word and dword operations, offsets and moves scaled
/// by the cell's size, and no form that computes with bytes.
#[test]
fn wide_cells_get_word_and_dword_operations() {
    let wide = |bits, ops: &[Op]| {
        let insts = ops.iter().map(|&op| crate::ir::Inst::new(op, 0)).collect();
        compile(&Program { insts, data: vec![] }, Target { cell_bits: bits, ..GUARDED }).bytes
    };
    let has = |code: Vec<u8>, bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    // add WORD [rbx+4], -1 (cell 2); add DWORD [rbx+8], -1
    assert!(has(wide(16, &[Op::Add { off: 2, val: 255 }]), &[0x66, 0x83, 0x43, 4, 0xFF]));
    assert!(has(wide(32, &[Op::Add { off: 2, val: 255 }]), &[0x83, 0x43, 8, 0xFF]));
    // mov WORD [rbx], 0xffff; mov DWORD [rbx], 0xffffffff: a set of -1.
    assert!(has(wide(16, &[Op::Set { off: 0, val: 255 }]), &[0x66, 0xC7, 0x03, 0xFF, 0xFF]));
    assert!(has(wide(32, &[Op::Set { off: 0, val: 255 }]), &[0xC7, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]));
    // lea rbx, [rbx-6]: three 16-bit cells left.
    assert!(has(wide(16, &[Op::Move(-3)]), &[0x48, 0x8D, 0x5B, 0xFA]));
    // A loop's test compares the whole cell: cmp WORD [rbx], 0.
    assert!(has(wide(16, &[Op::Loop { off: 0 }, Op::Add { off: 0, val: 255 }, Op::EndLoop]), &[0x66, 0x83, 0x3B, 0]));
    // The 8-bit code of the same program has none of them.
    assert!(!has(code_of(&[Op::Add { off: 2, val: 255 }]), &[0x66, 0x83]));
}

/// Where `insts` stop with a tape error on a tape of 64 KiB in the JIT,
/// held to the interpreter's answer.
fn fault_of(insts: Vec<crate::ir::Inst>, target: Target) -> crate::code::TapeFault {
    fault_on(65536, insts, target)
}

/// `fault_of` on a tape of `cells` cells.
fn fault_on(cells: usize, insts: Vec<crate::ir::Inst>, target: Target) -> crate::code::TapeFault {
    let program = Program { insts, data: vec![] };
    let code = compile(&program, target);
    let loaded = crate::jit::LoadedCode::load(&code).unwrap();
    let end = loaded.run_with(cells, crate::jit::Fds { input: -1, output: -1 }).unwrap();
    let config = crate::interp::Config {
        tape_cells: cells,
        left_margin: 0,
        eof: EofMode::Unchanged,
        max_steps: Some(1_000_000),
        cell_bits: 8,
    };
    let (_, interp) = crate::interp::run_located(
        &program,
        &config,
        &mut &b""[..],
        &mut Vec::new(),
        &mut Vec::new(),
        crate::host::Buffering::Full,
    );
    assert_eq!(end.fault, interp, "the JIT and the interpreter");
    end.fault.expect("a tape error")
}

/// A multiply whose source is off the tape (its guarding `if` dropped)
/// fails at the command that reads the source (`Inst::next_at`, the
/// multiply loop's `[`), whichever form its code takes; one whose target is
/// off, at the target's command.
#[test]
fn a_multiply_fails_where_its_source_is_read_or_its_target_touched() {
    use crate::code::TapeFault;
    use crate::ir::Inst;
    let (src_at, at) = (2, 5);
    let mul = |off, src| Inst::multiply(off, src, 3, at, src_at);
    let op = |op| Inst::new(op, 0);
    let source_off = TapeFault { cell: -1, at: Some(src_at) };
    for target in [GUARDED, CHECKED] {
        // Plain.
        assert_eq!(fault_of(vec![mul(1, -1)], target), source_off);
        assert_eq!(fault_of(vec![mul(-1, 0)], target), TapeFault { cell: -1, at: Some(at) });
        // A copy into a cleared cell: the store is the clear's.
        let clear = |off| Inst::new(Op::Set { off, val: 0 }, 7);
        assert_eq!(fault_of(vec![clear(1), mul(1, -1)], target), source_off);
        assert_eq!(fault_of(vec![clear(-1), mul(-1, 0)], target), TapeFault { cell: -1, at: Some(7) });
        // In a run that keeps its target in a register.
        assert_eq!(fault_of(vec![op(Op::Add { off: 1, val: 1 }), mul(1, -1)], target), source_off);
        // In a loop (in registers when guarded, unrolled when checked),
        // the second iteration's.
        let walk = vec![
            op(Op::Set { off: 0, val: 1 }),
            op(Op::Set { off: 1, val: 1 }),
            op(Op::Move(1)),
            op(Op::Loop { off: 0 }),
            mul(0, -1),
            op(Op::Move(-1)),
            op(Op::EndLoop),
        ];
        assert_eq!(fault_of(walk, target), TapeFault { cell: -1, at: Some(src_at) });
        let counted = vec![
            op(Op::Set { off: 0, val: 2 }),
            op(Op::Loop { off: 0 }),
            op(Op::Add { off: 0, val: 255 }),
            mul(1, -1),
            op(Op::EndLoop),
        ];
        assert_eq!(fault_of(counted, target), source_off);
    }
}

/// A product kept in a register past another multiply's touch of its
/// target (`mul [2] += [1] if; mul [3] += [1] * 0 if; ...`, the body of
/// `[->+>+++<<]>[-<+>]>[-]`): off the tape, the program's error is the
/// product's cell at its multiply where the source is not zero, which
/// the touch's recovery checks first; else the touch's, else a later
/// read's or store's. Both ends of the tape, both sources.
#[test]
fn a_carried_product_fails_before_a_later_multiplys_target() {
    use crate::ir::Inst;
    // The run on cells pos + d, pos + 2d, pos + 3d (d = 1 or -1).
    let run = |pos: i32, d: i32, source: u8| {
        let op = |op, at| Inst::new(op, at);
        vec![
            op(Op::Set { off: pos + d, val: source }, 1),
            op(Op::Move(pos), 2),
            Inst::multiply(2 * d, d, 1, 3, 4).if_nonzero(),
            Inst::multiply(3 * d, d, 0, 5, 4).if_nonzero(),
            op(Op::Set { off: d, val: 0 }, 6),
            Inst::multiply(d, 2 * d, 1, 7, 8),
            op(Op::Set { off: 2 * d, val: 0 }, 9),
            op(Op::Set { off: 3 * d, val: 0 }, 10),
        ]
    };
    at_both_ends(|target, d, off_tape| {
        let cells = target.tape_cells;
        for source in [5, 0] {
            // The product's cell off: at its multiply, else at the copy's
            // read of it.
            let fault = fault_on(cells, run(off_tape - 2 * d, d, source), target);
            let at = if source == 0 { 8 } else { 3 };
            assert_eq!((fault.cell, fault.at), (i64::from(off_tape), Some(at)), "{target:?} {d} {source}");
            // Only the touched cell off: at the touch, else at its set.
            let fault = fault_on(cells, run(off_tape - 3 * d, d, source), target);
            let at = if source == 0 { 10 } else { 5 };
            assert_eq!((fault.cell, fault.at), (i64::from(off_tape), Some(at)), "{target:?} {d} {source}");
        }
    });
    // The later multiply's target beyond the guard area: its explicit
    // check's way out checks the product's cell on its own.
    let far = GUARD_BYTES as i32;
    let cells = GUARD_BYTES + 8192;
    let target = Target { tape_cells: cells, ..GUARDED };
    for d in [1, -1] {
        let off_tape = if d == 1 { cells as i32 } else { -1 };
        for source in [5, 0] {
            let mut insts = run(off_tape - 2 * d, d, source);
            insts[3] = Inst::multiply(far * d, d, 0, 5, 4).if_nonzero();
            insts[7] = Inst::new(Op::Set { off: far * d, val: 0 }, 10);
            let fault = fault_on(cells, insts, target);
            let at = if source == 0 { 8 } else { 3 };
            assert_eq!((fault.cell, fault.at), (i64::from(off_tape), Some(at)), "{d} {source}");
        }
    }
}

/// A multiply by 1 that reads its source for the last time hands the
/// source's register on (`Run::last_reads`): no copy made, into a cell
/// holding 0 or as a carried product, which fails where the program does.
#[test]
fn a_value_moved_on_keeps_its_register() {
    use crate::ir::Inst;
    use crate::opt::testing::{add, mul, set};
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};
    // `[p+4] = [p]; [p] = 1; [p] += [p+4] * 2; [p+8] = [p+4] if nonzero;
    // [p+4] = 0`, after the three cells' uses: the carry walk's first
    // steps, in no register-to-register move.
    let ops = [
        add(4, 1),
        add(8, 1),
        add(0, 3),
        set(4, 0),
        mul(4, 0, 1),
        set(0, 1),
        mul(0, 4, 2),
        set(8, 0),
        Op::AddMul { off: 8, src: 4, factor: 1, if_nonzero: true },
        set(4, 0),
        add(8, 1),
    ];
    let insts = ops.iter().map(|&op| Inst::new(op, 0)).collect();
    let code = compile(&Program { insts, data: vec![] }, GUARDED);
    let mut decoder = Decoder::with_ip(64, &code.bytes[..code.code_len], 0, DecoderOptions::NONE);
    let (mut moves, mut leas) = (0, 0);
    let gpr32 = iced_x86::Register::EAX as u32..=iced_x86::Register::R15D as u32;
    while decoder.can_decode() {
        let inst = decoder.decode();
        // Between the cells' 32-bit registers (the prologue's are 64-bit).
        let cells = inst.op_count() == 2
            && inst.op0_kind() == OpKind::Register
            && gpr32.contains(&(inst.op0_register() as u32));
        moves += usize::from(cells && inst.mnemonic() == Mnemonic::Mov && inst.op1_kind() == OpKind::Register);
        leas += usize::from(cells && inst.mnemonic() == Mnemonic::Lea);
    }
    // (`[p] = 1 + [p+4] * 2` is a lea.)
    assert_eq!((moves, leas), (0, 1));
    // The product carried in the handed register: off the tape, it fails
    // at its multiply, or (a zero source) at the read of it.
    let run = |pos: i32, d: i32, source: u8| {
        let op = |op, at| Inst::new(op, at);
        vec![
            op(Op::Set { off: pos + d, val: source }, 1),
            op(Op::Move(pos), 2),
            op(Op::Add { off: d, val: 1 }, 3),
            Inst::multiply(2 * d, d, 1, 4, 5).if_nonzero(),
            op(Op::Set { off: d, val: 0 }, 6),
            Inst::multiply(d, 2 * d, 1, 7, 8),
            op(Op::Set { off: 2 * d, val: 0 }, 9),
        ]
    };
    at_both_ends(|target, d, off_tape| {
        for source in [5, 255] {
            let fault = fault_on(target.tape_cells, run(off_tape - 2 * d, d, source), target);
            let at = if source == 255 { 8 } else { 4 };
            assert_eq!((fault.cell, fault.at), (i64::from(off_tape), Some(at)), "{target:?} {d} {source}");
        }
    });
}

/// `check(target, d, off_tape)` on a guarded and a checked tape, each way
/// (`d` 1 or -1), `off_tape` the first cell off the tape that way.
fn at_both_ends(mut check: impl FnMut(Target, i32, i32)) {
    for target in [GUARDED, CHECKED] {
        for d in [1, -1] {
            check(target, d, if d == 1 { target.tape_cells as i32 } else { -1 });
        }
    }
}

/// A walk that a scan back returns along keeps the cell it tests first in
/// r11 (`mov r11, rbx`, or `lea r11, [rbx + test]` where it tests a cell
/// beside it), from which the scan back jumps to the cell before:
/// `[>[-]>>]<<<[<<<]`.
#[test]
fn a_walk_keeps_where_it_starts_for_the_scan_back() {
    let walk = |test: i32, back: i32| {
        code_of(&[
            Op::In { off: 0 },
            Op::Loop { off: test },
            Op::Set { off: 1, val: 0 },
            Op::Move(3),
            Op::EndLoop,
            Op::Move(back),
            Op::Scan { stride: -3, value: 0 },
        ])
    };
    let has = |bytes: &[u8], want: &[u8]| bytes.windows(want.len()).any(|w| w == want);
    let bytes = walk(0, -3);
    assert!(has(&bytes, &[0x49, 0x89, 0xDB]), "mov r11, rbx");
    assert!(has(&bytes, &[0x49, 0x8D, 0x5B, 0xFD]), "lea rbx, [r11 - 3]");
    let bytes = walk(2, -1);
    assert!(has(&bytes, &[0x4C, 0x8D, 0x5B, 0x02]), "lea r11, [rbx + 2]");
    assert!(has(&bytes, &[0x49, 0x8D, 0x5B, 0xFD]), "lea rbx, [r11 - 3]");
    // The body writes the cell it tests (`set [p+1]` with the test's cell
    // at p+1): no jump back.
    let bytes = walk(1, -2);
    assert!(!has(&bytes, &[0x49, 0x8D, 0x5B, 0xFD]), "no lea rbx, [r11 - 3]");
}

/// A scan back goes to the cell before where the scan out started with
/// `lea rbx, [r11 + disp8]`: 4 bytes, where dynasm took 7; a wide scan's
/// loads take 8-bit displacements too.
#[test]
fn scans_take_8_bit_displacements() {
    use crate::ir::Inst;
    let insts = vec![Inst::scan(2, 0, 10, 11), Inst::new(Op::Move(-2), 0), Inst::scan(-2, 0, 20, 21)];
    let bytes = compile(&Program { insts, data: vec![] }, GUARDED).bytes;
    assert!(bytes.windows(4).any(|w| w == [0x49, 0x8D, 0x5B, 0xFE]), "lea rbx, [r11 - 2]");
    // Beyond 8 bits, 32 (7 bytes, no SIB byte).
    let insts = vec![Inst::scan(200, 0, 10, 11), Inst::new(Op::Move(-200), 0), Inst::scan(-200, 0, 20, 21)];
    let bytes = compile(&Program { insts, data: vec![] }, GUARDED).bytes;
    let far = [&[0x49, 0x8D, 0x9B][..], &(-200i32).to_le_bytes()].concat();
    assert!(bytes.windows(7).any(|w| w == far), "lea rbx, [r11 - 200]");
    // The four blocks a wide scan compares at once: movdqu xmm0, [rbx +
    // 16] ... xmm4, [rbx + 64], 5 bytes each, where dynasm took 8.
    let insts = vec![Inst::scan(1, 0, 10, 11)];
    let bytes = compile(&Program { insts, data: vec![] }, GUARDED).bytes;
    for (xmm, disp) in [(0u8, 16u8), (2, 32), (3, 48), (4, 64)] {
        let load = [0xF3, 0x0F, 0x6F, 0x43 | xmm << 3, disp];
        assert!(bytes.windows(5).any(|w| w == load), "movdqu xmm{xmm}, [rbx + {disp}]");
    }
}

/// A scan back that may start behind where the scan out started does not
/// resume there: its first cell is its own `[`'s, the later ones its `]`'s.
#[test]
fn a_scan_back_behind_the_start_fails_at_its_own_first_test() {
    use crate::code::TapeFault;
    use crate::ir::Inst;
    let op = |op| Inst::new(op, 0);
    // Out from cell `start` (zero: it stops there), back by 3 to `start - 3`,
    // set to `back_cell`, then the scan back (at 20, later steps at 21).
    let program = |start, back_cell| {
        vec![
            op(Op::Move(start)),
            Inst::scan(3, 0, 10, 11),
            op(Op::Set { off: -3, val: back_cell }),
            op(Op::Move(-3)),
            Inst::scan(-3, 0, 20, 21),
        ]
    };
    for target in [GUARDED, CHECKED] {
        // Its first cell is on the tape, the next one not.
        assert_eq!(fault_of(program(4, 1), target), TapeFault { cell: -2, at: Some(21) });
    }
    // Its first cell off the tape: the set is not there (a scan from cell
    // 0 that stops where it starts).
    let first_off = vec![Inst::scan(3, 0, 10, 11), op(Op::Move(-3)), Inst::scan(-3, 0, 20, 21)];
    for target in [GUARDED, CHECKED] {
        assert_eq!(fault_of(first_off.clone(), target), TapeFault { cell: -3, at: Some(20) });
    }
}

/// A scan of stride 1 whose 16-cell blocks end exactly at the tape's end:
/// the cell past it is a later step's (the `]`), not the scan's first.
#[test]
fn a_vector_scan_ending_at_the_tape_end_fails_at_a_later_step() {
    use crate::code::TapeFault;
    use crate::ir::Inst;
    let cells = 4096;
    for (stride, start) in [(1, 16), (-1, cells as i32 - 17)] {
        // Every cell the scan passes is non-zero.
        let mut insts: Vec<Inst> = (0..cells as i32).map(|off| Inst::new(Op::Set { off, val: 1 }, 0)).collect();
        insts.extend([Inst::new(Op::Move(start), 0), Inst::scan(stride, 0, 10, 11)]);
        let end = if stride > 0 { cells as i64 } else { -1 };
        for target in [GUARDED, CHECKED] {
            assert_eq!(fault_on(cells, insts.clone(), target), TapeFault { cell: end, at: Some(11) }, "{stride}");
        }
    }
}

/// Scans of strides 1 to 4 test their first cells one at a time, then 16
/// bytes at a time, then one at a time again near the tape's ends: each way
/// out must leave the pointer on the cell found, whichever way it looks.
/// The bytes between a strided scan's cells hold 0, the value of some
/// scans: the search must not stop on them.
#[test]
fn short_scans_stop_on_the_cell_found_at_every_length() {
    for stride in [1, -1, 2, -2, 3, -3, 4, -4, 5, -5] {
        for value in [0, 7] {
            for len in 0..40 {
                // Cells 1..=len (along the stride) hold len+1-k, never the
                // value; the next one holds it; the scan starts on cell 1.
                let mut ops = vec![Op::Move(1000)];
                for k in 1..=len {
                    ops.push(Op::Set { off: stride * k, val: (len + 10 - k) as u8 });
                }
                ops.push(Op::Set { off: stride * (len + 1), val: value });
                ops.push(Op::Set { off: 0, val: 99 });
                ops.extend([Op::Move(stride), Op::Scan { stride, value }, Op::Out { off: -stride }]);
                let before = if len == 0 { 99 } else { 10 };
                assert_eq!(run_ops(&ops), (vec![before], Status::Ok), "stride {stride}, value {value}, {len} cells");
            }
        }
    }
}

/// Runs from several threads at once each end with their own tape error:
/// the fault handler is the process's, so runs take turns (without, a run
/// took another's fault and the two handlers put each other back forever).
#[test]
fn runs_from_several_threads_each_get_their_own_tape_error() {
    use crate::code::TapeFault;
    use crate::ir::Inst;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for round in 0..50 {
                    // Left off the tape after `t + round` cells of work.
                    let insts =
                        vec![Inst::new(Op::Move(-(t + round + 1)), 0), Inst::new(Op::Add { off: 0, val: 1 }, 9)];
                    let fault = fault_on(4096, insts, if round % 2 == 0 { GUARDED } else { CHECKED });
                    assert_eq!(fault, TapeFault { cell: -i64::from(t + round + 1), at: Some(9) });
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().expect("a thread's runs"));
}

/// A product from any register: `lea ecx` from the register itself
/// where a factor allows, else `imul`.
#[test]
fn products_take_lea_from_the_source_register() {
    use super::Emitter;
    use dynasmrt::x64::Rq;
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let regs = [Rq::RAX, Rq::RSI, Rq::RDI, Rq::RBP, Rq::R8, Rq::R11, Rq::R13];
    let names = ["eax", "esi", "edi", "ebp", "r8d", "r11d", "r13d"];
    for (&reg, name) in regs.iter().zip(names) {
        let full = name.replace('e', "r").trim_end_matches('d').to_string();
        for (factor, expected) in [
            (2, format!("lea ecx,[{full}+{full}]")),
            (3, format!("lea ecx,[{full}+{full}*2]")),
            (4, format!("lea ecx,[{full}*4]")),
            (5, format!("lea ecx,[{full}+{full}*4]")),
            (8, format!("lea ecx,[{full}*8]")),
            (9, format!("lea ecx,[{full}+{full}*8]")),
            (10, format!("imul ecx,{name},0Ah")),
        ] {
            let mut e = Emitter::new(GUARDED, &Program { insts: vec![], data: vec![] }, super::Jumps::default());
            let start = e.ops.offset().0;
            e.multiply_into_ecx(reg, factor);
            let bytes = e.ops.finalize().expect("assembled")[start..].to_vec();
            let mut decoder = Decoder::new(64, &bytes, DecoderOptions::NONE);
            let inst = decoder.decode();
            let mut text = String::new();
            IntelFormatter::new().format(&inst, &mut text);
            assert_eq!((text.as_str(), inst.len()), (expected.as_str(), bytes.len()), "{factor} x {name}");
        }
    }
}

/// `lea32` for every kind of base, index and displacement: what a
/// disassembler reads back, in the fewest bytes.
#[test]
fn lea_reads_back_as_written() {
    use super::Emitter;
    use dynasmrt::x64::Rq;
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, Register};
    let regs = [Rq::RAX, Rq::RCX, Rq::RSP, Rq::RBP, Rq::RSI, Rq::R8, Rq::R12, Rq::R13, Rq::R15];
    let full = |r: Rq| Register::RAX as usize + r as usize;
    let dword = |r: Rq| Register::EAX as usize + r as usize;
    for dst in [Rq::RCX, Rq::RSI, Rq::R9] {
        for base in regs.iter().map(|&r| Some(r)).chain([None]) {
            for index in regs.iter().filter(|&&r| r != Rq::RSP).map(|&r| Some(r)).chain([None]) {
                for scale in [1, 2, 4, 8] {
                    for disp in [0, 1, -128, 127, 128, -129, 100_000] {
                        if base.is_none() && index.is_none() {
                            continue;
                        }
                        let mut e =
                            Emitter::new(GUARDED, &Program { insts: vec![], data: vec![] }, super::Jumps::default());
                        let start = e.ops.offset().0;
                        e.lea32(dst, base, index.map(|r| (r, scale)), disp);
                        let bytes = e.ops.finalize().expect("assembled")[start..].to_vec();
                        let inst = Decoder::new(64, &bytes, DecoderOptions::NONE).decode();
                        let what = format!("lea {dst:?}, [{base:?} + {index:?} * {scale} + {disp}]: {bytes:02x?}");
                        assert_eq!(inst.mnemonic(), Mnemonic::Lea, "{what}");
                        assert_eq!(inst.len(), bytes.len(), "{what}");
                        assert_eq!(inst.op0_register() as usize, dword(dst), "{what}");
                        assert_eq!(inst.memory_base() as usize, base.map_or(Register::None as usize, full), "{what}");
                        let (index_reg, index_scale) =
                            index.map_or((Register::None as usize, 1), |i| (full(i), scale as u32));
                        assert_eq!((inst.memory_index() as usize, inst.memory_index_scale()), (index_reg, index_scale));
                        assert_eq!(inst.memory_displacement64() as i64, disp as i64, "{what}");
                        // No byte more than needed: REX only for r8-r15, a
                        // displacement only as long as it must be.
                        let rex = [Some(dst), base, index].iter().flatten().any(|&r| r as u8 >= 8);
                        let sib = index.is_some() || base.is_none_or(|b| b as u8 & 7 == 4);
                        let disp_len = match base {
                            None => 4,
                            Some(b) if disp == 0 && b as u8 & 7 != 5 => 0,
                            Some(_) if (-128..128).contains(&disp) => 1,
                            Some(_) => 4,
                        };
                        assert_eq!(bytes.len(), rex as usize + 2 + sib as usize + disp_len, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_comparison_loop_is_fast_forwarded_by_the_fewer_iterations_of_its_counters() {
    let has = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    let scan = Op::Scan { stride: 1, value: 0 };
    // `[->-[>]<<]`, and the same with steps of 3 and -5.
    let magic = |a, b| {
        code_of(&[
            Op::Loop { off: 0 },
            Op::Add { off: 0, val: a },
            Op::Add { off: 1, val: b },
            Op::Move(1),
            scan,
            Op::Move(-2),
            Op::EndLoop,
        ])
    };
    let unit = magic(255, 255);
    // [p+2] must be 0; n - 1 = x - 1 of each counter, the fewer in edx
    // (cmp ecx, edx; cmovb edx, ecx); sub [rbx], dl; sub [rbx+1], dl.
    assert!(has(&unit, &[0x80, 0x7B, 0x02, 0x00]));
    assert!(has(&unit, &[0xFE, 0xC9, 0x0F, 0xB6, 0xC9]));
    assert!(has(&unit, &[0x3B, 0xCA, 0x0F, 0x42, 0xD1]));
    assert!(has(&unit, &[0x28, 0x13]) && has(&unit, &[0x28, 0x53, 0x01]));
    // x * k - 1: imul ecx, ecx, k (3 * 171 = 1: k = -171 = 85 for the add
    // of 3); each add of 3 or -5 made n - 1 times: imul ecx, edx, 3.
    let odd = magic(3, 251);
    assert!(has(&odd, &[0x6B, 0xC9, 85]) && has(&odd, &[0x6B, 0xCA, 3]));
}

/// A block of sets in a loop is stored 8, 4, 2 and 1 cells at a time;
/// where a cell is off the tape, it fails where the program does: at the
/// first set in the program's order whose cell is off, at either end,
/// after a fault at a wide store or a failed check of a block far from
/// the cell last touched.
#[test]
fn a_block_of_sets_is_stored_wide_and_fails_at_the_programs_set() {
    use crate::code::TapeFault;
    use crate::ir::Inst;
    let has = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    let sets = |offs: &[i32]| -> Vec<Op> { offs.iter().map(|&off| Op::Set { off, val: off as u8 + 1 }).collect() };
    // `before`, then a loop on cell x that runs once: `inner`, the sets
    // of `offs`, x printed (not a loop in registers) and cleared.
    let looped = |before: &[Op], x: i32, inner: &[Op], offs: &[i32]| -> Vec<Op> {
        let open = [Op::Set { off: x, val: 1 }, Op::Loop { off: x }];
        let close = [Op::Out { off: x }, Op::Set { off: x, val: 0 }, Op::EndLoop];
        [before, &open, inner, &sets(offs), &close].concat()
    };
    // Cells 1 to 15, the last first.
    let block: Vec<i32> = (1..=15).rev().collect();
    let code = code_of(&looped(&[], 30, &[], &block));
    // mov rcx, 0x0908..02; mov [rbx+1], rcx
    assert!(has(&code, &[0x48, 0xb9, 2, 3, 4, 5, 6, 7, 8, 9, 0x48, 0x89, 0x4b, 0x01]));
    // mov dword [rbx+9], ..; mov word [rbx+13], ..; mov byte [rbx+15], 16
    assert!(has(&code, &[0xc7, 0x43, 0x09, 10, 11, 12, 13, 0x66, 0xc7, 0x43, 0x0d, 14, 15, 0xc6, 0x43, 0x0f, 16]));
    // A byte store of each cell only in the plain copy, after the program.
    assert_eq!(code.windows(4).filter(|w| *w == [0xc6, 0x43, 0x01, 0x02]).count(), 1);
    // Outside loops, a store a cell.
    assert_eq!(code_of(&sets(&block)).windows(2).filter(|w| *w == [0xc6, 0x43]).count(), 15);
    // The values, each cell printed.
    let outs = (1..=15).map(|off| Op::Out { off });
    let (out, status) = run_ops(&looped(&[], 30, &[], &block).into_iter().chain(outs).collect::<Vec<_>>());
    assert_eq!((out, status), ([1].into_iter().chain(2..=16).collect::<Vec<u8>>(), Status::Ok));
    // Off the tape: each instruction its own command.
    let program =
        |ops: Vec<Op>| -> Vec<Inst> { ops.into_iter().enumerate().map(|(at, op)| Inst::new(op, at as u32)).collect() };
    let far = [Op::Move(GUARD_BYTES as i32), Op::Move(-(GUARD_BYTES as i32))];
    for target in [GUARDED, CHECKED] {
        // The right end: cells 3 on are off; the program's first is 5, the
        // fifth command.
        let fault = fault_of(program(looped(&[Op::Move(65536 - 3)], -10, &[], &[1, 5, 2, 6, 0, 3, 4, 7])), target);
        assert_eq!(fault, TapeFault { cell: 65536 + 2, at: Some(4) });
        // The left end: -2 is the first off.
        let fault = fault_of(program(looped(&[], 20, &[], &[2, 0, -2, 1, -1])), target);
        assert_eq!(fault, TapeFault { cell: -2, at: Some(4) });
        // Far from the cell last touched: checked, then the same.
        let fault = fault_of(program(looped(&[], 20, &far, &[1, 0, -1, 2])), target);
        assert_eq!(fault, TapeFault { cell: -1, at: Some(6) });
    }
    // Off both ends of a tape of 4 cells: the first set off either.
    let fault = fault_on(4, program(looped(&[], 3, &[], &[1, 5, -1, 0, 2, 3, 4])), CHECKED);
    assert_eq!(fault, TapeFault { cell: 5, at: Some(3) });
}

#[test]
fn an_add_to_the_cell_eax_holds_is_made_in_al() {
    let has = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    // A chain of ifs on one counter (morse.b's): each if loads nothing
    // after the first, each add is `add al, -k; mov [rbx+4], al` and its
    // flags are the next if's test.
    let chain = code_of(&[
        Op::If { off: 4 },
        Op::Add { off: 4, val: 0xF6 },
        Op::If { off: 4 },
        Op::Add { off: 4, val: 0xEA },
        Op::If { off: 4 },
        Op::Out { off: 5 },
        Op::EndIf,
        Op::EndIf,
        Op::EndIf,
    ]);
    let then_je = |add: u8| {
        let at = chain.windows(5).position(|w| w == [0x04, add, 0x88, 0x43, 0x04]);
        at.is_some_and(|at| chain[at + 5] == 0x74 || chain[at + 5..at + 7] == [0x0F, 0x84])
    };
    assert!(then_je(0xF6), "add al, -10; mov [rbx+4], al; je");
    assert!(then_je(0xEA), "add al, -22; mov [rbx+4], al; je");
    let loads = chain.windows(4).filter(|w| *w == [0x0F, 0xB6, 0x43, 0x04]).count();
    assert_eq!(loads, 1, "movzx eax, [rbx+4] once");
    // Where eax does not hold it: in memory.
    let alone = code_of(&[Op::Add { off: 4, val: 0xF6 }]);
    assert!(has(&alone, &[0x80, 0x43, 0x04, 0xF6]) && !has(&alone, &[0x04, 0xF6, 0x88, 0x43, 0x04]));
}

#[test]
fn a_chain_of_adds_in_al_runs_as_the_program() {
    // For each counter value 1..=5: the chain's adds through al, stored,
    // read back by the output at its end and by the next value's load.
    let mut ops = Vec::new();
    for v in 1..=5u8 {
        ops.extend([Op::Set { off: 4, val: v }, Op::Set { off: 5, val: b'a' + v }]);
        ops.extend([
            Op::If { off: 4 },
            Op::Add { off: 4, val: 0xFF },
            Op::If { off: 4 },
            Op::Add { off: 4, val: 0xFE },
        ]);
        ops.extend([Op::If { off: 4 }, Op::Out { off: 5 }, Op::EndIf, Op::Out { off: 4 }, Op::EndIf, Op::EndIf]);
    }
    // v=1: 0 after the first add, nothing printed; 2: 1, then 255: 'c',
    // 255; 3: 2, then 0: 0; 4: 3, then 1: 'e', 1; 5: 4, then 2: 'f', 2.
    assert_eq!(run_ops(&ops), (vec![b'c', 255, 0, b'e', 1, b'f', 2], Status::Ok));
}

#[test]
fn a_loop_inside_a_register_loop_runs_as_the_program() {
    // 0 counts 10 down; 2 counts 3 down and where it reaches 0 the flag 5
    // stays set and the inner loop puts 2 back to 3 and counts the reset
    // in 1 (a modulo as primes.bf computes it): 1 ends 3, 2 ends 2.
    let mul = |off, src| Op::AddMul { off, src, factor: 1, if_nonzero: false };
    let set = |off, val| Op::Set { off, val };
    let add = |off, val| Op::Add { off, val };
    let body = [
        add(0, 0xFF),
        add(2, 0xFF),
        add(5, 1),
        mul(6, 2),
        Op::If { off: 6 },
        set(5, 0),
        set(6, 0),
        Op::EndIf,
        Op::Loop { off: 5 },
        mul(2, 4),
        add(1, 1),
        add(5, 0xFF),
        Op::EndLoop,
    ];
    let ops = [
        &[set(0, 10), set(2, 3), set(4, 3)][..],
        &[Op::Loop { off: 0 }],
        &body,
        &[Op::EndLoop, Op::Out { off: 1 }, Op::Out { off: 2 }, Op::Out { off: 4 }, Op::Out { off: 5 }],
    ]
    .concat();
    let code = code_of(&ops);
    // The inner loop's end: `add r10b, -1` (5's register, the fifth of
    // the cells 0 1 2 4 5 6) and a short jump back on its flags.
    let end = [0x41, 0x80, 0xC2, 0xFF, 0x75];
    assert!(code.windows(end.len()).any(|w| w == end), "the inner loop in registers");
    assert_eq!(run_ops(&ops), (vec![3, 2, 3, 0], Status::Ok));
}

#[test]
fn a_shortcut_tests_up_to_four_zeros_a_byte_each() {
    use crate::ir::{Change, Inst, Shortcut};
    let has = |code: &[u8], bytes: &[u8]| code.windows(bytes.len()).any(|w| w == bytes);
    let code_of_shortcut = |zeros: Vec<i32>| {
        let shortcut = Shortcut { zeros, reach: (0, 7), changes: vec![(0, Change::Set(1))], delta: 0, divmod: None };
        let (mut data, mut insts) = (vec![], vec![]);
        shortcut.wrap(&[Inst::new(Op::Set { off: 0, val: 1 }, 0)], &mut data, &mut insts);
        compile(&Program { insts, data }, GUARDED).bytes
    };
    // movzx eax, [rbx+1]; or al, [rbx+2]; or al, [rbx+5]; jne: byte loads,
    // which the store buffer forwards from byte stores just made to them.
    let three = code_of_shortcut(vec![1, 2, 5]);
    assert!(has(&three, &[0x0F, 0xB6, 0x43, 0x01, 0x0A, 0x43, 0x02, 0x0A, 0x43, 0x05, 0x75]));
    // Five: one load of the 8 cells of the reach, `mov rax, [rbx]`, and a
    // mask.
    let five = code_of_shortcut(vec![1, 2, 3, 5, 6]);
    assert!(has(&five, &[0x48, 0x8B, 0x83, 0, 0, 0, 0]) && !has(&five, &[0x0A, 0x43]));
}
