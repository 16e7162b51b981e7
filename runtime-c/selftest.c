/*
 * selftest.c -- unit test of the C runtime (bfrt.c) without bfc: runs the
 * hand-written programs of selftest_prog.S and a few C ones through
 * bfrt_run, each in a child process with its stdout and stderr captured, and
 * checks statuses, exit codes, messages and flushed output.
 *
 * Build and run (from runtime-c/):
 *
 *   cc -std=c11 -O2 -Wall -Wextra -Werror selftest.c selftest_prog.S bfrt.c -o /tmp/bfrt-selftest && /tmp/bfrt-selftest
 *
 * and under the sanitizers (ASan keeps its own SIGSEGV handler; bfrt hands
 * it the faults that are not tape faults, so a wild access is reported by
 * ASan -- exit code 1 -- instead of killing the process with SIGSEGV):
 *
 *   cc -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror selftest.c selftest_prog.S bfrt.c -o /tmp/bfrt-selftest-asan && /tmp/bfrt-selftest-asan
 */
#define _GNU_SOURCE

#include "bfrt.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define CELLS 65536

/* selftest_prog.S */
BF_DECLARE_ENTRY(selftest_touch);
BF_DECLARE_ENTRY(selftest_overflow);
BF_DECLARE_ENTRY(selftest_wild);
BF_DECLARE_ENTRY(selftest_hello);
int64_t selftest_offset;     /* where selftest_touch writes, from cell 0 */
uintptr_t selftest_addr;     /* what selftest_wild reads */

static size_t expected_cells = CELLS, expected_margin = 0;

/* Copies stdin to stdout, flushing before every read as bfc's code does. */
static int32_t c_cat(uint8_t *tape, bf_runtime *rt)
{
    (void)tape;
    uint8_t *out = rt->out_buf;
    for (;;) {
        int32_t st = rt->write(rt, rt->out_buf, (size_t)(out - rt->out_buf));
        if (st != BF_OK)
            return st;
        out = rt->out_buf;
        int32_t c = rt->read(rt);
        if (c == BF_READ_EOF)
            return BF_OK;
        if (c == BF_READ_FAILED)
            return BF_READ_ERROR;
        *out++ = (uint8_t)c;
    }
}

/* Prints 200000 'x', flushing whenever the buffer is full. */
static int32_t c_fill(uint8_t *tape, bf_runtime *rt)
{
    (void)tape;
    uint8_t *out = rt->out_buf;
    for (int i = 0; i < 200000; i++) {
        if (out == rt->out_end) {
            int32_t st = rt->write(rt, rt->out_buf, (size_t)(out - rt->out_buf));
            if (st != BF_OK)
                return st;
            out = rt->out_buf;
        }
        *out++ = 'x';
    }
    return rt->write(rt, rt->out_buf, (size_t)(out - rt->out_buf));
}

/* Prints how many bytes of output bfrt_run lets the program collect
 * before they are written (out_end - out_buf). */
static int32_t c_window(uint8_t *tape, bf_runtime *rt)
{
    (void)tape;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "window %zu\n", (size_t)(rt->out_end - rt->out_buf));
    return rt->write(rt, (const uint8_t *)msg, (size_t)n);
}

/* Checks the tape: where it is (cell 0 the margin's width in), that it is
 * zeroed and writable, that its end is page aligned (the upper guard starts
 * right there), and that the generated-code fields start out NULL.  Prints
 * "tape ok" or what is wrong. */
static int32_t c_tape(uint8_t *tape, bf_runtime *rt)
{
    const char *bad = NULL;
    if (tape != rt->cell0)
        bad = "tape != cell0";
    else if ((size_t)(rt->cell0 - rt->tape_start) != expected_margin)
        bad = "wrong margin";
    else if ((size_t)(rt->tape_end - rt->tape_start) != expected_cells)
        bad = "wrong size";
    else if ((uintptr_t)rt->tape_end % (uintptr_t)sysconf(_SC_PAGESIZE) != 0)
        bad = "end not page aligned";
    else if (rt->code_start || rt->code_end || rt->fault_resume)
        bad = "code fields not NULL";
    for (size_t i = 0; !bad && i < expected_cells; i++) {
        if (rt->tape_start[i] != 0)
            bad = "not zeroed";
        rt->tape_start[i] = (uint8_t)i;
    }
    char msg[64];
    int n = snprintf(msg, sizeof msg, "tape %s\n", bad ? bad : "ok");
    return rt->write(rt, (const uint8_t *)msg, (size_t)n);
}

