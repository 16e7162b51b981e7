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

int main(void)
{
    /* Checked: the object must have been built for BFRT_TAPE_CELLS. */
    return bfrt_report(bfrt_run_checked(BFRT_ENTRY, &BF_CONTRACT(BFRT_ENTRY), BFRT_TAPE_CELLS));
}
