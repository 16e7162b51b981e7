/*
 * bfrt.c -- the C runtime of bfc-built executables: it owns the tape and its
 * guard pages, buffered stdin/stdout behind the bf_runtime table, and the
 * SIGSEGV handler that turns a guard-page fault in generated code into a
 * tape error.  The interface is bfrt.h.
 *
 * The runtime is process-global (signal handlers are), so bfrt_run is not
 * reentrant and must not run in two threads at once.
 */
#define _GNU_SOURCE /* REG_RIP, REG_RAX in ucontext_t */

#include "bfrt.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define IO_BUF_SIZE ((size_t)1 << 16)

static uint8_t out_buf[IO_BUF_SIZE];

/* Input is buffered across runs: bytes read from stdin but not consumed by
 * one run belong to the next. */
static uint8_t in_buf[IO_BUF_SIZE];
static size_t in_pos, in_len;

/* What is left of the bytes bfrt_set_input gave, read before in_buf's: the
 * program reads them in place (in_cur..in_end point into them). */
static const uint8_t *given_cur, *given_end;

/* errno of the last failed write / read, for bfrt_status_message. */
static int write_errno, read_errno;

/* What the last BF_CONTRACT_MISMATCH was about, for bfrt_status_message. */
static char mismatch[128];

/* The source map of the program bfrt_run_checked is about to run (NULL for
 * plain bfrt_run), and where the last run's tape error happened, for
 * bfrt_status_message and bfrt_report. */
static const bf_source_map *next_map;
static struct {
    bool known;
    long long cell;
    const bf_source_map *map;
    uint32_t code;
} fault;

/* The run in progress, for the fault handler.  map_lo..map_hi is the whole
 * mapping; everything in it but the tape is PROT_NONE. */
static bf_runtime *volatile current_rt;
/* Bytes of a cell of the run in progress (1, 2 or 4): bfrt_run_checked
 * runs the width its contract records, the others 8-bit cells. */
static size_t cell_bytes = 1;
static uint8_t *volatile map_lo, *volatile map_hi;
static struct sigaction old_segv, old_bus;

/* Waits until fd is ready, for a stdin/stdout someone left non-blocking. */
static bool wait_fd(int fd, short events)
{
    struct pollfd p = { .fd = fd, .events = events };
    int r;
    while ((r = poll(&p, 1, -1)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

static int32_t rt_write(bf_runtime *rt, const uint8_t *buf, size_t len)
{
    (void)rt;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(STDOUT_FILENO, POLLOUT)) {
            continue;
        } else if (n < 0 && errno == EPIPE) {
            return BF_BROKEN_PIPE;
        } else {
            write_errno = n < 0 ? errno : EIO; /* n == 0: nothing was taken */
            return BF_WRITE_ERROR;
        }
    }
    return BF_OK;
}

/* An empty buffer always means a fresh read(2), even after EOF: on a
 * terminal, input can go on after a ^D. */
static int32_t rt_read(bf_runtime *rt)
{
    if (given_cur != given_end) {
        given_cur = rt->in_cur; /* how far the program has read them */
        if (given_cur != given_end) {
            /* Called before they are used up (generated code never is):
             * the next of them, as in_buf's below. */
            rt->in_cur = given_cur + 1;
            rt->in_end = given_end;
            return *given_cur;
        }
        /* Used up: on to stdin's, where the last run left in_buf. */
    } else {
        in_pos = (size_t)(rt->in_cur - in_buf);
    }
    if (in_pos == in_len) {
        ssize_t n;
        while ((n = read(STDIN_FILENO, in_buf, sizeof in_buf)) < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(STDIN_FILENO, POLLIN))
                continue;
            read_errno = errno;
            return BF_READ_FAILED;
        }
        if (n == 0)
            return BF_READ_EOF;
        in_pos = 0;
        in_len = (size_t)n;
    }
    rt->in_cur = in_buf + in_pos + 1;
    rt->in_end = in_buf + in_len;
    return in_buf[in_pos++];
}

/* Where a tape fault at rip resumes instead of failing (bfrt.h, "fault
 * pads"), or 0. */
