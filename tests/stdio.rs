//! When output reaches stdout (`host::Buffering`, bfrt.c's `output_window`):
//! on a terminal as the program makes it, so a program that prints and then
//! computes for a long time shows what it printed; on a pipe in 64 KiB
//! blocks, unless `-u` (or `BFRT_UNBUFFERED=1` for an executable) asks
//! otherwise. The same in `--jit`, `--interp` and a built executable.
//!
//! Each program here prints, then loops forever: what arrives while it
//! runs is what it wrote out, not what its end flushed. The terminal is a
//! pseudo-terminal made with `posix_openpt`.

mod common;

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::child::chunks;
use common::{bfc_cmd, corpus_dir, run, tempdir, write_file, TIMEOUT};

/// "AB", known at compile time (stored into the buffer as one string), then
/// a loop that never ends.
const KNOWN: &str = "++++++++[>++++++++<-]>+.+.[-]+[]";
/// The byte of input echoed (a `.` of a value known only at run time), then
/// a loop that never ends.
const ECHO: &str = ",.[-]+[]";

/// How long output written at once may take to arrive (a loaded machine).
const ARRIVAL: Duration = Duration::from_secs(20);
/// How long buffered output is watched for not arriving.
const QUIET: Duration = Duration::from_millis(500);

/// A pseudo-terminal: (master, slave).
fn pty() -> (File, OwnedFd) {
    // SAFETY: plain POSIX calls; the descriptors they return are ours, and
    // ptsname_r writes at most buf.len() bytes.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(master >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = File::from_raw_fd(master);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()), 0, "ptsname_r");
        let name = std::ffi::CStr::from_ptr(buf.as_ptr()).to_owned();
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(slave >= 0, "open {name:?}: {}", std::io::Error::last_os_error());
        (master, OwnedFd::from_raw_fd(slave))
    }
}

/// The ways a program runs: `bfc --jit`, `bfc --interp`, an executable.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Jit,
    Interp,
    Exe,
}

const MODES: [Mode; 3] = [Mode::Jit, Mode::Interp, Mode::Exe];

/// The command that runs `source` (saved as `name` in `dir`) in `mode`;
/// `unbuffered` adds `-u`, or `BFRT_UNBUFFERED=1` for an executable.
fn command(dir: &Path, name: &str, source: &str, mode: Mode, unbuffered: bool) -> Command {
    let src = write_file(dir, &format!("{name}.b"), source.as_bytes());
    let run_with = |how: &str| {
        let mut cmd = bfc_cmd([how]);
        if unbuffered {
            cmd.arg("-u");
        }
        cmd.arg(&src);
        cmd
    };
    match mode {
        Mode::Jit => run_with("--jit"),
        Mode::Interp => run_with("--interp"),
        Mode::Exe => {
            let exe = dir.join(name);
            let got = run(bfc_cmd(["-o"]).arg(&exe).arg(&src), b"", TIMEOUT);
            assert!(got.exited(0), "build {name}: {}", got.summary());
            let mut cmd = Command::new(exe);
            if unbuffered {
                cmd.env("BFRT_UNBUFFERED", "1");
            } else {
                cmd.env_remove("BFRT_UNBUFFERED");
            }
            cmd
        }
    }
}

/// Starts `cmd` with stdout `out` and stdin holding `input`; collects what
/// `read` (the other end of stdout) delivers within `within`, or until
/// `want` bytes came; asserts that the program is still running (so the
/// bytes were not flushed by its end), then kills it.
fn watch(mut cmd: Command, input: &[u8], out: OwnedFd, read: File, want: usize, within: Duration) -> Vec<u8> {
    let dir = tempdir();
    let stdin = File::open(write_file(dir.path(), "in", input)).unwrap();
    let mut child = cmd.stdin(stdin).stdout(Stdio::from(out)).stderr(Stdio::null()).spawn().unwrap();
    let arrived = chunks(read);
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        match arrived.recv_timeout(left) {
            Ok(chunk) => got.extend(chunk),
            Err(_) => break,
        }
    }
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running, "{cmd:?} ended: it should loop forever");
    got
}

/// Where a program's stdout goes.
#[derive(Debug, Clone, Copy)]
enum Stdout {
    Terminal,
    /// A pipe, with `-u` (`BFRT_UNBUFFERED=1`) or without.
    Pipe {
        unbuffered: bool,
    },
}

/// Runs the two programs in each mode with stdout going to `stdout`, and
/// checks that what they print arrives while they run (`arrives`) or that
/// nothing does.
fn output_while_running(stdout: Stdout, arrives: bool) {
    let dir = tempdir();
    let unbuffered = matches!(stdout, Stdout::Pipe { unbuffered: true });
    for mode in MODES {
        for (name, source, input, printed) in [("known", KNOWN, &b""[..], "AB"), ("echo", ECHO, b"Z", "Z")] {
            let cmd = command(dir.path(), name, source, mode, unbuffered);
            let (read, write) = match stdout {
                Stdout::Terminal => pty(),
                Stdout::Pipe { .. } => {
                    let (read, write) = common::child::pipe(None);
                    (File::from(read), write)
                }
            };
            let (want, within) = if arrives { (printed, ARRIVAL) } else { ("", QUIET) };
            let got = watch(cmd, input, write, read, want.len().max(1), within);
            assert_eq!(String::from_utf8_lossy(&got), want, "{mode:?} {name} to {stdout:?}");
        }
    }
}

#[test]
fn a_terminal_sees_output_as_it_is_made() {
    output_while_running(Stdout::Terminal, true);
}

#[test]
fn unbuffered_output_reaches_a_pipe_as_it_is_made() {
    output_while_running(Stdout::Pipe { unbuffered: true }, true);
}

/// Without -u a pipe keeps the 64 KiB buffer: nothing is written while the
/// program runs, short of a full buffer, a read or the end.
#[test]
fn a_pipe_gets_buffered_output() {
    output_while_running(Stdout::Pipe { unbuffered: false }, false);
}

/// Unbuffered output is the same output: a program printing 10 KiB, byte by
/// byte and in strings, through a pipe.
#[test]
fn unbuffered_output_is_the_same_output() {
    let dir = tempdir();
    let progs = corpus_dir().join("progs");
    let source = std::fs::read_to_string(progs.join("beer.b")).unwrap();
    let want = std::fs::read(progs.join("beer.out")).unwrap();
    for mode in MODES {
        let got = run(&mut command(dir.path(), "beer", &source, mode, true), b"", TIMEOUT);
        assert!(got.exited(0), "{mode:?} -u beer: {}", got.summary());
        assert!(got.stdout == want, "{mode:?} -u beer: output differs");
    }
}
