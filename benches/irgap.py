#!/usr/bin/env python3
"""Where bfc's machine code loses to gcc's on the same IR: for each program
of the corpus and of the wider set (those on the default 65536-cell tape)
that runs 20 ms to 5 s, bfc's executable against `gcc -O2` of its own -O2
IR (examples/ir-c.rs), both without compile-time execution. Prints the
least CPU time of each over K alternating runs and bfc's over gcc's; a
ratio above 1 is a gap in bfc's code generator, not in its passes.

    python3 benches/irgap.py [K] [NAME,NAME...]

Run from the repository after `make`; works in ./target/irgap. The corpus
is $BFC_CORPUS or ../shared/corpus. Programs whose IR has shortcuts
compare different work (the C runs the loops a shortcut stands for).
"""
import csv
import os
import resource
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BFC = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/bfc")
CORPUS = os.environ.get("BFC_CORPUS", os.path.join(ROOT, "../shared/corpus"))
WIDER = os.path.join(ROOT, "benches/programs")
WORK = os.path.join(ROOT, "target/irgap")


def run(command, stdin):
    """CPU seconds of `command` and its children, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stdin or os.devnull, "rb") as f:
        out = subprocess.run(command, shell=True, stdin=f, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=60, check=False).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def programs():
    """(name, source, input or None, bytes to stop after or None)."""
    progs = os.path.join(CORPUS, "progs")
    with open(os.path.join(CORPUS, "MANIFEST.tsv")) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            source = os.path.join(progs, row["name"] + ".b")
            given = os.path.join(progs, row["name"] + ".in")
            if os.path.exists(source):
                yield row["name"], source, given if os.path.exists(given) else None, None
    with open(os.path.join(WIDER, "MANIFEST.tsv")) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["tape"] != "65536":
                continue
            given = None if row["input"] == "-" else os.path.join(WIDER, row["input"])
            stop = None if row["stop_after"] == "-" else int(row["stop_after"])
            yield "w_" + row["name"], os.path.join(WIDER, row["program"]), given, stop


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    os.makedirs(WORK, exist_ok=True)
    for name, source, given, stop in programs():
        if only and name not in only:
            continue
        exe, c_exe = os.path.join(WORK, name), os.path.join(WORK, name + "_c")
        tail = f" | head -c {stop}" if stop else ""
        if subprocess.run([BFC, "-w", "--eval-steps", "0", "-o", exe, source], stderr=subprocess.DEVNULL).returncode:
            continue
        try:
            seconds, out = run(exe + tail, given)
        except subprocess.TimeoutExpired:
            continue
        if not 0.02 <= seconds <= 5:
            continue
        c = subprocess.run(["cargo", "run", "-q", "--release", "--manifest-path", os.path.join(ROOT, "Cargo.toml"),
                            "--example", "ir-c", "--", source], capture_output=True, check=True).stdout
        with open(c_exe + ".c", "wb") as f:
            f.write(c)
        subprocess.run(["gcc", "-O2", "-w", "-o", c_exe, c_exe + ".c"], check=True)
        if run(c_exe + tail, given)[1] != out:
            print(f"{name}: the C's output differs", flush=True)
            continue
        best = [float("inf")] * 2
        for _ in range(rounds):
            for i, command in enumerate([exe, c_exe]):
                best[i] = min(best[i], run(command + tail, given)[0])
        print(f"{name:28} bfc {best[0]:.3f}  gcc of its IR {best[1]:.3f}  ratio {best[0] / best[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
