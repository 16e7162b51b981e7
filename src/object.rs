//! `CompiledCode` -> ELF64 x86-64 relocatable object, with the object crate.
//!
//! The object holds the code bytes unchanged in `.text`, one global function
//! symbol for the entry (sized to cover the code), the code's contract (what
//! it was compiled for, `struct bf_contract`) as the global data symbol
//! `<entry>_contract` in `.rodata`, and an empty `.note.GNU-stack` so the
//! linker keeps the stack non-executable. The code is position independent,
//! so `.text` needs no relocations. With `-g`, the debug sections `dwarf`
//! made go beside it, with the relocations their addresses and offsets
//! need (`R_X86_64_64` against `.text`, `R_X86_64_32` against the other
//! debug sections).

use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{
    elf, Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

use crate::code::{CompiledCode, Contract, SourceMap, CONTRACT_SUFFIX};
use crate::dwarf;

/// The default name of the entry symbol.
pub const DEFAULT_SYMBOL: &str = "bf_main";

/// Is `name` usable as a C identifier (and so as a symbol C can call)?
pub fn is_valid_symbol(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The bytes a program reads before stdin's (`--bang`) are the data symbol
/// `<entry>_input`, their number the `uint64_t` `<entry>_input_size`.
pub const INPUT_SUFFIX: &str = "_input";
pub const INPUT_SIZE_SUFFIX: &str = "_input_size";

/// What an object holds beside its code.
#[derive(Debug, Clone, Copy)]
pub struct Beside<'a> {
    /// What the code was compiled for: `symbol_contract`, followed by
    /// `source_map` (where its tape errors are).
    pub contract: &'a Contract,
    pub source_map: &'a SourceMap,
    /// Debug sections (`dwarf::sections`, for this code; none: no debug
    /// info, `-g`).
    pub debug: &'a [dwarf::Section],
    /// The bytes the program reads before stdin's (`--bang`): the symbols
    /// `symbol_input` and `symbol_input_size` that `runtime-c/main.c` gives
    /// to `bfrt_set_input`. None: no such symbols.
    pub input: Option<&'a [u8]>,
}

/// Writes `code` as an ELF relocatable object whose entry is `symbol`, and
/// whose `contract` (what the code was compiled for) is `symbol_contract`,
/// followed by the code's `source_map` (where its tape errors are).
pub fn write_object(code: &CompiledCode, symbol: &str, contract: &Contract, source_map: &SourceMap) -> Vec<u8> {
    write_object_with(code, symbol, Beside { contract, source_map, debug: &[], input: None })
}

/// Writes `code` as an ELF relocatable object whose entry is `symbol`, with
/// what goes `beside` it.
pub fn write_object_with(code: &CompiledCode, symbol: &str, beside: Beside) -> Vec<u8> {
    let Beside { contract, source_map, debug, input } = beside;
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    // 32: what the code's loops are aligned to (`emit::align_loop_top`).
    let offset_of_code = obj.append_section_data(text, &code.bytes, 32);
    obj.add_symbol(Symbol {
        name: symbol.as_bytes().to_vec(),
        value: offset_of_code + code.entry as u64,
        size: (code.bytes.len() - code.entry) as u64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    // Beside the code, not in it: .text stays the JIT's bytes.
    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    let mut add_data = |suffix: &str, bytes: &[u8], align: u64| {
        let offset = obj.append_section_data(rodata, bytes, align);
        obj.add_symbol(Symbol {
            name: format!("{symbol}{suffix}").into_bytes(),
            value: offset,
            size: bytes.len() as u64,
            kind: SymbolKind::Data,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(rodata),
            flags: SymbolFlags::None,
        });
    };
    add_data(CONTRACT_SUFFIX, &contract.with_source_map(source_map), 8);
    if let Some(input) = input {
        add_data(INPUT_SIZE_SUFFIX, &(input.len() as u64).to_le_bytes(), 8);
        add_data(INPUT_SUFFIX, input, 1);
    }
    // An empty, non-executable .note.GNU-stack: "this code needs no
    // executable stack".
    obj.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Note);
    add_debug_sections(&mut obj, text, offset_of_code, debug);
    obj.write().expect("an in-memory ELF object always serialises")
}

/// Adds the debug sections, and their relocations: against `.text` (the
/// code starts at `offset_of_code` in it) or another debug section, by its
/// section symbol.
fn add_debug_sections(obj: &mut Object, text: object::write::SectionId, offset_of_code: u64, debug: &[dwarf::Section]) {
    let ids: Vec<_> = debug
        .iter()
        .map(|section| {
            let id = obj.add_section(Vec::new(), section.name.as_bytes().to_vec(), SectionKind::Debug);
            obj.append_section_data(id, &section.data, 1);
            id
        })
        .collect();
    for (section, &id) in debug.iter().zip(&ids) {
        for r in &section.relocations {
            let (target, addend) = match r.target {
                dwarf::Target::Code => (text, offset_of_code as i64 + r.addend),
                dwarf::Target::Section(name) => {
                    let at = debug.iter().position(|s| s.name == name).expect("offsets point into written sections");
                    (ids[at], r.addend)
                }
            };
            let r_type = match r.size {
                8 => elf::R_X86_64_64,
                4 => elf::R_X86_64_32,
                size => unreachable!("DWARF32 with 64-bit addresses relocates 4 or 8 bytes, not {size}"),
            };
            let relocation = Relocation {
                offset: r.offset,
                symbol: obj.section_symbol(target),
                addend,
                flags: RelocationFlags::Elf { r_type },
            };
            obj.add_relocation(id, relocation).expect("ELF takes any x86-64 relocation");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object as _, ObjectSection, ObjectSymbol};

    fn sample() -> CompiledCode {
        CompiledCode {
            bytes: vec![0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3],
            entry: 0,
            code_len: 6,
            positions: Vec::new(),
            cell_bits: 8,
        }
    }

    fn no_map() -> SourceMap {
        SourceMap { file: "x.b".into(), rows: vec![] }
    }

    #[test]
    fn object_reads_back_with_text_symbol_and_note() {
        let bytes = write_object(&sample(), "bf_hello", &Contract::new(4096, 0), &no_map());
        let file = object::File::parse(&*bytes).unwrap();
        assert_eq!(file.architecture(), Architecture::X86_64);
        assert_eq!(file.kind(), object::ObjectKind::Relocatable);
        let text = file.section_by_name(".text").unwrap();
        assert_eq!(text.data().unwrap(), &sample().bytes[..]);
        assert_eq!(text.relocations().count(), 0);
        let sym = file.symbols().find(|s| s.name() == Ok("bf_hello")).unwrap();
        assert!(sym.is_global() && sym.is_definition());
        assert_eq!(sym.kind(), SymbolKind::Text);
        assert_eq!(sym.size(), 6);
        assert_eq!(sym.section_index(), Some(text.index()));
        let note = file.section_by_name(".note.GNU-stack").unwrap();
        assert_eq!(note.size(), 0);
        match note.flags() {
            object::SectionFlags::Elf { sh_flags } => assert_eq!(sh_flags & u64::from(object::elf::SHF_EXECINSTR), 0),
            other => panic!("unexpected flags {other:?}"),
        }
    }

    #[test]
    fn the_contract_is_a_data_symbol_beside_the_code() {
        let contract = Contract::new(4096, 7);
        let bytes = write_object(&sample(), "bf_hello", &contract, &no_map());
        let file = object::File::parse(&*bytes).unwrap();
        let sym = file.symbols().find(|s| s.name() == Ok("bf_hello_contract")).unwrap();
        assert!(sym.is_global() && sym.is_definition());
        assert_eq!(sym.kind(), SymbolKind::Data);
        let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
        assert_eq!(section.name(), Ok(".rodata"));
        assert_eq!(section.kind(), SectionKind::ReadOnlyData);
        assert_eq!(section.relocations().count(), 0);
        let at = (sym.address() - section.address()) as usize;
        let data = &section.data().unwrap()[at..at + sym.size() as usize];
        assert_eq!(data, contract.with_source_map(&no_map()));
        // The source map follows the contract, which says where.
        assert_eq!(u64::from_le_bytes(data[16..24].try_into().unwrap()), 7, "the margin");
        assert_eq!(u32::from_le_bytes(data[24..28].try_into().unwrap()), 32);
        assert_eq!(&data[32..], no_map().to_bytes());
    }

    #[test]
    fn debug_sections_go_beside_the_code_with_their_relocations() {
        use crate::linetable::LineTable;
        let table = LineTable { rows: vec![], end: 4 };
        let layout = dwarf::Layout { entry: 0, code_end: 6, len: 6 };
        let debug = dwarf::sections(&table, layout, &dwarf::Unit { file: "p.b", comp_dir: "/", symbol: "bf_hello" });
        let contract = Contract::new(4096, 0);
        let beside = Beside { contract: &contract, source_map: &no_map(), debug: &debug, input: None };
        let bytes = write_object_with(&sample(), "bf_hello", beside);
        let file = object::File::parse(&*bytes).unwrap();
        let text = file.section_by_name(".text").unwrap();
        assert_eq!(text.data().unwrap(), &sample().bytes[..], "-g leaves the code alone");
        assert_eq!(text.relocations().count(), 0);
        // (relocation's type, the section its symbol stands for, addend)
        let relocations = |name: &str| -> Vec<(u32, String, i64)> {
            let section = file.section_by_name(name).unwrap();
            match section.flags() {
                object::SectionFlags::Elf { sh_flags } => assert_eq!(sh_flags & u64::from(elf::SHF_ALLOC), 0),
                other => panic!("unexpected flags {other:?}"),
            }
            let mut all: Vec<_> = section
                .relocations()
                .map(|(_, r)| {
                    let object::RelocationTarget::Symbol(index) = r.target() else { panic!("{r:?}") };
                    let symbol = file.symbol_by_index(index).unwrap();
                    let target = file.section_by_index(symbol.section_index().unwrap()).unwrap();
                    let object::RelocationFlags::Elf { r_type } = r.flags() else { panic!("{r:?}") };
                    (r_type, target.name().unwrap().to_string(), r.addend())
                })
                .collect();
            all.sort();
            all
        };
        assert_eq!(relocations(".debug_line"), [(object::elf::R_X86_64_64, ".text".to_string(), 0)]);
        let want = [
            (object::elf::R_X86_64_64, ".text", 0),
            (object::elf::R_X86_64_64, ".text", 0),
            (object::elf::R_X86_64_32, ".debug_abbrev", 0),
            (object::elf::R_X86_64_32, ".debug_line", 0),
        ];
        assert_eq!(relocations(".debug_info"), want.map(|(t, s, a)| (t, s.to_string(), a)));
        assert!(file.section_by_name(".debug_abbrev").is_some());
    }

    #[test]
    fn input_is_two_data_symbols_and_absent_without() {
        let (c, map) = (Contract::new(4096, 0), no_map());
        let fed = Beside { contract: &c, source_map: &map, debug: &[], input: Some(b"hello") };
        let bytes = write_object_with(&sample(), "p", fed);
        let file = object::File::parse(&*bytes).unwrap();
        let data = |name: &str| {
            let sym = file.symbols().find(|s| s.name() == Ok(name)).unwrap_or_else(|| panic!("no {name}"));
            assert!(sym.is_global() && sym.is_definition() && sym.kind() == SymbolKind::Data, "{name}");
            let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
            let at = (sym.address() - section.address()) as usize;
            section.data().unwrap()[at..at + sym.size() as usize].to_vec()
        };
        assert_eq!(data("p_input"), b"hello");
        assert_eq!(data("p_input_size"), 5u64.to_le_bytes());
        let plain = write_object(&sample(), "p", &c, &map);
        assert_eq!(write_object_with(&sample(), "p", Beside { input: None, ..fed }), plain);
        let file = object::File::parse(&*plain).unwrap();
        assert!(file.symbols().all(|s| !s.name().unwrap().contains("_input")));
    }

    #[test]
    fn same_code_same_object() {
        let c = Contract::new(65536, 0);
        assert_eq!(write_object(&sample(), "a", &c, &no_map()), write_object(&sample(), "a", &c, &no_map()));
    }

    #[test]
    fn symbol_names_are_c_identifiers() {
        assert!(is_valid_symbol("bf_main") && is_valid_symbol("_x9"));
        assert!(!is_valid_symbol("9x") && !is_valid_symbol("") && !is_valid_symbol("a-b") && !is_valid_symbol("a b"));
    }
}
