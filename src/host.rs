//! The host policy of a run, for every mode: what a run's end means (the
//! status table: message and exit code), how the standard streams are
//! used (raw descriptors, waited on when non-blocking, one buffer size,
//! output written at once to a terminal: `Buffering`) and which of them
//! the process started without; and the one allocator setting of the bfc
//! process.
//!
//! The JIT, the interpreter and `main.rs` use this; `runtime-c/bfrt.c` is
//! the same policy in C for built executables, and the tests below check
//! that the two agree, as `code.rs`'s tests check the runtime table against
//! bfrt.h. It knows nothing of how the code was produced or is run (no
//! `Runtime` table, no tape, no signals: those are jit.rs's).

use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::code::{Status, TapeFault};

/// Bytes of each I/O buffer of a run: the output buffer of the JIT and the
/// interpreter, the JIT's input buffer (`IO_BUF_SIZE` in bfrt.c).
pub const IO_BUF_SIZE: usize = 1 << 16;

/// When a run's output is written: the same policy in the JIT, the
/// interpreter and executables (`out_end` in bfrt.c's `bfrt_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffering {
    /// Collected in a buffer of `IO_BUF_SIZE` bytes, written when it is
    /// full, before the program waits for input and at the end: pipes and
    /// files, where one write(2) per 64 KiB is what keeps output fast.
    Full,
    /// Written as the program makes it: each `.` (each string the compiler
    /// worked out) is one write(2). On a terminal, where someone watches the
    /// output come (a program that prints digits as it computes them, with
    /// no newline, must not look frozen, so line buffering is not enough),
    /// and where asked (`bfc -u`, `BFRT_UNBUFFERED=1` for executables).
    Unbuffered,
}

impl Buffering {
    /// `Unbuffered` if asked for or if `fd` is a terminal, else `Full`.
    pub fn choose(unbuffered: bool, fd: RawFd) -> Buffering {
        // SAFETY: isatty only queries the descriptor (false for -1).
        if unbuffered || unsafe { libc::isatty(fd) } == 1 {
            Buffering::Unbuffered
        } else {
            Buffering::Full
        }
    }

    /// Bytes of output collected before they are written: the distance of
    /// `out_end` from `out_buf` (the buffer itself is `IO_BUF_SIZE` bytes
    /// either way, for the short strings generated code stores whole before
    /// it checks).
    pub fn window(self) -> usize {
        match self {
            Buffering::Full => IO_BUF_SIZE,
            Buffering::Unbuffered => 1,
        }
    }
}

/// The cells a dump (`#` with `--hash-dump`) shows left and right of the
/// pointer's (`DUMP_BEFORE`/`DUMP_AFTER` in bfrt.c).
pub const DUMP_BEFORE: i64 = 4;
pub const DUMP_AFTER: i64 = 11;

/// Writes a dump's line to stderr: a dump that cannot be written is lost,
/// as a diagnostic would be, and the run goes on.
pub fn write_dump(line: &str) {
    let _ = write_all(std_fd(2), line.as_bytes());
}

/// A dump's line, the same in every mode (`dump_line` in bfrt.c): the
/// number of the pointer's cell (cell 0: where it started), then in
/// brackets the number of the first cell shown and the cells from
/// `DUMP_BEFORE` left of it to `DUMP_AFTER` right, the pointer's between
/// `>` `<`, `--` for cells off the tape (`cell` gives None for them),
/// values in decimal at the cells' width (`--cell-bits`):
///
/// ```text
/// # ptr 1: [-3] -- -- -- 2 >3< 0 0 0 0 0 0 0 0 0 0 0
/// ```
pub fn dump_line(ptr: i64, cell: impl Fn(i64) -> Option<u32>) -> String {
    use std::fmt::Write as _;
    let first = ptr.wrapping_sub(DUMP_BEFORE);
    let mut line = format!("# ptr {ptr}: [{first}]");
    for k in 0..=DUMP_BEFORE + DUMP_AFTER {
        let at = first.wrapping_add(k);
        let value = cell(at).map_or_else(|| "--".to_string(), |v| v.to_string());
        let _ = if at == ptr { write!(line, " >{value}<") } else { write!(line, " {value}") };
    }
    line.push('\n');
    line
}

