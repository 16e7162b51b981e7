//! Object -> native executable: compiles the embedded C runtime and links it
//! with the program's object using the system C compiler.
//!
//! Everything happens in a temporary directory beside the output (so the
//! final rename stays on one filesystem and is atomic); on failure the
//! directory goes and no partial output is left.
//!
//! An output that exists and is not a regular file (`-o /dev/null`, a FIFO,
//! `/dev/stdout`, a symlink) is written through, as `ld` does, instead of
//! being replaced by the rename: a symlink to a regular file has its target
//! replaced atomically; devices and pipes get the bytes written into them.

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

/// The C compiler to use: `$CC`, or `cc`. Like make, `$CC` may carry
/// arguments (`CC="ccache gcc"`, `CC="gcc -m64"`): it is split at blanks.
pub fn c_compiler() -> String {
    std::env::var("CC").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cc".to_string())
}

/// Links `object` with the runtime into an executable at `output`.
pub fn link_executable(object: &[u8], options: &ExeOptions, output: &Path) -> Result<()> {
    link_executable_announced(object, options, output, &mut |_| {})
}

/// `link_executable`, telling `announce` the C compiler's command line
/// (shell-quoted, run in the temporary directory) before running it (`-v`).
pub fn link_executable_announced(
    object: &[u8],
    options: &ExeOptions,
    output: &Path,
    announce: &mut dyn FnMut(&str),
) -> Result<()> {
    let target = Target::of(output)?;
    let dir = temp_dir_beside(target.temp_home(), output)?;
    let werr = |source| Error::WriteOutput { path: output.to_path_buf(), source };
    for (name, text) in RUNTIME_SOURCES {
        fs::write(dir.path().join(name), text).map_err(werr)?;
    }
    fs::write(dir.path().join("prog.o"), object).map_err(werr)?;
    let cc = c_compiler();
    let mut words = cc.split_whitespace();
    let program = words.next().unwrap_or("cc");
    let exe = dir.path().join("a.out");
    let mut command = Command::new(program);
    command
        .args(words)
        .current_dir(dir.path())
        .args(["-std=c11", "-O2", "-o"])
        .arg(&exe)
        .arg(format!("-DBFRT_ENTRY={}", options.symbol))
        .arg(format!("-DBFRT_TAPE_CELLS={}", options.tape_cells))
        .args(["main.c", "bfrt.c", "prog.o"]);
    announce(&command_line(&command));
    let result = command.output().map_err(|source| Error::NoCompiler { cc: cc.clone(), source })?;
    if !result.status.success() {
        return Err(Error::LinkFailed {
            cc,
            status: result.status.to_string(),
            stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
        });
    }
    match target {
        Target::Replace(path) => fs::rename(&exe, path).map_err(werr),
        Target::WriteInto => fs::read(&exe).and_then(|bytes| write_into(output, &bytes)).map_err(werr),
    }
}

/// A command as a shell would need it typed, with the directory it runs in.
fn command_line(command: &Command) -> String {
    let quote = |word: &std::ffi::OsStr| {
        let word = word.to_string_lossy();
        let plain = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=+,:@%".contains(&b));
        if plain {
            word.into_owned()
        } else {
            format!("'{}'", word.replace('\'', "'\\''"))
        }
    };
    let words: Vec<String> = std::iter::once(command.get_program()).chain(command.get_args()).map(quote).collect();
    match command.get_current_dir() {
        Some(dir) => format!("cd {} && {}", quote(dir.as_os_str()), words.join(" ")),
        None => words.join(" "),
    }
}

/// Writes `bytes` to `output` atomically: a temporary file beside it, then
/// a rename.
pub fn write_atomically(output: &Path, bytes: &[u8]) -> Result<()> {
    let werr = |source| Error::WriteOutput { path: output.to_path_buf(), source };
    let path = match Target::of(output)? {
        Target::Replace(path) => path,
        Target::WriteInto => return write_into(output, bytes).map_err(werr),
    };
    let home = parent_of(&path);
    // Objects are not executable: the usual mode (0644 less the umask, which
    // open(2) applies), not tempfile's private 0600.
    let mode = <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644);
    let mut file = tempfile::Builder::new()
        .prefix(".bfc-")
        .permissions(mode)
        .tempfile_in(&home)
        .map_err(|e| werr(in_dir(&home, e)))?;
    file.write_all(bytes).map_err(werr)?;
    file.persist(&path).map_err(|e| werr(e.error))?;
    Ok(())
}

/// Where the finished output goes.
enum Target {
    /// A temporary file beside this path is renamed onto it: the output
    /// does not exist yet or is a regular file (or a symlink to one: then
    /// this is the symlink's target, and the symlink stays).
    Replace(PathBuf),
    /// The output exists and is not a regular file (a device such as
    /// `/dev/null`, a FIFO): the bytes are written into it. Renaming would
    /// replace the device node itself.
    WriteInto,
}

impl Target {
    fn of(output: &Path) -> Result<Target> {
        let werr = |source| Error::WriteOutput { path: output.to_path_buf(), source };
        let link = match fs::symlink_metadata(output) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Replace(output.to_path_buf())),
            Err(e) => return Err(werr(e)),
        };
        if link.is_dir() {
            return Err(werr(std::io::Error::from_raw_os_error(libc::EISDIR)));
        }
        if link.is_file() {
            return Ok(Target::Replace(output.to_path_buf()));
        }
        // A symlink (or something stranger): what does it lead to?
        match fs::metadata(output) {
            Ok(meta) if meta.is_dir() => Err(werr(std::io::Error::from_raw_os_error(libc::EISDIR))),
            Ok(meta) if meta.is_file() => Ok(Target::Replace(fs::canonicalize(output).map_err(werr)?)),
            Ok(_) => Ok(Target::WriteInto),
            // A dangling symlink: writing through it creates its target.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::WriteInto),
            Err(e) => Err(werr(e)),
        }
    }

    /// The directory the temporary files go to.
    fn temp_home(&self) -> PathBuf {
        match self {
            Target::Replace(path) => parent_of(path),
            // Nothing is renamed: any writable place will do.
            Target::WriteInto => std::env::temp_dir(),
        }
    }
}

/// Writes `bytes` into an existing non-regular output (or through a dangling
/// symlink).
fn write_into(output: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).open(output)?;
    file.write_all(bytes)?;
    file.flush()
}

fn temp_dir_beside(home: PathBuf, output: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".bfc-")
        .tempdir_in(&home)
        .map_err(|source| Error::WriteOutput { path: output.to_path_buf(), source: in_dir(&home, source) })
}

/// An error creating a temporary file in `dir`, saying so (the bare OS
/// message, "No such file or directory", would seem to be about the output).
fn in_dir(dir: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!("cannot create a temporary file in {}: {}", dir.display(), crate::error::plain(&e)),
    )
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