/* Touches cell -1 from C, i.e. outside the generated code's range: a real
 * crash, which must not be turned into a tape error. */
static int32_t c_underflow(uint8_t *tape, bf_runtime *rt)
{
    (void)rt;
    volatile uint8_t *p = tape;
    return p[-1];
}

/* --- running a program in a child ---------------------------------------- */

enum out_kind { OUT_PIPE, OUT_NO_READER, OUT_FULL };

struct spec {
    bf_entry_fn entry;
    size_t cells;        /* 0: CELLS */
    size_t margin;       /* cells left of cell 0 */
    bool no_cells;       /* a tape of 0 cells, then */
    enum out_kind out;
    const char *in;      /* stdin contents (NULL: empty) */
    size_t in_len;
    bool in_dir;         /* stdin is a directory: read(2) fails */
    void (*body)(void);  /* instead of one run of entry */
    const char *unbuffered; /* BFRT_UNBUFFERED (NULL: unset) */
};

struct result {
    int raw;             /* wait status */
    int status;          /* bfrt_run's result */
    int exit_code;       /* bfrt_report's result */
    char *out;
    size_t out_len;
    char err[8192];
};

/* The child exits with status | exit_code << 4, so both come back. */
static void one_run(const struct spec *sp)
{
    size_t cells = sp->no_cells ? 0 : sp->cells ? sp->cells : CELLS;
    int status = sp->margin ? bfrt_run_tape(sp->entry, cells, sp->margin) : bfrt_run(sp->entry, cells);
    _exit(status | bfrt_report(status) << 4);
}

static void read_all(int fd, char **buf, size_t *len)
{
    size_t cap = 1024;
    *buf = malloc(cap);
    *len = 0;
    ssize_t n;
    while ((n = read(fd, *buf + *len, cap - *len - 1)) > 0) {
        *len += (size_t)n;
        if (cap - *len < 2)
            *buf = realloc(*buf, cap *= 2);
    }
    (*buf)[*len] = 0;
}

static void run(const struct spec *sp, struct result *r)
{
    int out[2], err[2];
    if (pipe(out) || pipe(err))
        abort();
    if (sp->out == OUT_NO_READER)
        close(out[0]);  /* before the fork: the child must never see a reader */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        int in;
        if (sp->in_dir) {
            in = open(".", O_RDONLY | O_DIRECTORY);
        } else {
            FILE *f = tmpfile();
            if (sp->in_len)
                fwrite(sp->in, 1, sp->in_len, f);
            fflush(f);
            in = fileno(f);
            lseek(in, 0, SEEK_SET);
        }
        dup2(in, 0);
        dup2(sp->out == OUT_FULL ? open("/dev/full", O_WRONLY) : out[1], 1);
        dup2(err[1], 2);
        if (sp->out != OUT_NO_READER)
            close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        if (sp->unbuffered)
            setenv("BFRT_UNBUFFERED", sp->unbuffered, 1);
        else
            unsetenv("BFRT_UNBUFFERED");
        if (sp->body)
            sp->body();
        one_run(sp);
    }
    close(out[1]);
    close(err[1]);
    if (sp->out == OUT_NO_READER) {
        r->out = calloc(1, 1);
        r->out_len = 0;
    } else {
        read_all(out[0], &r->out, &r->out_len);  /* stdout may exceed a pipe */
        close(out[0]);
    }
    char *e;
    size_t e_len;
    read_all(err[0], &e, &e_len);  /* small: fits the pipe meanwhile */
    close(err[0]);
    snprintf(r->err, sizeof r->err, "%s", e);
    free(e);
    waitpid(pid, &r->raw, 0);
    r->status = WIFEXITED(r->raw) ? WEXITSTATUS(r->raw) & 15 : -1;
    r->exit_code = WIFEXITED(r->raw) ? WEXITSTATUS(r->raw) >> 4 : -1;
}

