//! One host policy: `bfc --jit`, `bfc --interp` and the executables bfc
//! builds end each status with the message and exit code of
//! `bfc::host`'s status table (bfrt.c's is checked against it by unit
//! tests; this checks what the processes actually do).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use bfc::code::{Status, TapeFault};
use bfc::host::{Exit, RunEnd};

const BFC: &str = env!("CARGO_BIN_EXE_bfc");

/// Where a case's stdin and stdout go.
#[derive(Clone, Copy)]
enum Wiring {
    Plain,
    /// stdout is /dev/full: ENOSPC.
    FullDisk,
    /// stdin is a directory: EISDIR.
    DirectoryIn,
    /// stdout is a pipe whose reader is gone: EPIPE.
    ReaderGone,
}

fn wired(mut cmd: Command, wiring: Wiring, dir: &Path) -> Command {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    match wiring {
        Wiring::Plain => {}
        Wiring::FullDisk => {
            cmd.stdout(File::options().write(true).open("/dev/full").unwrap());
        }
        Wiring::DirectoryIn => {
            cmd.stdin(File::open(dir).unwrap());
        }
        Wiring::ReaderGone => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            cmd.stdout(writer);
        }
    }
    cmd
}

#[test]
fn every_mode_ends_a_status_as_the_table_says() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[u8], Wiring, Status, Option<i32>); 5] = [
        (b"+.<+", Wiring::Plain, Status::TapeUnderflow, None),
        (b"+[>+]", Wiring::Plain, Status::TapeOverflow, None),
        (b"+[.]", Wiring::FullDisk, Status::WriteError, Some(libc::ENOSPC)),
        (b",", Wiring::DirectoryIn, Status::ReadError, Some(libc::EISDIR)),
        (b"+[.]", Wiring::ReaderGone, Status::BrokenPipe, Some(libc::EPIPE)),
    ];
    for (i, (source, wiring, status, errno)) in cases.into_iter().enumerate() {
        let src = dir.path().join(format!("p{i}.b"));
        std::fs::write(&src, source).unwrap();
        let exe = dir.path().join(format!("p{i}"));
        let built = Command::new(BFC).args(["--tape-size", "4096", "-o"]).arg(&exe).arg(&src).status().unwrap();
        assert!(built.success(), "building p{i}");
        // Tape errors name the cell, and the command (column 4 of both).
        let fault = match status {
            Status::TapeUnderflow => Some(TapeFault { cell: -1, at: Some(3) }),
            Status::TapeOverflow => Some(TapeFault { cell: 4096, at: Some(3) }),
            _ => None,
        };
        let end = RunEnd { status, io_error: errno.map(std::io::Error::from_raw_os_error), fault };
        let place = if fault.is_some() { format!("{}:1:4: ", src.display()) } else { String::new() };
        let want_stderr = end.message().map_or(String::new(), |m| format!("{place}error: {m}\n"));
        assert_eq!(end.message().is_some(), end.exit() != Exit::Ok);
        let modes = [("--jit", Command::new(BFC)), ("--interp", Command::new(BFC)), ("exe", Command::new(&exe))];
        for (mode, mut cmd) in modes {
            if mode != "exe" {
                // -w: what these programs always do is warned about (tests/lint.rs).
                cmd.args([mode, "-w", "--tape-size", "4096"]).arg(&src);
            }
            let out = wired(cmd, wiring, dir.path()).output().unwrap();
            let label = format!("{mode} {} ({status:?})", String::from_utf8_lossy(source));
            assert_eq!(out.status.code(), Some(end.exit() as i32), "{label}: exit code");
            // The JIT and the interpreter show the line below (an executable
            // has no source).
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.split_inclusive('\n').next().unwrap_or("");
            assert_eq!(first, want_stderr, "{label}: message");
            assert_eq!(stderr.len() > first.len(), fault.is_some() && mode != "exe", "{label}: snippet: {stderr}");
        }
    }
}
