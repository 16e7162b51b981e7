//! Tricks with child processes: running part of a test in this test binary
//! started again (for what may crash the process), running a command with a
//! standard descriptor closed, raw pipes (optionally non-blocking), and
//! reading a pipe as the bytes come. Knows nothing about particular tests.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::{collect, tempdir, Run};

/// Set, to the case to run, in a test binary started by [`run_child`].
const CHILD: &str = "BFC_TEST_CHILD";
/// The file the child's fd 1 goes to (see [`child_stdout`]).
const CHILD_OUT: &str = "BFC_TEST_CHILD_OUT";

/// In a child started by [`run_child`]: the case it was given.
pub fn child_case() -> Option<String> {
    std::env::var(CHILD).ok()
}

/// Runs the test `test` of this binary again in a child process, which
/// [`child_case`] tells it is one and gives `case`; what the child writes to
/// fd 1 is returned as stdout.
pub fn run_child(test: &str, case: &str, stdin: Stdio, timeout: Duration) -> Run {
    let dir = tempdir();
    let out = dir.path().join("stdout");
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, case)
        .env(CHILD_OUT, &out)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut got = collect(cmd.spawn().unwrap(), b"", timeout);
    got.stdout = std::fs::read(&out).unwrap_or_default();
    got
}

/// In a child: fd 1 goes to the file the parent reads (the test harness
/// prints on the real one).
pub fn child_stdout() {
    let path = std::env::var(CHILD_OUT).expect("child output file");
    let file = std::fs::File::create(path).unwrap();
    // SAFETY: duplicates a descriptor we own onto 1.
    assert!(unsafe { libc::dup2(file.as_raw_fd(), 1) } == 1);
}

/// `sh -c 'exec PROGRAM ARGS <&-'` (or `>&-`): `cmd` run with that
/// descriptor closed.
pub fn with_closed(fd: &str, cmd: &Command) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(format!("exec \"$0\" \"$@\" {fd}&-")).arg(cmd.get_program()).args(cmd.get_args());
    sh
}

/// A pipe: (read end, write end). The end `nonblocking` (0 read, 1 write),
/// if any, is O_NONBLOCK.
pub fn pipe(nonblocking: Option<usize>) -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fresh descriptors, which we then own.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        if let Some(end) = nonblocking {
            let flags = libc::fcntl(fds[end], libc::F_GETFL);
            assert_eq!(libc::fcntl(fds[end], libc::F_SETFL, flags | libc::O_NONBLOCK), 0);
        }
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    }
}

/// Reads `pipe` on a thread; each chunk arrives on the channel.
pub fn chunks(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}