/* --- the tests ------------------------------------------------------------ */

static int passed, failed;

static void check(bool ok, const char *name, const struct result *r)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s: wait status %#x, status %d, exit code %d, %zu bytes out \"%.40s\", stderr \"%s\"\n",
           name, r->raw, r->status, r->exit_code, r->out_len, r->out, r->err);
}

static bool exited_with(const struct result *r, int status, int exit_code)
{
    return WIFEXITED(r->raw) && r->status == status && r->exit_code == exit_code;
}

static bool out_is(const struct result *r, const char *s)
{
    return r->out_len == strlen(s) && memcmp(r->out, s, r->out_len) == 0;
}

/* A real crash: killed by SIGSEGV, or reported by ASan's own handler. */
static bool crashed(const struct result *r)
{
    if (WIFSIGNALED(r->raw))
        return WTERMSIG(r->raw) == SIGSEGV;
    return UNDER_ASAN && WIFEXITED(r->raw) && WEXITSTATUS(r->raw) == 1 &&
           strstr(r->err, "AddressSanitizer: SEGV") != NULL;
}

/* Copies 3 bytes of input to stdout, reading them as generated code does:
 * from in_cur..in_end while it lasts, through `read` when it is empty. */
static int32_t c_take3(uint8_t *tape, bf_runtime *rt)
{
    (void)tape;
    uint8_t *out = rt->out_buf;
    for (int i = 0; i < 3; i++) {
        int32_t c = rt->in_cur < rt->in_end ? *rt->in_cur++ : rt->read(rt);
        if (c < 0)
            return c == BF_READ_EOF ? BF_OK : BF_READ_ERROR;
        *out++ = (uint8_t)c;
    }
    return rt->write(rt, rt->out_buf, (size_t)(out - rt->out_buf));
}

/* bfrt_set_input's bytes come before stdin's, across runs, whether read
 * in place or through `read`. */
static void given_input(void)
{
    static const uint8_t given[] = "given ";
    bfrt_set_input(given, 6);
    int a = bfrt_run(c_take3, CELLS); /* "giv", in place */
    int b = bfrt_run(c_cat, CELLS);   /* "en ", then stdin's, through read */
    _exit(a == BF_OK && b == BF_OK ? 0 : 1);
}

/* Runs a tape fault, then a good program, in one process: the handler,
 * alternate stack and tape are set up afresh and torn down each time. */
static void two_runs(void)
{
    selftest_offset = -1;
    int a = bfrt_run(selftest_touch, CELLS);
    int b = bfrt_run(selftest_hello, CELLS);
    int c = bfrt_run(selftest_overflow, CELLS);
    _exit(a == BF_TAPE_UNDERFLOW && b == BF_OK && c == BF_TAPE_OVERFLOW ? 0 : 1);
}

/* After a run the signal actions are the ones from before it.  (Flags are
 * compared without SA_RESTORER, which glibc adds to every action it sets.) */
static void actions_restored(void)
{
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGPIPE };
    struct sigaction before[3], after;
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], NULL, &before[i]);
    selftest_offset = -1;
    if (bfrt_run(selftest_touch, CELLS) != BF_TAPE_UNDERFLOW)
        _exit(1);
    for (int i = 0; i < 3; i++) {
        sigaction(sigs[i], NULL, &after);
        if (after.sa_handler != before[i].sa_handler ||
            ((after.sa_flags ^ before[i].sa_flags) & ~0x04000000) != 0)
            _exit(2);
    }
    stack_t alt;
    sigaltstack(NULL, &alt);
    _exit(!UNDER_ASAN && !(alt.ss_flags & SS_DISABLE) ? 3 : 0);
}

/* bfrt_run_checked runs a program only on the tape its contract names (of
 * 8-, 16- or 32-bit cells): each mismatch is refused before anything runs, with its own message. */