static uintptr_t fault_pad(const bf_runtime *rt, uintptr_t rip)
{
    const uint32_t *table = rt->code_end;
    uint32_t access = (uint32_t)(rip - (uintptr_t)rt->code_start);
    uint32_t lo = 0, hi = table[0];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t at = table[1 + 2 * mid];
        if (at == access)
            return (uintptr_t)rt->code_start + table[2 + 2 * mid];
        if (at < access)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/*
 * A fault is a tape error only if generated code made it (rip inside
 * [code_start, code_end)) on our guard pages.  Then it resumes at
 * fault_resume with the status in eax, as the generated code expects.
 * Anything else is a real crash: put back the previous action and return,
 * so the instruction faults again and the process dies as it would have
 * without us (or the previous handler, e.g. a sanitizer's, reports it).
 * Async-signal-safe: no stdio, no malloc.
 */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    bf_runtime *rt = current_rt;
    uint8_t *addr = si->si_addr;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    int status = BF_OK;

    /* si_code <= 0: sent by kill() or the like, si_addr is meaningless. */
    if (rt && si->si_code > 0 && rt->fault_resume && rip >= (uintptr_t)rt->code_start &&
        rip < (uintptr_t)rt->code_end) {
        if (addr >= map_lo && addr < rt->tape_start)
            status = BF_TAPE_UNDERFLOW;
        else if (addr >= rt->tape_end && addr < map_hi)
            status = BF_TAPE_OVERFLOW;
    }
    if (status != BF_OK) {
        uintptr_t pad = fault_pad(rt, rip);
        if (pad) {
            uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pad;
            return;
        }
        rt->fault_pc = (const void *)rip;
        rt->fault_addr = addr;
        uc->uc_mcontext.gregs[REG_RAX] = status;
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)rt->fault_resume;
        return;
    }
    struct sigaction old = sig == SIGBUS ? old_bus : old_segv;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
        old.sa_handler = SIG_DFL; /* an ignored fault would loop forever */
    sigaction(sig, &old, NULL);
}

/* The cells a dump shows left and right of the pointer's: src/host.rs's
 * DUMP_BEFORE and DUMP_AFTER. */
#define DUMP_BEFORE 4
#define DUMP_AFTER 11

/* '#' (bfc --hash-dump): the line src/host.rs's dump_line makes, to
 * stderr: "# ptr P: [F] v v v v >v< v ...", cells numbered from cell 0,
 * "--" for cells off the tape (never read).  A dump that cannot be written
 * is lost, as a diagnostic would be. */
static int32_t rt_dump(bf_runtime *rt, const uint8_t *ptr)
{
    char line[48 + (DUMP_BEFORE + DUMP_AFTER + 1) * 13];
    int64_t at = (int64_t)((uintptr_t)ptr - (uintptr_t)rt->cell0) / (int64_t)cell_bytes;
    int64_t first = (int64_t)((uint64_t)at - DUMP_BEFORE);
    size_t len = (size_t)snprintf(line, sizeof line, "# ptr %lld: [%lld]", (long long)at, (long long)first);
    for (int64_t k = 0; k <= DUMP_BEFORE + DUMP_AFTER; k++) {
        int64_t cell = (int64_t)((uint64_t)first + (uint64_t)k);
        uintptr_t addr = (uintptr_t)rt->cell0 + (uintptr_t)cell * cell_bytes;
        char value[12] = "--";
        if (addr >= (uintptr_t)rt->tape_start && addr < (uintptr_t)rt->tape_end)
            snprintf(value, sizeof value, "%lu",
                     cell_bytes == 1   ? (unsigned long)*(const uint8_t *)addr
                     : cell_bytes == 2 ? (unsigned long)*(const uint16_t *)addr
                                       : (unsigned long)*(const uint32_t *)addr);
        const char *form = cell == at ? " >%s<" : " %s";
        len += (size_t)snprintf(line + len, sizeof line - len, form, value);
    }
    line[len++] = '\n';
    for (size_t done = 0; done < len;) {
        ssize_t n = write(STDERR_FILENO, line + done, len - done);
        if (n > 0)
            done += (size_t)n;
        else if (!(n < 0 && errno == EINTR))
            break;
    }
    return BF_OK;
}

/* Output goes out as the program makes it on a terminal, where someone
 * watches it come (each '.' one write(2): a program printing digits as it
 * computes them, with no newline, must not look frozen), and when the
 * environment asks (BFRT_UNBUFFERED set, not empty and not "0": for a pipe
 * read as it is written).  Pipes and files otherwise get the 64 KiB
 * buffer.  src/host.rs's `Buffering` is the same policy. */
static size_t output_window(void)
{
    const char *env = getenv("BFRT_UNBUFFERED");
    bool asked = env && *env && strcmp(env, "0") != 0;
    return asked || isatty(STDOUT_FILENO) ? 1 : IO_BUF_SIZE;
}

/* Allocation failures end the process: bf_status has no code for them, and
 * a program that cannot get its tape has nothing to report to the caller.
 * Exit code BF_EXIT_IO, the "environment failed" code. */
static void no_tape(size_t cells, int err)
{
    fprintf(stderr, "bfrt: cannot allocate a tape of %zu cells%s%s\n", cells, err ? ": " : "",
            err ? strerror(err) : "");
    exit(BF_EXIT_IO);
}

int bfrt_run(bf_entry_fn entry, size_t cells)
{
    return bfrt_run_tape(entry, cells, 0);
}

