//! Runs `CompiledCode` in memory: the only home of the JIT's `unsafe`.
//!
//! The code is copied into a fresh mapping that is writable, then made
//! executable and read-only (never both at once). The tape is surrounded by
//! inaccessible guard areas; a fault there, raised by the generated code, is
//! turned by a signal handler into a tape error: the handler moves the
//! faulting thread to the code's `fault_resume` exit, which flushes output
//! and returns the status. Every other fault is handed back to whoever
//! handled it before, so real crashes stay crashes.
//!
//! The Rust side of the runtime interface (`write`, `read`) lives here too,
//! as calls into `host` (which owns how the streams are read and written);
//! no panic crosses into the generated code.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::code::{
    CodePosition, CompiledCode, EntryFn, Runtime, Status, TapeFault, GUARD_BYTES, READ_EOF, READ_FAILED,
};
pub use crate::host::Fds;
use crate::host::{self, Buffering, RunEnd, IO_BUF_SIZE};

/// Why `LoadedCode::run` returned no `RunEnd`.
#[derive(Debug)]
pub enum RunError {
    /// The tape, the buffers or the fault handler could not be set up.
    Setup(io::Error),
    /// A runtime callback panicked: a bug, not an I/O problem.
    CallbackPanicked,
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Setup(e)
    }
}

/// Code mapped executable (and not writable).
pub struct LoadedCode {
    map: Mapping,
    entry: usize,
    positions: Vec<CodePosition>,
    /// Bytes of a cell of the code's (`CompiledCode::cell_bits`).
    cell_bytes: usize,
}

