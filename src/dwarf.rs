//! `-g`: DWARF debug info for a program's code, written with gimli, so that
//! gdb can `break prog.b:12` and step by source line, and addr2line and
//! perf name `.b` lines.
//!
//! What it writes (DWARF 4, 64-bit addresses): `.debug_line`, the program's
//! `linetable::LineTable` as one sequence over the code; `.debug_info`, one
//! `DW_TAG_compile_unit` for the `.b` file (name, comp_dir, producer,
//! language [`DW_LANG_BRAINFUCK`]) holding one `DW_TAG_subprogram`, the
//! entry function; `.debug_abbrev`. Strings are inline, so no `.debug_str`.
//!
//! The sections come back as plain data with their relocations (code
//! addresses against the code, offsets into other debug sections against
//! those), which `object.rs` writes into the ELF object: this module knows
//! nothing of the object crate, nor of how the code was made.

use std::path::Path;

use gimli::write::{
    Address, AttributeValue, DwarfUnit, EndianVec, LineProgram, LineString, RelocateWriter, RelocationTarget, Sections,
};
use gimli::{Encoding, Format, LineEncoding, LittleEndian};

use crate::linetable::LineTable;

/// What the compile unit says of where the code comes from.
#[derive(Debug, Clone)]
pub struct Unit<'a> {
    /// The source file, as it was named to the compiler.
    pub file: &'a str,
    /// The directory the compiler ran in (`file` is relative to it).
    pub comp_dir: &'a str,
    /// The entry function's name.
    pub symbol: &'a str,
}

/// The layout of the code the debug info describes, as offsets from its
/// start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Where the entry function starts.
    pub entry: usize,
    /// Where the instructions end (the program's data follows them).
    pub code_end: usize,
    /// The length of all of it, data included (the entry symbol's end).
    pub len: usize,
}

/// What a relocation's value is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The start of the code (its section and offset are the object's).
    Code,
    /// The start of another debug section, by name.
    Section(&'static str),
}

/// A place in a section that holds `target + addend`, `size` bytes wide
/// (8: an address, 4: a 32-bit section offset), unknown until link time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    pub offset: u64,
    pub size: u8,
    pub target: Target,
    pub addend: i64,
}

/// One debug section: its bytes, with zeros where relocations go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: &'static str,
    pub data: Vec<u8>,
    pub relocations: Vec<Relocation>,
}

/// The one symbol addresses refer to: the start of the code.
const CODE: usize = 0;

/// What `producer` says made the code.
pub const PRODUCER: &str = concat!("bfc ", env!("CARGO_PKG_VERSION"));

/// The unit's language: DWARF has no code for Brainfuck, so one from the
/// user range that no producer gimli knows uses. Not
/// `DW_LANG_Mips_Assembler`: for assembly gdb does not skip the prologue,
/// so `break bf_main` would stop before the first command; for a language
/// it does not know it honours `prologue_end`.
pub const DW_LANG_BRAINFUCK: gimli::DwLang = gimli::DwLang(0xbfc0);

const ENCODING: Encoding = Encoding { format: Format::Dwarf32, version: 4, address_size: 8 };

/// The debug sections of code laid out as `layout`, whose source positions
/// are `table`'s, compiled from `unit`. Only non-empty sections are given.
pub fn sections(table: &LineTable, layout: Layout, unit: &Unit) -> Vec<Section> {
    let mut dwarf = DwarfUnit::new(ENCODING);
    let (mut program, file) = line_program(unit);
    add_rows(&mut program, file, table, layout);
    dwarf.unit.line_program = program;
    add_entries(&mut dwarf, file, layout, unit);

    let mut sections = Sections::new(Recorded::default());
    dwarf.write(&mut sections).expect("DWARF this small always fits its 32-bit offsets");
    let mut out = Vec::new();
    // The closure never fails: nothing to report.
    let _ = sections.for_each(|id, section| -> Result<(), ()> {
        if !section.bytes.slice().is_empty() {
            out.push(Section {
                name: id.name(),
                data: section.bytes.slice().to_vec(),
                relocations: section.relocations.iter().map(relocation).collect(),
            });
        }
        Ok(())
    });
    out
}

