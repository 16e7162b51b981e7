//! The object file and the JIT hold the same machine code: `.text` of
//! `bfc -c` equals, byte for byte, what the JIT maps and runs for the same
//! program and options, with `-g` (debug info beside the code) or without.

mod common;

use object::{Object, ObjectSection};

use bfc::ir::EofMode;
use bfc::jit::LoadedCode;
use bfc::opt::Level;

fn jit_bytes(source: &[u8], options: &bfc::Options) -> Vec<u8> {
    let program = bfc::front_end("t.b", source, options).unwrap();
    let code = bfc::back_end(&program, options);
    let loaded = LoadedCode::load(&code).unwrap();
    loaded.bytes()[..code.bytes.len()].to_vec()
}

fn object_text(source: &[u8], flags: &[&str]) -> Vec<u8> {
    let dir = common::tempdir();
    let src = common::write_file(dir.path(), "t.b", source);
    let obj = dir.path().join("t.o");
    let mut cmd = common::bfc_cmd(["-c", "-o"]);
    cmd.arg(&obj).args(flags).arg(&src);
    let run = common::run(&mut cmd, b"", common::TIMEOUT);
    assert!(run.exited(0), "bfc -c: {}", run.summary());
    let bytes = std::fs::read(&obj).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    file.section_by_name(".text").unwrap().data().unwrap().to_vec()
}

#[test]
fn object_text_equals_jit_code() {
    let programs: [&[u8]; 4] = [
        b"++++++++[>++++++++<-]>+.+.",
        b",[.,]",
        b">>+[<<[->+<]>>-]<[>]<<[<]+[>+++[-<++>]<-]",
        include_bytes!("../examples/hello.b"),
    ];
    let settings = [
        (Level::O2, 65536, EofMode::Unchanged, 0u64, vec!["-O2", "--eval-steps", "0"]),
        (Level::O2, 65536, EofMode::Unchanged, 200_000, vec!["-O2", "--eval-steps", "200000"]),
        (Level::O0, 65536, EofMode::Zero, 0, vec!["-O0", "--eof", "zero"]),
        (Level::O1, 100, EofMode::MinusOne, 0, vec!["-O1", "--tape-size", "100", "--eof", "minus-one"]),
    ];
    for source in programs {
        for (level, tape_cells, eof, eval_steps, flags) in &settings {
            let options = bfc::Options {
                level: *level,
                tape_cells: *tape_cells,
                eof: *eof,
                eval_steps: *eval_steps,
                ..bfc::Options::default()
            };
            let jit = jit_bytes(source, &options);
            assert!(!jit.is_empty());
            let debug = [&flags[..], &["-g"]].concat();
            for flags in [&flags[..], &debug] {
                let text = object_text(source, flags);
                let program = String::from_utf8_lossy(source);
                assert!(jit == text, "{flags:?} on {program}: .text differs from the JIT's code");
            }
        }
    }
}
