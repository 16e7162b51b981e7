/*
 * main.c -- the main() of executables built by bfc: runs the compiled
 * program (an object from `bfc -c`) on a guarded tape and turns its status
 * into a message and an exit code.  bfc compiles this file with
 * -DBFRT_ENTRY=<symbol> -DBFRT_TAPE_CELLS=<cells>.
 */
#include "bfrt.h"

#ifndef BFRT_ENTRY
#define BFRT_ENTRY bf_main
#endif
#ifndef BFRT_TAPE_CELLS
#define BFRT_TAPE_CELLS 65536
#endif

BF_DECLARE_PROGRAM(BFRT_ENTRY);
/* Input to read before stdin's, if the object has any (`bfc --bang`, the
 * bytes after the program's `!`): weak, so an object without them links
 * and their address is null. */
extern const uint8_t BF_INPUT(BFRT_ENTRY)[] __attribute__((weak));
extern const uint64_t BF_INPUT_SIZE(BFRT_ENTRY) __attribute__((weak));

int main(void)
{
    if (&BF_INPUT_SIZE(BFRT_ENTRY) != NULL)
        bfrt_set_input(BF_INPUT(BFRT_ENTRY), (size_t)BF_INPUT_SIZE(BFRT_ENTRY));
    /* Checked: the object must have been built for BFRT_TAPE_CELLS. */
    return bfrt_report(bfrt_run_checked(BFRT_ENTRY, &BF_CONTRACT(BFRT_ENTRY), BFRT_TAPE_CELLS));
}