/// An empty line program for `unit`'s file, and the file's id in it.
fn line_program(unit: &Unit) -> (LineProgram, gimli::write::FileId) {
    let text = |s: &str| LineString::String(c_string(s));
    let or = |s: &str, default: &str| if c_string(s).is_empty() { default.to_string() } else { s.to_string() };
    let (comp_dir, file) = (or(unit.comp_dir, "."), or(unit.file, "<unnamed>"));
    // The file table names a file in a directory, as gcc does: `sub/p.b`
    // is `p.b` in `sub` (relative to comp_dir).
    let path = Path::new(&file);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).filter(|n| !c_string(n).is_empty());
    let dir = path.parent().map(|d| d.to_string_lossy().into_owned()).filter(|d| !c_string(d).is_empty());
    let (dir, name) = match (dir, name) {
        (Some(dir), Some(name)) => (Some(dir), name),
        _ => (None, file.clone()),
    };
    let mut program = LineProgram::new(ENCODING, LineEncoding::default(), text(&comp_dir), None, text(&name), None);
    let dir = match dir {
        Some(dir) => program.add_directory(text(&dir)),
        None => program.default_directory(),
    };
    let file = program.add_file(text(&name), dir, None);
    (program, file)
}

/// The table's rows as one sequence over the code: the entry's setup
/// before the first instruction belongs to that instruction's command (it
/// ends where `prologue_end` is), each row is a statement, and the code
/// after the last instruction (exits, helpers) belongs to no line (0).
fn add_rows(program: &mut LineProgram, file: gimli::write::FileId, table: &LineTable, layout: Layout) {
    program.begin_sequence(Some(Address::Symbol { symbol: CODE, addend: 0 }));
    let row = |program: &mut LineProgram, address: usize, line: usize, col: usize, prologue_end: bool| {
        let row = program.row();
        row.address_offset = address as u64;
        row.file = file;
        row.line = line as u64;
        row.column = col as u64;
        row.is_statement = true;
        row.prologue_end = prologue_end;
        program.generate_row();
    };
    let first = table.rows.first().map_or((1, 1), |r| (r.pos.line, r.pos.col));
    if table.rows.first().is_none_or(|r| r.address > 0) {
        row(program, 0, first.0, first.1, false);
    }
    for (i, r) in table.rows.iter().enumerate() {
        row(program, r.address, r.pos.line, r.pos.col, i == 0);
    }
    let last = table.rows.last().map_or(0, |r| r.address);
    if table.end < layout.code_end && (table.end > last || table.rows.is_empty()) {
        row(program, table.end, 0, 0, false);
    }
    program.end_sequence(layout.code_end as u64);
}

/// The compile unit, and the entry function in it.
fn add_entries(dwarf: &mut DwarfUnit, file: gimli::write::FileId, layout: Layout, unit: &Unit) {
    let text = |s: &str| AttributeValue::String(c_string(s));
    let address = |offset: usize| AttributeValue::Address(Address::Symbol { symbol: CODE, addend: offset as i64 });
    let root = dwarf.unit.root();
    let cu = dwarf.unit.get_mut(root);
    cu.set(gimli::DW_AT_producer, text(PRODUCER));
    cu.set(gimli::DW_AT_language, AttributeValue::Language(DW_LANG_BRAINFUCK));
    cu.set(gimli::DW_AT_name, text(unit.file));
    cu.set(gimli::DW_AT_comp_dir, text(unit.comp_dir));
    cu.set(gimli::DW_AT_low_pc, address(0));
    cu.set(gimli::DW_AT_high_pc, AttributeValue::Udata(layout.len as u64));
    let entry = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
    let function = dwarf.unit.get_mut(entry);
    function.set(gimli::DW_AT_name, text(unit.symbol));
    function.set(gimli::DW_AT_external, AttributeValue::Flag(true));
    function.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(file)));
    function.set(gimli::DW_AT_decl_line, AttributeValue::Udata(1));
    function.set(gimli::DW_AT_low_pc, address(layout.entry));
    function.set(gimli::DW_AT_high_pc, AttributeValue::Udata((layout.len - layout.entry) as u64));
}