/// The exit codes of bfc: those of a run (`BF_EXIT_*` in bfrt.h, which
/// built executables exit with too) and the compiler's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success, also when stdout's reader went away early.
    Ok = 0,
    /// Bad source, unreadable input, failed output or link.
    Compile = 1,
    /// A bad option or combination; from `bfrt_run_checked`, code run on
    /// another tape than it was compiled for.
    Usage = 2,
    /// At run time: tape underflow or overflow.
    Tape = 3,
    /// At run time: an I/O error (stdout full, stdin unreadable).
    Io = 4,
    /// `--verify`: the optimised code and the interpreter differ (bfc
    /// only: executables never exit with it).
    Diverged = 5,
    /// A bug in bfc.
    Internal = 101,
}

/// One row of the status table.
#[derive(Debug, Clone, Copy)]
pub struct StatusRow {
    pub status: Status,
    /// A stable name of the status, for tools (`--error-format json`).
    pub code: &'static str,
    /// What happened, the start of the message.
    pub what: &'static str,
    /// The rest of the message; for an I/O error, what is said when the
    /// OS error is not known (the OS error's text takes its place).
    pub detail: Option<&'static str>,
    /// A run ending so exits with this; the message is printed only when
    /// it is not `Exit::Ok`.
    pub exit: Exit,
}

/// Status -> message -> exit code, in the order of `enum bf_status`; the
/// same rows as `statuses[]` in bfrt.c.
pub const STATUS_TABLE: [StatusRow; 7] = [
    StatusRow { status: Status::Ok, code: "ok", what: "success", detail: None, exit: Exit::Ok },
    StatusRow {
        status: Status::TapeUnderflow,
        code: "tape-underflow",
        what: "tape underflow",
        detail: Some("a cell left of cell 0 was touched"),
        exit: Exit::Tape,
    },
    StatusRow {
        status: Status::TapeOverflow,
        code: "tape-overflow",
        what: "tape overflow",
        detail: Some("a cell past the end of the tape was touched"),
        exit: Exit::Tape,
    },
    StatusRow {
        status: Status::WriteError,
        code: "write-error",
        what: "write error",
        detail: Some("cannot write to stdout"),
        exit: Exit::Io,
    },
    StatusRow {
        status: Status::ReadError,
        code: "read-error",
        what: "read error",
        detail: Some("cannot read from stdin"),
        exit: Exit::Io,
    },
    StatusRow {
        status: Status::BrokenPipe,
        code: "broken-pipe",
        what: "broken pipe",
        detail: Some("the reader of stdout went away"),
        exit: Exit::Ok,
    },
    StatusRow {
        status: Status::ContractMismatch,
        code: "contract-mismatch",
        what: "contract mismatch",
        detail: Some("the program was compiled for another tape or cell size"),
        exit: Exit::Usage,
    },
];

/// The row of `status`.
pub fn row(status: Status) -> &'static StatusRow {
    &STATUS_TABLE[status as usize]
}

/// How a run of a program ended (in the JIT or the interpreter).
#[derive(Debug)]
pub struct RunEnd {
    pub status: Status,
    /// The OS error behind a `WriteError` or `ReadError`.
    pub io_error: Option<io::Error>,
    /// Where a `TapeUnderflow` or `TapeOverflow` happened.
    pub fault: Option<TapeFault>,
}

impl RunEnd {
    /// The exit code the run ends bfc with.
    pub fn exit(&self) -> Exit {
        row(self.status).exit
    }

    /// What to say on stderr (after "error: "), if anything.
    pub fn message(&self) -> Option<String> {
        (self.exit() != Exit::Ok).then(|| self.text())
    }

    /// The status in words (`bfrt_status_message`).
    pub fn text(&self) -> String {
        let row = row(self.status);
        let detail = match (&self.io_error, self.fault) {
            (Some(e), _) => Some(crate::error::plain(e)),
            (None, Some(fault)) => Some(fault_detail(self.status, fault.cell)),
            (None, None) => row.detail.map(str::to_string),
        };
        match detail {
            Some(detail) => format!("{}: {detail}", row.what),
            None => row.what.to_string(),
        }
    }
}

/// What a tape error says of the cell touched (bfrt.c's `fault_detail`
/// says the same).
fn fault_detail(status: Status, cell: i64) -> String {
    if status == Status::TapeUnderflow {
        format!("cell {cell} touched (pointer moved left off the tape)")
    } else {
        format!("cell {cell} touched (pointer moved right off the tape)")
    }
}

