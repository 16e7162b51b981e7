//! bfc as a library: the compile pipeline, stage by stage.
//!
//! source --parse--> ir::Program --opt--> ir::Program --x64--> code::CompiledCode
//!   --> jit (run in memory) | object (ELF .o) --> link (executable)
//!
//! Data flows one way down this list; a stage never reaches back.

pub mod code;
pub mod error;
pub mod interp;
pub mod ir;
pub mod parse;