impl LoadedCode {
    pub fn load(code: &CompiledCode) -> io::Result<LoadedCode> {
        let mut map = Mapping::new(code.bytes.len().max(1))?;
        map.as_mut_slice()[..code.bytes.len()].copy_from_slice(&code.bytes);
        // SAFETY: flips our own mapping from writable to executable; it is
        // not written again.
        if unsafe { libc::mprotect(map.ptr.cast(), map.len, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let cell_bytes = code.cell_bits as usize / 8;
        Ok(LoadedCode { map, entry: code.entry, positions: code.positions.clone(), cell_bytes })
    }

    /// The bytes as mapped: what actually runs.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_slice()
    }

    /// Runs the code on a fresh tape of `cells` cells, with the process's
    /// stdin and stdout.
    pub fn run(&self, cells: usize) -> Result<RunEnd, RunError> {
        self.run_with(cells, Fds::default())
    }

    /// Runs the code on a fresh tape of `cells` cells, reading and writing
    /// `fds`; output is unbuffered if `fds.output` is a terminal.
    pub fn run_with(&self, cells: usize, fds: Fds) -> Result<RunEnd, RunError> {
        self.run_buffered(cells, 0, fds, Buffering::choose(false, fds.output))
    }

    /// Runs the code on a fresh tape of `cells` cells, the first
    /// `left_margin` of them left of where the program starts (fewer than
    /// `cells`), reading and writing `fds`, its output buffered as
    /// `buffering` says.
    pub fn run_buffered(
        &self,
        cells: usize,
        left_margin: usize,
        fds: Fds,
        buffering: Buffering,
    ) -> Result<RunEnd, RunError> {
        self.run_fed(cells, left_margin, fds, buffering, &[])
    }

    /// `run_buffered`, the program reading `input` before anything from
    /// `fds.input` (`--bang`'s bytes after `!`, `--verify`'s whole input):
    /// the input buffer starts as `input` itself, and the first refill
    /// reads the descriptor.
    pub fn run_fed(
        &self,
        cells: usize,
        left_margin: usize,
        fds: Fds,
        buffering: Buffering,
        input: &[u8],
    ) -> Result<RunEnd, RunError> {
        let tape = Tape::new(cells, left_margin, self.cell_bytes)?;
        let (out, inp) = (Mapping::buffer(IO_BUF_SIZE)?, Mapping::buffer(IO_BUF_SIZE)?);
        let mut host = Host { out, inp, fds, error: None, panicked: false, cell_bytes: self.cell_bytes };
        let mut rt = Runtime {
            out_buf: host.out.ptr,
            // SAFETY: within the buffer or one past its end (window <=
            // IO_BUF_SIZE).
            out_end: unsafe { host.out.ptr.add(buffering.window()) },
            write: host_write,
            read: host_read,
            tape_start: tape.start,
            tape_end: tape.end,
            code_start: ptr::null(),
            code_end: ptr::null(),
            fault_resume: ptr::null(),
            host: (&mut host as *mut Host).cast(),
            // Generated code only reads in_cur..in_end, and `host_read`
            // replaces both: `input` outlives the run.
            in_cur: input.as_ptr(),
            in_end: input.as_ptr_range().end,
            fault_pc: ptr::null(),
            fault_addr: ptr::null(),
            dump: host_dump,
            cell0: tape.cell0,
        };
        // One run at a time in a process: the fault handler and `CURRENT`
        // are the process's, so a second run's would take the first's
        // faults (seen as a hang: each put the other's handler back).
        let _one_at_a_time = RUNNING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _handler = FaultHandler::install(&mut rt)?;
        // SAFETY: the bytes were produced by x64::compile for the contract in
        // code.rs: they take the tape and the table, touch only the tape
        // (faults there are handled above) and call only the table's
        // functions, which catch their own panics.
        let raw = unsafe {
            let entry: EntryFn = std::mem::transmute(self.map.ptr.add(self.entry));
            entry(tape.cell0, &mut rt)
        };
        drop(_handler);
        let status = Status::from_raw(raw).unwrap_or(Status::WriteError);
        if host.panicked {
            return Err(RunError::CallbackPanicked);
        }
        let fault = matches!(status, Status::TapeUnderflow | Status::TapeOverflow).then(|| self.fault(&rt, &tape));
        Ok(RunEnd { status, io_error: host.error.take(), fault })
    }

    /// Where the tape error that ended a run happened: the fault handler or
    /// the failed check left the code and cell addresses in `rt`.
    fn fault(&self, rt: &Runtime, tape: &Tape) -> TapeFault {
        let code = (rt.fault_pc as usize).wrapping_sub(self.map.ptr as usize);
        TapeFault {
            cell: (rt.fault_addr as i64).wrapping_sub(tape.cell0 as i64).div_euclid(self.cell_bytes as i64),
            at: crate::code::position_in(&self.positions, code),
        }
    }
}

/// The host's side of a run, reached through `Runtime::host`.
struct Host {
    out: Mapping,
    inp: Mapping,
    fds: Fds,
    error: Option<io::Error>,
    panicked: bool,
    /// Bytes of a cell (1, 2 or 4), for dumps.
    cell_bytes: usize,
}

/// Runs a callback body, turning a panic into `failed` so that it never
/// unwinds into generated code.
fn guarded(rt: *mut Runtime, failed: i32, body: impl FnOnce(&mut Host) -> i32) -> i32 {
    // SAFETY: `host` points at the Host of the running `LoadedCode::run`,
    // which outlives the call; generated code runs on this thread only.
    let host = unsafe { &mut *((*rt).host as *mut Host) };
    match catch_unwind(AssertUnwindSafe(|| body(&mut *host))) {
        Ok(v) => v,
        Err(_) => {
            host.panicked = true;
            failed
        }
    }
}

/// `Runtime::write`: writes `len` bytes of output.
///
/// # Safety
/// Called by generated code only: `rt` is the live table of a run of
/// `LoadedCode::run_with` and `buf..buf + len` lies in its output buffer.
unsafe extern "C" fn host_write(rt: *mut Runtime, buf: *const u8, len: usize) -> i32 {
    // SAFETY: generated code passes a range of its output buffer.
    let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
    guarded(rt, Status::WriteError as i32, |host| match host::write_all(host.fds.output, bytes) {
        Ok(()) => Status::Ok as i32,
        Err(e) => {
            let status = host::write_failure(&e);
            if status == Status::WriteError {
                host.error = Some(e);
            }
            status as i32
        }
    })
}

/// `Runtime::read`, called when the input buffer is used up: refills it.
///
/// # Safety
/// Called by generated code only: `rt` is the live table of a run of
/// `LoadedCode::run_with`.
unsafe extern "C" fn host_read(rt: *mut Runtime) -> i32 {
    guarded(rt, READ_FAILED, |host| {
        let n = match host::read(host.fds.input, host.inp.as_mut_slice()) {
            Ok(0) => return READ_EOF,
            Ok(n) => n,
            Err(e) => {
                host.error = Some(e);
                return READ_FAILED;
            }
        };
        let start = host.inp.ptr.cast_const();
        // SAFETY: rt is the live table of this run; the pointers stay
        // within the buffer just filled.
        unsafe {
            (*rt).in_cur = start.add(1);
            (*rt).in_end = start.add(n);
        }
        host.inp.as_slice()[0] as i32
    })
}

/// `Runtime::dump`, for `#`: writes the dump's line (`host::dump_line`) to
/// stderr, reading only cells on the tape.
///
/// # Safety
/// Called by generated code only: `rt` is the live table of a run of
/// `LoadedCode::run_with`.
unsafe extern "C" fn host_dump(rt: *mut Runtime, ptr: *const u8) -> i32 {
    // SAFETY: rt is the live table of this run; its tape bounds and cell 0
    // are those of the tape `Tape::new` made accessible.
    let (start, end, cell0) = unsafe { ((*rt).tape_start as usize, (*rt).tape_end as usize, (*rt).cell0 as usize) };
    guarded(rt, Status::WriteError as i32, |host| {
        let bytes = host.cell_bytes;
        let at = |cell: i64| cell0.wrapping_add_signed((cell as isize).wrapping_mul(bytes as isize));
        let ptr = ((ptr as usize).wrapping_sub(cell0) as isize / bytes as isize) as i64;
        let line = host::dump_line(ptr, |cell| {
            // SAFETY: the address of a whole cell between the tape's
            // bounds (the tape holds whole cells from cell 0 on), readable
            // and aligned to the cell's size (the tape's end is page aligned).
            (start..end).contains(&at(cell)).then(|| unsafe {
                match bytes {
                    1 => *(at(cell) as *const u8) as u32,
                    2 => *(at(cell) as *const u16) as u32,
                    _ => *(at(cell) as *const u32),
                }
            })
        });
        host::write_dump(&line);
        Status::Ok as i32
    })
}

/// A fresh anonymous private mapping, made readable and writable: zero
/// pages that cost nothing until touched, where a `vec![0; n]` of the same
/// size is written whole by the allocator (for the I/O buffers and the
/// signal stack, 43 page faults and 0.05 ms of the 0.6 ms `bfc --jit
/// bench.b` takes). The loaded code is one too, made executable instead,
/// and the tape's (`reserve`).
struct Mapping {
    ptr: *mut u8,
    /// The usable bytes.
    len: usize,
    /// The whole mapping: `ptr..ptr + len` and, for a buffer, its guard
    /// page (`buffer`).
    whole: (*mut u8, usize),
}

impl Mapping {
    fn new(len: usize) -> io::Result<Mapping> {
        Mapping::map(len, libc::PROT_READ | libc::PROT_WRITE, 0)
    }

