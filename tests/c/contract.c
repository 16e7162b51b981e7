/*
 * An object from `bfc -c --tape-size 4096 --symbol prog_main`, called the
 * checked way: `contract CELLS` runs it with bfrt_run_checked on CELLS
 * cells, `contract` alone with BFRT_RUN (the tape its contract names).
 * Exits as bfrt_report says.  Built and run by tests/contract.rs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bfrt.h"

BF_DECLARE_PROGRAM(prog_main);

int main(int argc, char **argv)
{
    int status;
    if (argc > 1)
        status = bfrt_run_checked(prog_main, &BF_CONTRACT(prog_main), (size_t)strtoull(argv[1], NULL, 10));
    else
        status = BFRT_RUN(prog_main);
    return bfrt_report(status);
}