/* bfrt_run_tape with cells of `bytes` bytes (1, 2 or 4). */
static int run_cells(bf_entry_fn entry, size_t cells, size_t left_margin, size_t bytes);

int bfrt_run_tape(bf_entry_fn entry, size_t cells, size_t left_margin)
{
    return run_cells(entry, cells, left_margin, 1);
}

static int run_cells(bf_entry_fn entry, size_t cells, size_t left_margin, size_t bytes)
{
    /* The tape ends on a page boundary so the upper guard starts exactly at
     * tape_end; a tape whose size is not a page multiple has accessible
     * slack below its first cell, which is fine: the generated code checks
     * such tapes explicitly (BF_TAPE_ALIGN).  The margin is the tape's
     * first cells: cell 0 is `left_margin` cells in. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t limit = (SIZE_MAX - 2 * BF_GUARD_BYTES - page) / bytes;
    if (cells == 0 || cells > limit)
        no_tape(cells, cells ? ENOMEM : 0);
    if (left_margin >= cells)
        no_tape(cells, EINVAL);
    size_t used = cells * bytes;
    size_t tape_bytes = (used + page - 1) / page * page;
    /* Guard-page tapes need their first cell on a page boundary (true on
     * x86-64, where pages are 4 KiB = BF_TAPE_ALIGN). */
    if (cells % BF_TAPE_ALIGN == 0 && tape_bytes != used)
        no_tape(cells, EINVAL);
    size_t map_bytes = 2 * BF_GUARD_BYTES + tape_bytes;
    uint8_t *map = mmap(NULL, map_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        no_tape(cells, errno);
    if (mprotect(map + BF_GUARD_BYTES, tape_bytes, PROT_READ | PROT_WRITE) != 0)
        no_tape(cells, errno);

    bf_runtime rt = {
        .out_buf = out_buf,
        /* The buffer is IO_BUF_SIZE bytes either way (generated code stores
         * a short string whole before it checks out_end). */
        .out_end = out_buf + output_window(),
        .write = rt_write,
        .read = rt_read,
        .tape_end = map + BF_GUARD_BYTES + tape_bytes,
        /* Input left over from an earlier run comes first, after what is
         * left of bfrt_set_input's. */
        .in_cur = given_cur != given_end ? given_cur : in_buf + in_pos,
        .in_end = given_cur != given_end ? given_end : in_buf + in_len,
        .dump = rt_dump,
        /* code_start, code_end, fault_resume: NULL until the entry sets
         * them, so no fault counts as a tape fault before that. */
    };
    rt.tape_start = rt.tape_end - used;
    rt.cell0 = rt.tape_start + left_margin * bytes;
    cell_bytes = bytes;

    /* A dead reader must show up as EPIPE (BF_BROKEN_PIPE), not kill us. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigaction(SIGPIPE, &ign, &old_pipe);

    /* The handler gets its own stack, so that a fault caused by a stack
     * overflow still reaches it.  Someone else's (a sanitizer's) is kept. */
    static _Alignas(16) char alt_mem[1 << 16];
    stack_t alt = { .ss_sp = alt_mem, .ss_size = sizeof alt_mem }, old_alt;
    sigaltstack(NULL, &old_alt);
    bool own_alt = (old_alt.ss_flags & SS_DISABLE) && sigaltstack(&alt, NULL) == 0;

    map_lo = map;
    map_hi = map + map_bytes;
    current_rt = &rt;
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);

    /* The entry flushes its output itself, on return and on a fault. */
    const bf_source_map *source_map = next_map;
    next_map = NULL;
    int status = entry(rt.cell0, &rt);
    if (given_cur != given_end)
        given_cur = rt.in_cur;
    else
        in_pos = (size_t)(rt.in_cur - in_buf);
    fault.known = (status == BF_TAPE_UNDERFLOW || status == BF_TAPE_OVERFLOW) && rt.fault_pc;
    if (fault.known) {
        fault.cell = (long long)((const uint8_t *)rt.fault_addr - rt.cell0) / (long long)bytes;
        fault.map = source_map;
        fault.code = (uint32_t)((const uint8_t *)rt.fault_pc - (const uint8_t *)rt.code_start);
    }

    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    current_rt = NULL;
    if (own_alt) {
        alt.ss_flags = SS_DISABLE;
        sigaltstack(&alt, NULL);
    }
    sigaction(SIGPIPE, &old_pipe, NULL);
    munmap(map, map_bytes);
    cell_bytes = 1;
    return status;
}

void bfrt_set_input(const uint8_t *bytes, size_t len)
{
    given_cur = bytes;
    given_end = bytes + len;
}