/// The file descriptors a run reads and writes: by default 0 and 1. A
/// negative descriptor stands for a closed one: every read or write on it
/// fails with `EBADF`, as on a descriptor the process was started without.
#[derive(Debug, Clone, Copy)]
pub struct Fds {
    pub input: RawFd,
    pub output: RawFd,
}

impl Default for Fds {
    fn default() -> Self {
        Fds { input: 0, output: 1 }
    }
}

impl Fds {
    /// The process's stdin and stdout, as it was started with them: one it
    /// was started without stays closed (see `closed_at_start`).
    pub fn std() -> Fds {
        Fds { input: std_fd(0), output: std_fd(1) }
    }
}

/// Which of the standard descriptors 0, 1, 2 were closed when the process
/// started (bit `fd`). Rust's runtime opens /dev/null on them before `main`,
/// which would make a program run with stdout closed write into nothing
/// forever, and one with stdin closed see end of input; executables built by
/// bfc see `EBADF` instead, and so must the JIT and the interpreter.
static CLOSED_AT_START: AtomicU8 = AtomicU8::new(0);

/// Runs from `.init_array`, before Rust's runtime touches the descriptors
/// (its start-up code runs from `main`, after every `.init_array` entry);
/// only place this runs early enough. `#[used]` keeps it in the lib's
/// object, and rustc links every `#[used]` static of an rlib in.
extern "C" fn record_closed_std_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            CLOSED_AT_START.fetch_or(1 << fd, Ordering::Relaxed);
        }
    }
}

#[used]
#[link_section = ".init_array"]
static RECORD_CLOSED_STD_FDS: extern "C" fn() = record_closed_std_fds;

/// Was `fd` (0, 1 or 2) closed when the process started?
pub fn closed_at_start(fd: RawFd) -> bool {
    (0..3).contains(&fd) && CLOSED_AT_START.load(Ordering::Relaxed) & (1 << fd) != 0
}

/// `fd` (0, 1 or 2), or -1 if the process started without it.
fn std_fd(fd: RawFd) -> RawFd {
    if closed_at_start(fd) {
        -1
    } else {
        fd
    }
}

/// Waits until `fd` is ready for `events` (for a descriptor someone left
/// non-blocking); false if it never will be.
pub fn wait_fd(fd: RawFd, events: libc::c_short) -> bool {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    loop {
        // SAFETY: polls one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, -1) };
        if r > 0 {
            return true;
        }
        if r < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return false;
    }
}

/// One read(2) of up to `buf.len()` bytes: retried when interrupted, waited
/// for on a non-blocking descriptor. `Ok(0)` is end of input for now: the
/// next read tries again (on a terminal, input goes on after a ^D).
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: reads into a valid, writable slice.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock if wait_fd(fd, libc::POLLIN) => {}
            _ => return Err(e),
        }
    }
}

/// Writes all of `bytes` with write(2): retried when interrupted, waited for
/// on a non-blocking descriptor; a write that takes nothing and reports no
/// error is `EIO` rather than a spin. A reader that went away is
/// `ErrorKind::BrokenPipe` (bfc ignores SIGPIPE, as Rust programs do).
pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: writes from a valid slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock if wait_fd(fd, libc::POLLOUT) => continue,
                _ => return Err(e),
            }
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// The status a run ends with when writing its output failed: a reader
/// that went away stops it quietly.
pub fn write_failure(e: &io::Error) -> Status {
    match e.kind() {
        io::ErrorKind::BrokenPipe => Status::BrokenPipe,
        _ => Status::WriteError,
    }
}

/// A standard stream as the interpreter and `main.rs` use it: the raw
/// descriptor (not Rust's `Stdin`/`Stdout`, which would read and write the
/// /dev/null put in place of a closed one, and drop `EBADF`), with the
/// policy of `read` and `write_all`, remembering its last error for the
/// message. Unbuffered: wrap the input in a `BufReader`.
#[derive(Debug)]
pub struct Stream {
    fd: RawFd,
    pub error: Option<io::Error>,
}

impl Stream {
    pub fn stdin() -> Stream {
        Stream { fd: std_fd(0), error: None }
    }

    pub fn stdout() -> Stream {
        Stream { fd: std_fd(1), error: None }
    }

    /// Where dumps go (`Op::Dump`).
    pub fn stderr() -> Stream {
        Stream { fd: std_fd(2), error: None }
    }