static void contracts(void)
{
    static const bf_contract good = { CELLS, BF_CELL_BITS, BF_CONTRACT_VERSION, 0, 0, 0 };
    static const bf_contract odd = { CELLS, 12, BF_CONTRACT_VERSION, 0, 0, 0 };
    static const bf_contract newer = { CELLS, BF_CELL_BITS, BF_CONTRACT_VERSION + 1, 0, 0, 0 };
    static const struct {
        const bf_contract *contract;
        size_t cells;
        const char *message;
    } refused[] = {
        { &good, 4096, "contract mismatch: the program was compiled for a tape of 65536 cells, not 4096" },
        { &odd, CELLS, "contract mismatch: the program was compiled for 12-bit cells, this runtime runs 8, 16 or 32" },
        { &newer, CELLS,
          "contract mismatch: the program was compiled for version 4 of the runtime interface, this runtime has 3" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int st = bfrt_run_checked(selftest_hello, refused[i].contract, refused[i].cells);
        if (st != BF_CONTRACT_MISMATCH || strcmp(bfrt_status_message(st), refused[i].message) != 0) {
            fprintf(stderr, "refused[%zu]: %d %s\n", i, st, bfrt_status_message(st));
            _exit(1);
        }
    }
    _exit(bfrt_run_checked(selftest_hello, &good, CELLS) == BF_OK ? 0 : 2);
}

#define TEST(name, ...)                                 \
    do {                                                \
        struct result r_;                               \
        run(&(struct spec){ __VA_ARGS__ }, &r_);        \
        const struct result *r = &r_;                   \
        check(TEST_OK, name, r);                        \
        free(r_.out);                                   \
    } while (0)

int main(void)
{
    const int64_t guard = (int64_t)BF_GUARD_BYTES;
    /* The cell the fault was at, as the message names it (no source map:
     * these programs are not bfc's, so no position). */
    static char fault_msg[160];
#define WANT(kind, side, cell)                                                                        \
    snprintf(fault_msg, sizeof fault_msg, "error: tape %s: cell %lld touched (pointer moved %s)\n", kind, \
             (long long)(cell), side)
#define UNDER(cell) WANT("underflow", "left off the tape", cell)
#define OVER(cell) WANT("overflow", "right off the tape", cell)

#define TEST_OK (exited_with(r, BF_OK, 0) && out_is(r, "hi\n") && !r->err[0])
    TEST("hello", .entry = selftest_hello);
#undef TEST_OK

    /* The fault cases check that "AB", written before the fault, is flushed. */
#define TEST_OK (exited_with(r, BF_TAPE_UNDERFLOW, 3) && out_is(r, "AB") && !strcmp(r->err, fault_msg))
    selftest_offset = -1;
    UNDER(-1);
    TEST("underflow at cell -1", .entry = selftest_touch);
    selftest_offset = -guard;
    UNDER(-guard);
    TEST("underflow at the far end of the guard", .entry = selftest_touch);
    selftest_offset = -1;
    UNDER(-1);
    TEST("underflow, tape of one page", .entry = selftest_touch, .cells = 4096);
#undef TEST_OK

#define TEST_OK (exited_with(r, BF_TAPE_OVERFLOW, 3) && out_is(r, "AB") && !strcmp(r->err, fault_msg))
    OVER(CELLS);
    TEST("overflow at cell 65536", .entry = selftest_overflow);
    selftest_offset = CELLS;
    TEST("overflow at tape_end", .entry = selftest_touch);
    selftest_offset = CELLS + guard - 1;
    OVER(CELLS + guard - 1);
    TEST("overflow at the far end of the guard", .entry = selftest_touch);
    selftest_offset = 1000;  /* a non-aligned tape ends right at its last cell */
    OVER(1000);
    TEST("overflow, tape of 1000 cells", .entry = selftest_touch, .cells = 1000);
#undef TEST_OK

    /* Faults that are not tape faults are never swallowed. */
#define TEST_OK crashed(r)
    selftest_addr = 0;
    TEST("wild access in generated code crashes", .entry = selftest_wild);
    selftest_addr = 1;
    TEST("wild access near 0 crashes", .entry = selftest_wild);
    TEST("guard access from C crashes", .entry = c_underflow);
#undef TEST_OK

#define TEST_OK (WIFEXITED(r->raw) && WEXITSTATUS(r->raw) == 0)
    TEST("several runs in one process", .body = two_runs);
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_OK, 0) && out_is(r, "given and stdin"))
    TEST("bfrt_set_input's bytes come first", .body = given_input, .in = "and stdin", .in_len = 9);
