/*
 * Two Brainfuck programs compiled with `bfc -c --symbol ...` into separate
 * objects, linked into one C program and called one after the other through
 * the runtime library, each on the 4096-cell tape it was compiled for.
 * Built and run by tests/c_api.rs.
 */
#include <stdio.h>

#include "bfrt.h"

BF_DECLARE_ENTRY(bf_hello);
BF_DECLARE_ENTRY(bf_shout);
BF_DECLARE_ENTRY(bf_walk);

int main(void)
{
    int first = bfrt_run(bf_hello, 4096);
    printf("[hello -> %d]\n", first);
    fflush(stdout);
    int second = bfrt_run(bf_shout, 4096);
    printf("[shout -> %d]\n", second);
    fflush(stdout);
    /* A tape error in a called program is a status, not the end of the
     * caller. */
    int third = bfrt_run(bf_walk, 4096);
    printf("[walk -> %d: %s]\n", third, bfrt_status_message(third));
    return first || second || third != BF_TAPE_OVERFLOW;
}
