#!/usr/bin/env python3
"""Establishes the expected output of each program in MANIFEST.tsv: runs it
with `bfc --interp` and with `bfc --jit -O0`, and keeps the output only if
the two agree byte for byte. A program that prints forever is stopped after
its `stop_after` bytes. Outputs up to 256 KiB are kept as NAME.out, larger
ones as NAME.out.sha256 ("<sha256> <size>", as the corpus does).

Some generated programs move the pointer thousands of cells at a time (their
temporaries are parallel arrays far to the right): `--jit -O0`, which runs
each `>` as it is, would take days on them. For those the second witness is
the same result computed here in Python (WITNESS below).

    python3 benches/programs/expect.py BFC [NAME...]
"""

import hashlib
import os
import subprocess
import sys

sys.set_int_max_str_digits(100000)

HERE = os.path.dirname(os.path.abspath(__file__))
KEEP_BYTES = 256 * 1024


def rows():
    with open(os.path.join(HERE, "MANIFEST.tsv")) as f:
        lines = f.read().splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        if line.strip():
            yield dict(zip(header, line.split("\t")))


def rule90(width, rows):
    state = [0] * width
    state[width // 2] = 1
    out = []
    for _ in range(rows):
        out.append("".join("#" if s else "." for s in state) + "\n")
        state = [(state[i - 1] if i > 0 else 0) ^ (state[i + 1] if i + 1 < width else 0) for i in range(width)]
    return "".join(out).encode()


WITNESS = {
    "pow2_w1": lambda: f"{2**20000}\n".encode(),
    "pow2_w2": lambda: f"{2**20000}\n".encode(),
    "pow2_w4": lambda: f"{2**20000}\n".encode(),
    "rule90": lambda: rule90(2000, 4000),
}


def run(cmd, stdin_path, limit):
    """stdout of cmd, at most `limit` bytes (None: all)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE)
    if limit is None:
        out = p.stdout.read()
    else:
        chunks, got = [], 0
        while got < limit:
            chunk = p.stdout.read1(min(65536, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        out = b"".join(chunks)
        p.kill()
    p.stdout.close()
    code = p.wait()
    if limit is None and code != 0:
        raise SystemExit(f"{cmd} exited with {code}")
    return out


def main():
    bfc = sys.argv[1]
    only = set(sys.argv[2:])
    for row in rows():
        name = row["name"]
        if only and name not in only:
            continue
        prog = os.path.join(HERE, row["program"])
        stdin = None if row["input"] == "-" else os.path.join(HERE, row["input"])
        limit = None if row["stop_after"] == "-" else int(row["stop_after"])
        tape = ["--tape-size", row["tape"]]
        # Stopped short of a whole 64 KiB buffer: the output is written as
        # it is made, or the program would compute up to a buffer more.
        if limit is not None and limit % 65536 != 0:
            tape.append("-u")
        a = run([bfc, "--interp", *tape, prog], stdin, limit)
        if name in WITNESS:
            b, witness = WITNESS[name](), "Python"
        else:
            b, witness = run([bfc, "--jit", "-O0", *tape, prog], stdin, limit), "--jit -O0"
        if a != b:
            raise SystemExit(f"{name}: --interp and {witness} differ ({len(a)} and {len(b)} bytes)")
        if limit is not None and len(a) != limit:
            raise SystemExit(f"{name}: stopped printing after {len(a)} of {limit} bytes")
        for stale in (name + ".out", name + ".out.sha256"):
            if os.path.exists(os.path.join(HERE, stale)):
                os.remove(os.path.join(HERE, stale))
        if len(a) <= KEEP_BYTES:
            with open(os.path.join(HERE, name + ".out"), "wb") as f:
                f.write(a)
        else:
            with open(os.path.join(HERE, name + ".out.sha256"), "w") as f:
                f.write(f"{hashlib.sha256(a).hexdigest()} {len(a)}\n")
        print(f"{name}: {len(a)} bytes, --interp and {witness} agree", flush=True)


if __name__ == "__main__":
    main()