#undef TEST_OK
#define TEST_OK (WIFEXITED(r->raw) && WEXITSTATUS(r->raw) == 0)
    TEST("signal actions are restored after a run", .body = actions_restored);
#undef TEST_OK
#define TEST_OK (WIFEXITED(r->raw) && WEXITSTATUS(r->raw) == 0 && out_is(r, "hi\n") && !r->err[0])
    TEST("bfrt_run_checked refuses another tape, cell size or version", .body = contracts);
#undef TEST_OK

#define TEST_OK (exited_with(r, BF_OK, 0) && out_is(r, "tape ok\n"))
    TEST("tape of 65536 cells", .entry = c_tape);
    expected_cells = 1000;
    TEST("tape of 1000 cells", .entry = c_tape, .cells = 1000);
    expected_cells = 1;
    TEST("tape of 1 cell", .entry = c_tape, .cells = 1);
    expected_cells = (size_t)1 << 28;
    TEST("tape of 256 MiB", .entry = c_tape, .cells = (size_t)1 << 28);
    expected_cells = 1000, expected_margin = 3;
    TEST("tape of 1000 cells, 3 of them left of cell 0", .entry = c_tape, .cells = 1000, .margin = 3);
    expected_margin = 0;
#undef TEST_OK

#define TEST_OK (WIFEXITED(r->raw) && WEXITSTATUS(r->raw) == BF_EXIT_IO && \
                 !strcmp(r->err, "bfrt: cannot allocate a tape of 0 cells\n"))
    TEST("tape of 0 cells", .entry = selftest_hello, .no_cells = true);
#undef TEST_OK

    /* I/O */
    static char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + i / 251);
#define TEST_OK (exited_with(r, BF_OK, 0) && r->out_len == sizeof big && !memcmp(r->out, big, sizeof big))
    TEST("cat 100000 bytes", .entry = c_cat, .in = big, .in_len = sizeof big);
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_OK, 0) && out_is(r, ""))
    TEST("cat of empty input", .entry = c_cat);
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_OK, 0) && r->out_len == 200000 && r->out[199999] == 'x')
    TEST("200000 bytes of output", .entry = c_fill);
    TEST("200000 bytes of output, unbuffered", .entry = c_fill, .unbuffered = "1");
#undef TEST_OK
    /* Output buffering: 64 KiB on a pipe, byte by byte when asked. */
#define TEST_OK (exited_with(r, BF_OK, 0) && out_is(r, "window 65536\n"))
    TEST("a pipe gets the 64 KiB buffer", .entry = c_window);
    TEST("BFRT_UNBUFFERED=0 keeps it", .entry = c_window, .unbuffered = "0");
    TEST("empty BFRT_UNBUFFERED keeps it", .entry = c_window, .unbuffered = "");
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_OK, 0) && out_is(r, "window 1\n"))
    TEST("BFRT_UNBUFFERED=1 writes each byte", .entry = c_window, .unbuffered = "1");
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_BROKEN_PIPE, 0) && !r->err[0])
    TEST("broken pipe is quiet", .entry = selftest_hello, .out = OUT_NO_READER);
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_WRITE_ERROR, 4) && !strcmp(r->err, "error: write error: No space left on device\n"))
    TEST("write error", .entry = selftest_hello, .out = OUT_FULL);
#undef TEST_OK
#define TEST_OK (exited_with(r, BF_READ_ERROR, 4) && !strcmp(r->err, "error: read error: Is a directory\n"))
    TEST("read error", .entry = c_cat, .in_dir = true);
#undef TEST_OK

    /* Messages of statuses no run produced here. */
    struct result none = { .out = "" };
    check(!strcmp(bfrt_status_message(BF_OK), "success"), "message of BF_OK", &none);
    check(!strcmp(bfrt_status_message(99), "unknown status 99"), "message of an unknown status", &none);

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