    /// `new`, followed by an inaccessible page: generated code that wrote
    /// past the I/O buffer's end (a bug: it flushes when the buffer is
    /// full) faults there, rather than writing into whatever the kernel
    /// mapped next, which may be the tape's guard (reported as a tape
    /// error) or the tape itself.
    fn buffer(len: usize) -> io::Result<Mapping> {
        let page = page_size();
        let body = len.next_multiple_of(page);
        let mut map = Mapping::map(body + page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        // SAFETY: the last page of our own mapping, not yet used.
        if unsafe { libc::mprotect(map.ptr.add(body).cast(), page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // The buffer ends right at the guard.
        // SAFETY: within the mapping (len <= body).
        map.ptr = unsafe { map.ptr.add(body - len) };
        map.len = len;
        Ok(map)
    }

    /// Address space only, inaccessible: the tape's, whose caller makes
    /// the part between the guards accessible. Not to be read as a slice.
    fn reserve(len: usize) -> io::Result<Mapping> {
        // NORESERVE: a huge tape costs only the pages it touches.
        Mapping::map(len, libc::PROT_NONE, libc::MAP_NORESERVE)
    }

    fn map(len: usize, prot: libc::c_int, flags: libc::c_int) -> io::Result<Mapping> {
        // SAFETY: a fresh private mapping, ours alone.
        let ptr =
            unsafe { libc::mmap(ptr::null_mut(), len, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags, -1, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: ptr.cast(), len, whole: (ptr.cast(), len) })
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` readable bytes, initialised (zero-filled by the
        // kernel), alive as long as self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Only while the mapping is writable: the code's until it is made
    /// executable, the input buffer's always (`host_read` fills it).
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as for as_slice, writable as said above; &mut self makes
        // the access unique (generated code reads the input buffer only
        // between calls of host_read, never during one).
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer used.
        unsafe { libc::munmap(self.whole.0.cast(), self.whole.1) };
    }
}

/// A zeroed tape with `GUARD_BYTES` of inaccessible memory on each side; its
/// end is page aligned, so the upper guard starts right after the last cell.
struct Tape {
    _map: Mapping,
    /// The first cell: cell -left_margin.
    start: *mut u8,
    end: *mut u8,
    /// Where the program starts.
    cell0: *mut u8,
}

impl Tape {
    /// `cells` cells of `cell_bytes` bytes, cell 0 `left_margin` cells in.
    fn new(cells: usize, left_margin: usize, cell_bytes: usize) -> io::Result<Tape> {
        if left_margin >= cells {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the left margin leaves no cell 0"));
        }
        let page = page_size();
        let bytes = cells.checked_mul(cell_bytes).ok_or_else(too_big)?;
        let body = bytes.checked_next_multiple_of(page).ok_or_else(too_big)?;
        let map = Mapping::reserve(body.checked_add(2 * GUARD_BYTES).ok_or_else(too_big)?)?;
        // SAFETY: offsets within the mapping just made.
        let (body_start, end) = unsafe { (map.ptr.add(GUARD_BYTES), map.ptr.add(GUARD_BYTES + body)) };
        // SAFETY: makes the body of our own mapping accessible.
        if unsafe { libc::mprotect(body_start.cast(), body, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let start = end.wrapping_sub(bytes);
        Ok(Tape { _map: map, start, end, cell0: start.wrapping_add(left_margin * cell_bytes) })
    }
}

/// The size of a page of memory.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn too_big() -> io::Error {
    io::Error::new(io::ErrorKind::OutOfMemory, "tape too large")
}

/// The runtime table of the run in progress, for the signal handler.
static CURRENT: AtomicPtr<Runtime> = AtomicPtr::new(ptr::null_mut());

/// Held for the whole of a run: runs from several threads (a library
/// caller's, or the tests') wait for each other.
static RUNNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// SIGSEGV/SIGBUS handling for the duration of one run.
struct FaultHandler {
    old: [(libc::c_int, libc::sigaction); 2],
    old_stack: libc::stack_t,
    _alt_stack: Mapping,
}

const ALT_STACK: usize = 64 * 1024;
// SAFETY: an all-zero sigaction is a valid value (SIG_DFL, no flags).
static mut PREVIOUS: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };

impl FaultHandler {
    fn install(rt: &mut Runtime) -> io::Result<FaultHandler> {
        let alt = Mapping::new(ALT_STACK)?;
        let stack = libc::stack_t { ss_sp: alt.ptr.cast(), ss_flags: 0, ss_size: ALT_STACK };
        // SAFETY: plain POSIX calls with valid, live arguments; the handler is
        // async-signal-safe (it only reads memory and edits the context).
        unsafe {
            let mut old_stack: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(&stack, &mut old_stack) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old = [(libc::SIGSEGV, std::mem::zeroed()), (libc::SIGBUS, std::mem::zeroed())];
            for (i, (sig, old_action)) in old.iter_mut().enumerate() {
                if libc::sigaction(*sig, &action, old_action) != 0 {
                    return Err(io::Error::last_os_error());
                }
                PREVIOUS[i] = *old_action;
            }
            CURRENT.store(rt, Ordering::SeqCst);
            Ok(FaultHandler { old, old_stack, _alt_stack: alt })
        }
    }
}

impl Drop for FaultHandler {
    fn drop(&mut self) {
        CURRENT.store(ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: restores what `install` replaced.
        unsafe {
            for (sig, old) in &self.old {
                libc::sigaction(*sig, old, ptr::null_mut());
            }
            // A disabled old stack cannot be set back as is; disable ours.
            let mut restore = self.old_stack;
            if restore.ss_flags & libc::SS_DISABLE != 0 || restore.ss_sp.is_null() {
                restore = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
            }
            libc::sigaltstack(&restore, ptr::null_mut());
        }
    }
}

/// The signal handler. Async-signal-safe: it reads the runtime table and
/// edits the interrupted context, nothing else.
/// Where a fault at `rip` resumes instead of failing, if anywhere: the
/// table after the code's end (bfrt.h, "fault pads") pairs the code
/// offsets of accesses whose fault is not an error yet with the code that
/// decides.
///
/// # Safety
/// `code_start..code_end` is compiled code whose table follows it.
unsafe fn fault_pad(code_start: *const u8, code_end: *const u8, rip: usize) -> Option<usize> {
    let access = u32::try_from(rip - code_start as usize).ok()?;
    // SAFETY: the emitter writes the table (a count, then pairs) at
    // `code_end`, aligned to 4, in the same read-only mapping.
    let pairs = unsafe {
        let table = code_end as *const u32;
        std::slice::from_raw_parts(table.add(1) as *const [u32; 2], table.read() as usize)
    };
    let i = pairs.binary_search_by_key(&access, |pair| pair[0]).ok()?;
    Some(code_start as usize + pairs[i][1] as usize)
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO
    // handlers; CURRENT is set only while its Runtime is alive.
    unsafe {
        let rt_ptr = CURRENT.load(Ordering::SeqCst);
        let rt: *const Runtime = rt_ptr;
        let uc = ctx as *mut libc::ucontext_t;
        let gregs = &mut (*uc).uc_mcontext.gregs;
        let rip = gregs[libc::REG_RIP as usize] as usize;
        let addr = (*info).si_addr() as usize;
        let from_kernel = (*info).si_code > 0;
        if !rt.is_null() && from_kernel {
            let rt = &*rt;
            let in_code = (rt.code_start as usize..rt.code_end as usize).contains(&rip);
            let start = rt.tape_start as usize;
            let end = rt.tape_end as usize;
            let status = if addr < start && addr >= start.saturating_sub(GUARD_BYTES) {
                Some(Status::TapeUnderflow)
            } else if addr >= end && addr < end.saturating_add(GUARD_BYTES) {
                Some(Status::TapeOverflow)
            } else {
                None
            };
            if let (true, Some(status)) = (in_code, status) {
                if let Some(pad) = fault_pad(rt.code_start, rt.code_end, rip) {
                    // Not an error yet: the pad decides (a multiply's zero
                    // source, a loop run again as plain code).
                    gregs[libc::REG_RIP as usize] = pad as i64;
                    return;
                }
                let resume = rt.fault_resume;
                // For the host's report: where the code was, what it touched.
                (*rt_ptr).fault_pc = rip as *const u8;
                (*rt_ptr).fault_addr = addr as *const u8;
                gregs[libc::REG_RAX as usize] = status as i64;
                gregs[libc::REG_RIP as usize] = resume as i64;
                return;
            }
        }
        // Not a tape fault: put back the previous handler and return; the
        // instruction faults again and is handled as if we were not here.
        let i = if sig == libc::SIGSEGV { 0 } else { 1 };
        let mut previous = *ptr::addr_of!(PREVIOUS[i]);
        if previous.sa_flags & libc::SA_SIGINFO == 0 && previous.sa_sigaction == libc::SIG_IGN {
            // An ignored fault would come straight back, forever.
            previous.sa_sigaction = libc::SIG_DFL;
        }
        libc::sigaction(sig, &previous, ptr::null_mut());
    }
}
