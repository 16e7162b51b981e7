//! Object -> native executable: compiles the embedded C runtime and links it
//! with the program's object using the system C compiler.
//!
//! Everything happens in a temporary directory beside the output (so the
//! final rename stays on one filesystem and is atomic); on failure the
//! directory goes and no partial output is left.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The C runtime, embedded so an installed bfc needs no source tree.
pub const RUNTIME_SOURCES: [(&str, &str); 3] = [
    ("bfrt.h", include_str!("../runtime-c/bfrt.h")),
    ("bfrt.c", include_str!("../runtime-c/bfrt.c")),
    ("main.c", include_str!("../runtime-c/main.c")),
];

/// What the executable's `main` needs to know.
#[derive(Debug, Clone)]
pub struct ExeOptions {
    pub symbol: String,
    pub tape_cells: usize,
}

/// The C compiler to use: `$CC`, or `cc`.
pub fn c_compiler() -> String {
    std::env::var("CC").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cc".to_string())
}

/// Links `object` with the runtime into an executable at `output`.
pub fn link_executable(object: &[u8], options: &ExeOptions, output: &Path) -> Result<()> {
    let dir = temp_dir_beside(output)?;
    let werr = |source| Error::WriteOutput { path: output.to_path_buf(), source };
    for (name, text) in RUNTIME_SOURCES {
        fs::write(dir.path().join(name), text).map_err(werr)?;
    }
    fs::write(dir.path().join("prog.o"), object).map_err(werr)?;
    let cc = c_compiler();
    let exe = dir.path().join("a.out");
    let mut command = Command::new(&cc);
    command
        .current_dir(dir.path())
        .args(["-std=c11", "-O2", "-o"])
        .arg(&exe)
        .arg(format!("-DBFRT_ENTRY={}", options.symbol))
        .arg(format!("-DBFRT_TAPE_CELLS={}", options.tape_cells))
        .args(["main.c", "bfrt.c", "prog.o"]);
    let result = command.output().map_err(|source| Error::NoCompiler { cc: cc.clone(), source })?;
    if !result.status.success() {
        return Err(Error::LinkFailed { cc, stderr: String::from_utf8_lossy(&result.stderr).into_owned() });
    }
    fs::rename(&exe, output).map_err(werr)
}

/// Writes `bytes` to `output` atomically: a temporary file beside it, then
/// a rename.
pub fn write_atomically(output: &Path, bytes: &[u8]) -> Result<()> {
    let werr = |source| Error::WriteOutput { path: output.to_path_buf(), source };
    let mut file = tempfile::Builder::new().prefix(".bfc-").tempfile_in(parent_of(output)).map_err(werr)?;
    file.write_all(bytes).map_err(werr)?;
    // Objects are not executable; give them the usual mode, not tempfile's 0600.
    let mode = <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644 & !umask());
    fs::set_permissions(file.path(), mode).map_err(werr)?;
    file.persist(output).map_err(|e| werr(e.error))?;
    Ok(())
}

fn temp_dir_beside(output: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".bfc-")
        .tempdir_in(parent_of(output))
        .map_err(|source| Error::WriteOutput { path: output.to_path_buf(), source })
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn umask() -> u32 {
    // SAFETY: umask only swaps the process mask; it is set straight back.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}
