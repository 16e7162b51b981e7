#!/usr/bin/env python3
"""Times two shell commands in turn, K rounds, and prints each one's least
CPU time (user + sys of the command and its children) and their ratio.

    python3 benches/minpair.py K 'NEW COMMAND' 'OLD COMMAND'

The least of many runs is the steadiest figure for CPU-bound code on a
noisy machine: noise only adds. (farm-bench's medians of paired ratios are
what `make bench` reports; this is for small before/after differences.)
"""
import resource
import subprocess
import sys


def cpu(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    rounds, new, old = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for k, command in enumerate((new, old)):
            best[k] = min(best[k], cpu(command))
    print(f"new {best[0]:.3f} s  old {best[1]:.3f} s  new/old {best[0] / best[1]:.3f}")


if __name__ == "__main__":
    main()