int bfrt_run_checked(bf_entry_fn entry, const bf_contract *contract, size_t cells)
{
    if (contract->version != BF_CONTRACT_VERSION) {
        snprintf(mismatch, sizeof mismatch,
                 "the program was compiled for version %u of the runtime interface, this runtime has %u",
                 (unsigned)contract->version, BF_CONTRACT_VERSION);
        return BF_CONTRACT_MISMATCH;
    }
    uint32_t bits = contract->cell_bits;
    if (bits != 8 && bits != 16 && bits != 32) {
        snprintf(mismatch, sizeof mismatch, "the program was compiled for %u-bit cells, this runtime runs 8, 16 or 32",
                 (unsigned)bits);
        return BF_CONTRACT_MISMATCH;
    }
    if (contract->tape_cells != cells) {
        snprintf(mismatch, sizeof mismatch, "the program was compiled for a tape of %llu cells, not %zu",
                 (unsigned long long)contract->tape_cells, cells);
        return BF_CONTRACT_MISMATCH;
    }
    next_map = contract->source_map ? (const bf_source_map *)((const char *)contract + contract->source_map) : NULL;
    return run_cells(entry, cells, (size_t)contract->left_margin, bits / 8);
}

/* The row of `map` covering code offset `code`, if a command's. */
static const bf_source_row *source_row(const bf_source_map *map, uint32_t code)
{
    const bf_source_row *found = NULL;
    uint32_t lo = 0, hi = map ? map->rows : 0;
    while (lo < hi) { /* the last row at or before code */
        uint32_t mid = lo + (hi - lo) / 2;
        if (map->row[mid].code <= code) {
            found = &map->row[mid];
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return found && found->line ? found : NULL;
}

/* What a status says and the exit code it ends the process with, in the
 * order of enum bf_status.  src/host.rs holds the same table for `bfc --jit`
 * and `--interp`; a test checks that the two agree, row by row.  For an I/O
 * error the OS error's text, when known, replaces what follows the ": ";
 * for a contract mismatch, what the program was compiled for.
 * A status that exits with BF_EXIT_OK is not reported. */
static const struct {
    const char *message;
    int exit_code;
} statuses[] = {
    [BF_OK] = {"success", BF_EXIT_OK},
    [BF_TAPE_UNDERFLOW] = {"tape underflow: a cell left of cell 0 was touched", BF_EXIT_TAPE},
    [BF_TAPE_OVERFLOW] = {"tape overflow: a cell past the end of the tape was touched", BF_EXIT_TAPE},
    [BF_WRITE_ERROR] = {"write error: cannot write to stdout", BF_EXIT_IO},
    [BF_READ_ERROR] = {"read error: cannot read from stdin", BF_EXIT_IO},
    [BF_BROKEN_PIPE] = {"broken pipe: the reader of stdout went away", BF_EXIT_OK},
    [BF_CONTRACT_MISMATCH] = {"contract mismatch: the program was compiled for another tape or cell size", BF_EXIT_USAGE},
};

static bool known_status(int status)
{
    return status >= 0 && (size_t)status < sizeof statuses / sizeof statuses[0];
}

const char *bfrt_status_message(int status)
{
    static char msg[160];
    if (!known_status(status)) {
        snprintf(msg, sizeof msg, "unknown status %d", status);
        return msg;
    }
    const char *message = statuses[status].message;
    if ((status == BF_TAPE_UNDERFLOW || status == BF_TAPE_OVERFLOW) && fault.known) {
        /* What src/host.rs's `fault_detail` says. */
        snprintf(msg, sizeof msg, "tape %s: cell %lld touched (pointer moved %s)",
                 status == BF_TAPE_UNDERFLOW ? "underflow" : "overflow", fault.cell,
                 status == BF_TAPE_UNDERFLOW ? "left off the tape" : "right off the tape");
        return msg;
    }
    int err = status == BF_WRITE_ERROR ? write_errno : status == BF_READ_ERROR ? read_errno : 0;
    const char *detail = err ? strerror(err) : status == BF_CONTRACT_MISMATCH && mismatch[0] ? mismatch : NULL;
    if (!detail)
        return message;
    int what = (int)(strchr(message, ':') - message);
    snprintf(msg, sizeof msg, "%.*s: %s", what, message, detail);
    return msg;
}

int bfrt_report(int status)
{
    /* An unknown status is a bug, reported as an I/O error. */
    int code = known_status(status) ? statuses[status].exit_code : BF_EXIT_IO;
    const bf_source_row *at =
        (status == BF_TAPE_UNDERFLOW || status == BF_TAPE_OVERFLOW) && fault.known ? source_row(fault.map, fault.code) : NULL;
    if (code != BF_EXIT_OK && at)
        fprintf(stderr, "%s:%u:%u: error: %s\n", (const char *)fault.map + fault.map->file, (unsigned)at->line,
                (unsigned)at->column, bfrt_status_message(status));
    else if (code != BF_EXIT_OK)
        fprintf(stderr, "error: %s\n", bfrt_status_message(status));
    return code;
}