    /// Keeps `e` for the message and hands a copy to the caller.
    fn failed(&mut self, e: io::Error) -> io::Error {
        let copy = match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(e.kind(), e.to_string()),
        };
        self.error = Some(e);
        copy
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read(self.fd, buf).map_err(|e| self.failed(e))
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_all(self.fd, buf).map_err(|e| self.failed(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Tunes glibc's allocator for the compiler's passes, which each build a
/// new IR as large as the last and free the old one: big blocks come from
/// the heap instead of a fresh `mmap` each (`M_MMAP_THRESHOLD`), and freed
/// memory is not handed back (`M_TRIM_THRESHOLD`), so a pass reuses the
/// pages the previous one freed instead of faulting in zeroed ones. For
/// the bfc process only (its `main` calls it first), not for library users.
/// Measured on a generated 10 MiB program, `bfc -c`: 0.82x the wall time
/// (system time 0.26 -> 0.10 s), peak RSS unchanged (253 MiB); 1 MiB: 0.94x;
/// a small `--jit` run: no change.
pub fn keep_freed_memory() {
    // SAFETY: mallopt only changes two allocator parameters; glibc's
    // allocator takes its own lock for it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::BFRT_H;
    use crate::link::RUNTIME_SOURCES;

    fn bfrt_c() -> &'static str {
        RUNTIME_SOURCES.iter().find(|(name, _)| *name == "bfrt.c").expect("bfrt.c is embedded").1
    }

    /// The value of `#define NAME VALUE` in bfrt.h.
    fn header_define(name: &str) -> i64 {
        let prefix = format!("#define {name} ");
        let line =
            BFRT_H.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{name} not in bfrt.h"));
        line.trim().parse().unwrap_or_else(|_| panic!("{name}: '{line}' is not a number"))
    }

    #[test]
    fn status_table_is_in_status_order() {
        for (i, row) in STATUS_TABLE.iter().enumerate() {
            assert_eq!(row.status as usize, i);
            assert_eq!(Status::from_raw(i as i32), Some(row.status));
        }
    }

    #[test]
    fn exit_codes_match_bfrt_h() {
        assert_eq!(header_define("BF_EXIT_OK"), Exit::Ok as i64);
        assert_eq!(header_define("BF_EXIT_TAPE"), Exit::Tape as i64);
        assert_eq!(header_define("BF_EXIT_IO"), Exit::Io as i64);
        assert_eq!(header_define("BF_EXIT_USAGE"), Exit::Usage as i64);
    }

    /// Each row of `statuses[]` in bfrt.c, `[BF_NAME] = {"what: detail", BF_EXIT_X},`,
    /// says what this table's row says, and there are no others.
    #[test]
    fn status_table_matches_bfrt_c() {
        let c_name = |status| match status {
            Status::Ok => "BF_OK",
            Status::TapeUnderflow => "BF_TAPE_UNDERFLOW",
            Status::TapeOverflow => "BF_TAPE_OVERFLOW",
            Status::WriteError => "BF_WRITE_ERROR",
            Status::ReadError => "BF_READ_ERROR",
            Status::BrokenPipe => "BF_BROKEN_PIPE",
            Status::ContractMismatch => "BF_CONTRACT_MISMATCH",
        };
        let exit_name = |exit| match exit {
            Exit::Ok => "BF_EXIT_OK",
            Exit::Tape => "BF_EXIT_TAPE",
            Exit::Io => "BF_EXIT_IO",
            Exit::Usage => "BF_EXIT_USAGE",
            other => panic!("a run does not exit with {other:?}"),
        };
        let rows: Vec<&str> = bfrt_c().lines().map(str::trim).filter(|l| l.starts_with("[BF_")).collect();
        assert_eq!(rows.len(), STATUS_TABLE.len(), "rows of statuses[] in bfrt.c: {rows:#?}");
        for row in STATUS_TABLE {
            let message = RunEnd { status: row.status, io_error: None, fault: None }.text();
            let want = format!("[{}] = {{\"{message}\", {}}},", c_name(row.status), exit_name(row.exit));
            assert!(rows.contains(&want.as_str()), "bfrt.c has no row {want}\nit has: {rows:#?}");
        }
    }

    #[test]
    fn io_buffer_size_matches_bfrt_c() {
        let line = bfrt_c().lines().find_map(|l| l.strip_prefix("#define IO_BUF_SIZE ")).expect("IO_BUF_SIZE");
        assert_eq!(line.trim(), "((size_t)1 << 16)");
        assert_eq!(IO_BUF_SIZE, 1 << 16);
    }

    /// bfrt.c's `output_window` is `Buffering::choose(env, 1).window()`.
    #[test]
    fn buffering_matches_bfrt_c() {
        assert!(bfrt_c().contains("getenv(\"BFRT_UNBUFFERED\")"));
        assert!(bfrt_c().contains("return asked || isatty(STDOUT_FILENO) ? 1 : IO_BUF_SIZE;"));
        assert_eq!(Buffering::Unbuffered.window(), 1);
        assert_eq!(Buffering::Full.window(), IO_BUF_SIZE);
        assert_eq!(Buffering::choose(true, -1), Buffering::Unbuffered);
        assert_eq!(Buffering::choose(false, -1), Buffering::Full);
    }

    #[test]
    fn a_dump_line_shows_the_window_around_the_pointer() {
        let on_tape = |cell: i64| (-1..6).contains(&cell).then_some(cell as u32 + 1);
        assert_eq!(dump_line(2, on_tape), "# ptr 2: [-2] -- 0 1 2 >3< 4 5 6 -- -- -- -- -- -- -- --\n");
        assert_eq!(dump_line(-9, on_tape), "# ptr -9: [-13] -- -- -- -- >--< -- -- -- -- -- -- -- 0 1 2 3\n");
        assert_eq!(dump_line(0, |_| Some(255)).split(' ').count(), 4 + 16);
    }

    /// bfrt.c's `rt_dump` shows the same window with the same format.
    #[test]
    fn dump_window_and_format_match_bfrt_c() {
        let c = bfrt_c();
        assert!(c.contains(&format!("#define DUMP_BEFORE {DUMP_BEFORE}\n")));
        assert!(c.contains(&format!("#define DUMP_AFTER {DUMP_AFTER}\n")));
        assert!(c.contains(r##""# ptr %lld: [%lld]""##));
        assert!(c.contains(r#"cell == at ? " >%s<" : " %s""#));
        assert!(c.contains(r#"char value[12] = "--";"#));
    }

    #[test]
    fn messages_and_exit_codes() {
        let end = |status, io_error| RunEnd { status, io_error, fault: None };
        assert_eq!(end(Status::Ok, None).message(), None);
        assert_eq!(end(Status::BrokenPipe, None).message(), None);
        assert_eq!(end(Status::BrokenPipe, None).exit(), Exit::Ok);
        assert_eq!(
            end(Status::TapeUnderflow, None).message().unwrap(),
            "tape underflow: a cell left of cell 0 was touched"
        );
        assert_eq!(end(Status::TapeOverflow, None).exit(), Exit::Tape);
        let enospc = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(end(Status::WriteError, Some(enospc)).message().unwrap(), "write error: No space left on device");
        assert_eq!(end(Status::ReadError, None).message().unwrap(), "read error: cannot read from stdin");
        assert_eq!(end(Status::ReadError, None).exit(), Exit::Io);
    }

    /// A pipe: (read end, write end).
    fn pipe() -> (RawFd, RawFd) {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe() writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    }

    fn close(fd: RawFd) {
        // SAFETY: closes a descriptor this test opened.
        unsafe { libc::close(fd) };
    }

    #[test]
    fn a_closed_descriptor_fails_with_ebadf_and_the_stream_keeps_the_error() {
        let mut stream = Stream { fd: -1, error: None };
        let e = stream.write_all(b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
        assert_eq!(stream.error.take().and_then(|e| e.raw_os_error()), Some(libc::EBADF));
        assert!(stream.read(&mut [0; 4]).is_err());
        assert_eq!(stream.error.and_then(|e| e.raw_os_error()), Some(libc::EBADF));
    }

    #[test]
    fn a_reader_gone_is_a_broken_pipe_and_eof_is_read_again() {
        let (r, w) = pipe();
        write_all(w, b"ab").unwrap();
        close(w);
        let mut buf = [0; 8];
        assert_eq!(read(r, &mut buf).unwrap(), 2);
        assert_eq!(read(r, &mut buf).unwrap(), 0);
        assert_eq!(read(r, &mut buf).unwrap(), 0);
        close(r);
        let (r, w) = pipe();
        close(r);
        let e = write_all(w, b"x").unwrap_err();
        assert_eq!(write_failure(&e), Status::BrokenPipe);
        close(w);
        assert_eq!(write_failure(&io::Error::from_raw_os_error(libc::ENOSPC)), Status::WriteError);
    }
}