/// `s` as DWARF can hold it: its strings end at a NUL byte (a Unix path
/// has none; a name given to the library might).
fn c_string(s: &str) -> Vec<u8> {
    s.bytes().filter(|&b| b != 0).collect()
}

/// A section's bytes as gimli writes them, and the relocations it asks for.
#[derive(Debug, Clone)]
struct Recorded {
    bytes: EndianVec<LittleEndian>,
    relocations: Vec<gimli::write::Relocation>,
}

impl Default for Recorded {
    fn default() -> Self {
        Recorded { bytes: EndianVec::new(LittleEndian), relocations: Vec::new() }
    }
}

impl RelocateWriter for Recorded {
    type Writer = EndianVec<LittleEndian>;

    fn writer(&self) -> &Self::Writer {
        &self.bytes
    }

    fn writer_mut(&mut self) -> &mut Self::Writer {
        &mut self.bytes
    }

    fn relocate(&mut self, relocation: gimli::write::Relocation) {
        self.relocations.push(relocation);
    }
}

fn relocation(r: &gimli::write::Relocation) -> Relocation {
    let target = match r.target {
        RelocationTarget::Symbol(symbol) => {
            assert_eq!(symbol, CODE, "addresses only ever refer to the code");
            Target::Code
        }
        RelocationTarget::Section(id) => Target::Section(id.name()),
    };
    Relocation { offset: r.offset as u64, size: r.size, target, addend: r.addend }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Pos;
    use crate::linetable::Row;
    use gimli::{EndianSlice, RunTimeEndian};

    fn table() -> LineTable {
        let row = |address, offset, line, col| Row { address, offset, pos: Pos { line, col } };
        LineTable { rows: vec![row(16, 0, 1, 1), row(20, 3, 2, 1), row(30, 5, 2, 3)], end: 40 }
    }

    const LAYOUT: Layout = Layout { entry: 0, code_end: 64, len: 70 };

    fn unit() -> Unit<'static> {
        Unit { file: "sub/p.b", comp_dir: "/home/me", symbol: "bf_p" }
    }

    /// The sections read back by gimli, unrelocated: addresses are then
    /// offsets in the code, and offsets into other sections those of the
    /// only unit.
    fn read(sections: &[Section]) -> gimli::Dwarf<EndianSlice<'_, RunTimeEndian>> {
        let load = |id: gimli::SectionId| -> Result<_, ()> {
            let data = sections.iter().find(|s| s.name == id.name()).map_or(&[][..], |s| &s.data[..]);
            Ok(EndianSlice::new(data, RunTimeEndian::Little))
        };
        gimli::Dwarf::load(load).unwrap()
    }

    #[test]
    fn the_line_program_has_a_row_per_table_row_then_line_0_for_the_exits() {
        let sections = sections(&table(), LAYOUT, &unit());
        let dwarf = read(&sections);
        let header = dwarf.units().next().unwrap().unwrap();
        let unit = dwarf.unit(header).unwrap();
        let program = unit.line_program.clone().unwrap();
        let mut rows = program.rows();
        let mut got = Vec::new();
        while let Some((header, row)) = rows.next_row().unwrap() {
            let file = row.file(header).unwrap();
            let name = dwarf.attr_string(&unit, file.path_name()).unwrap().to_string_lossy().into_owned();
            let column = match row.column() {
                gimli::ColumnType::LeftEdge => 0,
                gimli::ColumnType::Column(c) => c.get(),
            };
            let line = row.line().map_or(0, |l| l.get());
            got.push((row.address(), line, column, row.is_stmt(), row.end_sequence(), name));
        }
        let want = [
            (0, 1, 1, true, false), // the entry's setup, as the first command
            (16, 1, 1, true, false),
            (20, 2, 1, true, false),
            (30, 2, 3, true, false),
            (40, 0, 0, true, false), // exits and helpers: no command
            (64, 0, 0, true, true),
        ];
        let want: Vec<_> = want.iter().map(|&(a, l, c, s, e)| (a, l, c, s, e, "p.b".to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_compile_unit_names_the_file_and_covers_the_code() {
        let sections = sections(&table(), Layout { entry: 8, ..LAYOUT }, &unit());
        let dwarf = read(&sections);
        let header = dwarf.units().next().unwrap().unwrap();
        let unit = dwarf.unit(header).unwrap();
        let mut entries = unit.entries();
        let cu = entries.next_dfs().unwrap().unwrap().clone();
        let cu = &cu;
        assert_eq!(cu.tag(), gimli::DW_TAG_compile_unit);
        let string = |entry: &gimli::DebuggingInformationEntry<_>, at| {
            let value = entry.attr_value(at).unwrap();
            dwarf.attr_string(&unit, value).unwrap().to_string_lossy().into_owned()
        };
        assert_eq!(string(cu, gimli::DW_AT_name), "sub/p.b");
        assert_eq!(string(cu, gimli::DW_AT_comp_dir), "/home/me");
        assert_eq!(string(cu, gimli::DW_AT_producer), format!("bfc {}", env!("CARGO_PKG_VERSION")));
        let language = cu.attr_value(gimli::DW_AT_language);
        assert_eq!(language, Some(gimli::AttributeValue::Language(DW_LANG_BRAINFUCK)));
        assert_eq!(cu.attr_value(gimli::DW_AT_high_pc).and_then(|v| v.udata_value()), Some(70));
        let function = entries.next_dfs().unwrap().unwrap();
        assert_eq!(function.tag(), gimli::DW_TAG_subprogram);
        assert_eq!(string(function, gimli::DW_AT_name), "bf_p");
        assert_eq!(function.attr_value(gimli::DW_AT_high_pc).and_then(|v| v.udata_value()), Some(62));
    }

    #[test]
    fn addresses_are_relocated_against_the_code_and_offsets_against_their_section() {
        let layout = Layout { entry: 8, ..LAYOUT };
        let sections = sections(&table(), layout, &unit());
        let relocations = |name: &str| sections.iter().find(|s| s.name == name).unwrap().relocations.clone();
        let line = relocations(".debug_line");
        assert_eq!(line.len(), 1, "one sequence, one DW_LNE_set_address");
        assert_eq!((line[0].size, line[0].target, line[0].addend), (8, Target::Code, 0));
        let mut info: Vec<(u8, Target, i64)> =
            relocations(".debug_info").iter().map(|r| (r.size, r.target, r.addend)).collect();
        info.sort_by_key(|r| format!("{r:?}"));
        let want = [
            (4, Target::Section(".debug_abbrev"), 0),
            (4, Target::Section(".debug_line"), 0),
            (8, Target::Code, 0), // the unit's low_pc
            (8, Target::Code, 8), // the entry's
        ];
        assert_eq!(info, want);
        assert!(sections.iter().all(|s| s.name != ".debug_str"), "strings are inline");
    }

    #[test]
    fn names_with_nul_bytes_do_not_panic() {
        for (file, comp_dir) in [("a\0/b\0.b", "\0"), ("\0", ""), ("\0/\0", "/"), ("", "")] {
            let unit = Unit { file, comp_dir, symbol: "bf_p" };
            assert!(!sections(&table(), LAYOUT, &unit).is_empty(), "{file:?} in {comp_dir:?}");
        }
    }

    #[test]
    fn an_empty_program_still_has_its_setup_and_exits() {
        let empty = LineTable { rows: vec![], end: 20 };
        let sections = sections(&empty, Layout { entry: 0, code_end: 30, len: 30 }, &unit());
        assert!(sections.iter().any(|s| s.name == ".debug_line"));
        assert!(sections.iter().any(|s| s.name == ".debug_info"));
    }
}
