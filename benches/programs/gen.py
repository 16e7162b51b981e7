#!/usr/bin/env python3
"""Generates the written-for-bfc programs of the wider benchmark set.

    python3 benches/programs/gen.py          # rewrites the generated .b/.in files here

Each program is built by a small emitter that tracks the data pointer, so
the Brainfuck reads like the code a person or a compiler would write:

* kolakoski.b       the Kolakoski sequence (a self-describing sequence):
                    4-cell frames, the read head found with the marker walk
                    `-[+>>>>-]+`, the end with `[>>>>]`, back with `[<<<<]`
* pow2_w1/w2/w4.b   2**N as a bignum of decimal digits one per 1, 2 or 4
                    cells (digit+1 in the cell, 0 past the end): carry walks
                    `[ ... >]` / `[ ... >>]` / `[ ... >>>>]`, a switch-like
                    chain `[-[-[-[-[-[-]...]]]]]` per digit, temporaries in a
                    parallel array far to the right
* rule90.b          an elementary cellular automaton (rule 90) on 2-cell
                    frames, each row walked with `[>>]`, printed as text
* tiny_*.b          the output of `tinyc` (below), a compiler from a tiny
                    language of byte variables to Brainfuck: copies through
                    temporaries, clears, decimal printing by divmod
* tiny_primes.b, tiny_count.b (as tiny_*)
* straight.b        a large generated straight-line program (random runs of
                    `+-<>` and copy loops), run 200 times by a counter
* *.in              inputs: random bytes for the sorts, and for the
                    self-interpreter (cgbfi2.b) a program's commands, `!`
                    and the program's input

The expected outputs are not made here: `make bench-expect` runs each
program with `bfc --interp` and `bfc --jit -O0` and keeps the output only if
the two agree.
"""

import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Emitter:
    """Brainfuck text with the pointer position tracked (relative to an
    origin the caller chooses; walks leave it to the caller)."""

    def __init__(self):
        self.parts = []
        self.pos = 0

    def raw(self, text):
        self.parts.append(text)

    def go(self, p):
        d = p - self.pos
        self.raw(">" * d if d > 0 else "<" * -d)
        self.pos = p

    def add(self, p, n):
        self.go(p)
        n %= 256
        self.raw("+" * n if n <= 128 else "-" * (256 - n))

    def clear(self, p):
        self.go(p)
        self.raw("[-]")

    def set(self, p, n):
        self.clear(p)
        self.add(p, n)

    def loop(self, p, body):
        """while cell[p] { body } (body must come back to p)."""
        self.go(p)
        self.raw("[")
        body()
        self.go(p)
        self.raw("]")

    def move(self, src, dsts):
        """cell[d] += cell[src] * f for each (d, f); cell[src] = 0."""

        def body():
            self.add(src, -1)
            for d, f in dsts:
                self.add(d, f)

        self.loop(src, body)

    def copy(self, src, dst, tmp):
        self.move(src, [(dst, 1), (tmp, 1)])
        self.move(tmp, [(src, 1)])

    def out(self, p):
        self.go(p)
        self.raw(".")

    def text(self):
        return "".join(self.parts)


def wrap(text, width=72):
    return "\n".join(text[i : i + width] for i in range(0, len(text), width)) + "\n"


def counted(e, outer_cell, inner_cell, outer, inner, body):
    """Runs body() outer*inner times with two counters."""
    e.set(outer_cell, outer)

    def outer_body():
        e.set(inner_cell, inner)

        def inner_body():
            body()
            e.go(inner_cell)
            e.add(inner_cell, -1)

        e.loop(inner_cell, inner_body)
        e.add(outer_cell, -1)

    e.loop(outer_cell, outer_body)


# ---------------------------------------------------------------- kolakoski


def kolakoski(outer, inner):
    """Kolakoski sequence 1,2,2,1,1,2,1,2,2,... Frames of 4 cells from cell
    4: flag (2; 1 on the read head; 0 past the end), value (1 or 2), two
    temporaries. Cell 0 is a zero flag (the left sentinel), cells 1 and 2
    count the steps. Each step reads the value v under the read head and
    appends a run of v symbols, the opposite of the last one; each symbol
    is printed as it is appended."""
    e = Emitter()
    # Three frames: 1, 2, 2; the read head on the third.
    for k, (flag, value) in enumerate([(2, 1), (2, 2), (1, 2)]):
        e.set(4 + 4 * k, flag)
        e.set(5 + 4 * k, value)
        e.add(5 + 4 * k, ord("0"))
        e.out(5 + 4 * k)
        e.add(5 + 4 * k, -ord("0"))

    def append(opposite):
        # At the end frame's flag (relative 0); the last frame is at -4.
        e.pos = 0
        e.add(0, 2)
        e.copy(-3, 2, 3)  # last value into temporary 2
        if opposite:
            e.add(1, 3)
            e.move(2, [(1, -1)])
        else:
            e.move(2, [(1, 1)])
        e.add(1, ord("0"))
        e.out(1)
        e.add(1, -ord("0"))
        e.go(0)

    def to_end_and_back(opposite):
        e.raw("[>>>>]")  # from a flag to the end
        append(opposite)
        e.raw("<<<<[<<<<]")  # back to cell 0
        e.raw(">>>>-[+>>>>-]+")  # marker walk to the read head
        e.pos = 0

    def step():
        e.go(0)
        e.raw(">>>>-[+>>>>-]+")  # from cell 0 to the read head's flag
        e.pos = 0
        e.copy(1, 2, 3)
        e.add(2, -1)  # temporary 2 = v - 1
        e.go(0)
        to_end_and_back(True)

        def second():
            e.go(0)
            to_end_and_back(False)
            e.go(2)
            e.add(2, -1)

        e.loop(2, second)
        e.go(0)
        e.add(0, 1)  # unmark
        e.add(4, -1)  # mark the next frame
        e.raw("[<<<<]")  # back to cell 0
        e.pos = 0
        e.go(2)

    counted(e, 1, 2, outer, inner, step)
    e.set(1, 10)
    e.out(1)
    return e.text()


# ---------------------------------------------------------------- bignums


def pow2(width, n_outer, n_inner, digits):
    """2**(n_outer*n_inner) in decimal. Digits little-endian from cell 8 at
    a stride of `width` cells, each cell holding digit+1 (0: past the
    end); the cell `width` left of the first digit is 0. The temporaries of
    the digit at p are at p+T..p+T+3 (T past the largest number)."""
    e = Emitter()
    base = 8
    t = digits * width + 16
    assert base + digits * width + 4 * t < 262144
    e.set(base, 2)  # the number 1

    def double():
        e.go(base)
        e.pos = 0
        # [ process digit; move to the next ]
        e.raw("[")
        c, s, g, d = t, 2 * t, 3 * t, 4 * t
        e.move(0, [(s, 1)])
        e.add(s, -1)  # d
        e.add(0, 1)
        e.move(s, [(0, 2), (d, 1)])  # cell = 2d + 1, copy d
        # digit chain: g = d >= 5
        e.go(d)
        e.raw("[-[-[-[-[-[-]")
        e.add(g, 1)
        e.go(d)
        e.raw("]]]]]")
        e.move(c, [(0, 1)])  # + carry in

        def overflow():
            e.add(g, -1)
            e.add(0, -10)
            e.add(width + c, 1)

        e.loop(g, overflow)
        e.go(width)
        e.raw("]")
        e.pos = 0
        # past the end: a carry makes a new digit 1
        def carry():
            e.add(t, -1)
            e.add(0, 2)

        e.loop(t, carry)
        e.go(0)
        step = ">" * width
        back = "<" * width
        e.raw(back + "[" + back + "]")  # to the cell left of the first digit
        e.pos = base - width

    e.pos = base
    counted(e, 1, 2, n_outer, n_inner, double)
    e.go(base)
    step = ">" * width
    back = "<" * width
    e.raw("[" + step + "]" + back)  # the top digit
    e.raw("[" + "+" * 47 + "." + "-" * 47 + back + "]")
    e.pos = base - width
    e.set(base - width - 1, 10)
    e.out(base - width - 1)
    return e.text()


# ---------------------------------------------------------------- rule 90


def rule90(width, rows):
    """Rule 90 on `width` cells of 2-cell frames (flag 1, state 0/1) from
    cell 4, a zero flag before and after. Each row: print it ('#' / '.'),
    then compute the next state of every cell from its neighbours, walking
    with `[>>]` and carrying the left neighbour's old state in a
    temporary."""
    e = Emitter()
    first = 8
    for k in range(width):
        e.set(first + 2 * k, 1)
    e.set(first + 2 * (width // 2) + 1, 1)
    # cell 1: row counter (outer), cell 2: inner

    def row():
        # print: walk the frames
        e.go(first)
        e.pos = 0
        e.raw("[")
        # '.' is 46, '#' is 35: print 46 - 11*state, via the temporary at
        # the next frame's... use cells far right: T = 2*width+8
        t = 2 * width + 8
        e.copy(1, t, t + 1)
        e.add(t + 2, 46)
        e.move(t, [(t + 2, -11)])
        e.out(t + 2)
        e.clear(t + 2)
        e.go(2)
        e.raw("]")
        e.pos = 0
        e.raw("<<[<<]")  # back to the zero flag before the first frame
        e.pos = first - 2
        e.set(first - 3, 10)
        e.out(first - 3)
        e.clear(first - 3)
        # update: prev (old state of the left neighbour) in cell first-1,
        # which is 0 at the start (the boundary is dead).
        e.go(first)
        e.pos = 0
        e.raw("[")
        # new = prev xor right_old; then prev = my old state.
        # my old state s at 1; prev at -1 (the left frame's temporary slot
        # is its state cell... keep prev in a slot of its own: cell T+3
        # relative to the frame, carried right each step.
        t = 2 * width + 8
        # r = right neighbour's old state (0 past the end: its cell is 0)
        e.copy(3, t + 4, t + 5)  # r
        e.copy(1, t + 6, t + 5)  # s (my old state)
        # new state = prev + r, minus 2 if both: compute x = prev + r
        e.clear(1)
        e.move(t + 3, [(1, 1)])  # prev (consumed)
        e.move(t + 4, [(1, 1)])  # + r
        # x in {0,1,2}: 2 -> 0
        e.copy(1, t + 7, t + 5)
        e.go(t + 7)
        e.raw("[-[")
        e.add(1, -2)
        e.go(t + 7)
        e.raw("[-]]]")
        # carry my old state to the next frame's prev slot
        e.move(t + 6, [(2 + t + 3, 1)])
        e.go(2)
        e.raw("]")
        e.pos = 0
        # past the end: drop the carried prev
        t = 2 * width + 8
        e.clear(t + 3)
        e.go(0)
        e.raw("<<[<<]")
        e.pos = first - 2
        e.go(2)

    assert rows % 200 == 0 or rows < 256
    outer, inner = (rows // 200, 200) if rows % 200 == 0 else (1, rows)
    counted(e, 1, 2, outer, inner, row)
    return e.text()


# ---------------------------------------------------------------- tinyc


class TinyC:
    """A compiler from a tiny language to Brainfuck. Statements, one a line:

        var NAME...            byte variables (cells from 0)
        set X N | add X N      X = N, X += N (mod 256)
        addv X Y | subv X Y    X += Y, X -= Y (Y kept, through a temporary)
        mulv X Y Z             X = Y * Z (mod 256)
        modv X Y               X = X mod Y (Y > 0)
        while X ... end        while X != 0
        ifnz X ... end         if X != 0 (X kept)
        dec X | inc X
        print X                X in decimal, no padding
        putc N                 the byte N
    """

    def __init__(self, source):
        self.e = Emitter()
        self.vars = {}
        self.source = source

    def compile(self):
        lines = [l.split("#")[0].split() for l in self.source.splitlines()]
        lines = [l for l in lines if l]
        names = [n for l in lines if l[0] == "var" for n in l[1:]]
        for i, n in enumerate(names):
            self.vars[n] = i
        self.tmp = len(names)  # 8 temporaries from here
        self.block(lines, 0, len(lines))
        return self.e.text()

    def v(self, name):
        return self.vars[name]

    def block(self, lines, i, end):
        while i < end:
            l = lines[i]
            op = l[0]
            if op in ("while", "ifnz"):
                depth, j = 1, i + 1
                while depth:
                    if lines[j][0] in ("while", "ifnz"):
                        depth += 1
                    elif lines[j][0] == "end":
                        depth -= 1
                    j += 1
                x = self.v(l[1])
                if op == "while":
                    self.e.loop(x, lambda a=i + 1, b=j - 1: self.block(lines, a, b))
                else:
                    t, f = self.tmp, self.tmp + 1
                    self.e.copy(x, t, f)

                    def body(a=i + 1, b=j - 1, t=t):
                        self.e.clear(t)
                        self.block(lines, a, b)

                    # the body may use temporaries from t+2 on
                    self.tmp += 2
                    self.e.loop(t, body)
                    self.tmp -= 2
                i = j
                continue
            self.stmt(l)
            i += 1

    def stmt(self, l):
        e, op = self.e, l[0]
        t = self.tmp
        if op == "var":
            return
        if op == "set":
            e.set(self.v(l[1]), int(l[2]))
        elif op == "add":
            e.add(self.v(l[1]), int(l[2]))
        elif op == "inc":
            e.add(self.v(l[1]), 1)
        elif op == "dec":
            e.add(self.v(l[1]), -1)
        elif op in ("addv", "subv"):
            x, y = self.v(l[1]), self.v(l[2])
            f = 1 if op == "addv" else -1
            e.move(y, [(x, f), (t, 1)])
            e.move(t, [(y, 1)])
        elif op == "mulv":
            x, y, z = self.v(l[1]), self.v(l[2]), self.v(l[3])
            e.clear(x)
            e.copy(y, t + 1, t)

            def body():
                e.add(t + 1, -1)
                e.move(z, [(x, 1), (t, 1)])
                e.move(t, [(z, 1)])

            e.loop(t + 1, body)
        elif op == "modv":
            # divmod block at t..t+5: n 0 d 0 0 0 -> 0 n d-n%d n%d n/d
            x, y = self.v(l[1]), self.v(l[2])
            e.move(x, [(t, 1)])
            e.copy(y, t + 2, t + 6)
            e.go(t)
            e.raw("[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]")
            e.pos = t
            e.clear(t + 1)
            e.clear(t + 2)
            e.move(t + 3, [(x, 1)])
            e.clear(t + 4)
        elif op == "print":
            x = self.v(l[1])
            # hundreds, tens, ones with the divmod block, leading zeros dropped
            e.copy(x, t, t + 6)

            def divmod10():
                # from n at t: t+3 = n % 10, t+4 = n / 10 (t+1, t+2 cleared)
                e.set(t + 2, 10)
                e.go(t)
                e.raw("[->+>-[>+>>]>[+[-<+>]>+>>]<<<<<<]")
                e.pos = t
                e.clear(t + 1)
                e.clear(t + 2)

            divmod10()
            e.move(t + 3, [(t + 7, 1)])  # ones at t+7
            e.move(t + 4, [(t, 1)])  # n/10 at t
            divmod10()
            # tens at t+3, hundreds at t+4; a flag at t+5: something printed
            e.go(t + 4)
            e.raw("[")
            e.add(t + 4, 48)
            e.out(t + 4)
            e.clear(t + 4)
            e.set(t + 5, 1)
            e.go(t + 4)
            e.raw("]")
            e.copy(t + 3, t + 6, t + 8)
            e.move(t + 6, [(t + 5, 1)])
            e.go(t + 5)
            e.raw("[")
            e.clear(t + 5)
            e.add(t + 3, 48)
            e.out(t + 3)
            e.go(t + 5)
            e.raw("]")
            e.clear(t + 3)
            e.add(t + 7, 48)
            e.out(t + 7)
            e.clear(t + 7)
        elif op == "putc":
            e.set(t, int(l[1]))
            e.out(t)
            e.clear(t)
        else:
            raise SystemExit(f"tinyc: unknown statement {l}")


TINY_MODSUM = """
# for each a in 250..1 : the sum mod 256 of a mod b for b in 41..2,
# printed one a line (120 times) (divmod needs a divisor of 2 or more)
var k a b c x s
set k 120
while k
set a 250
while a
  set c 40
  set s 0
  while c
    set b 1
    addv b c
    set x 0
    addv x a
    modv x b
    addv s x
    dec c
  end
  print s
  putc 10
  dec a
end
dec k
end
"""

TINY_MULMOD = """
# products mod 7: for i, j in 1..N: s += (i*j mod 256) mod 7
var i j p s k seven
set seven 7
set k 90
while k
set i 90
while i
  set j 90
  while j
    mulv p i j
    modv p seven
    addv s p
    dec j
  end
  dec i
end
print s
putc 32
dec k
end
putc 10
"""


TINY_PRIMES = """
# counts the primes below 254 by trial division, 40 times over
var k m n q d x z f c
set k 40
while k
  set c 0
  set m 251
  while m
    set n 2
    addv n m
    set f 0
    set q 0
    addv q n
    dec q
    dec q
    while q
      set d 1
      addv d q
      set x 0
      addv x n
      modv x d
      set z 1
      ifnz x
        set z 0
      end
      ifnz z
        set f 1
      end
      dec q
    end
    set z 1
    ifnz f
      set z 0
    end
    addv c z
    dec m
  end
  print c
  putc 10
  dec k
end
"""


TINY_COUNT = """
# prints 1..255 in decimal, 250 times: output-bound compiler output
var k n m
set k 250
while k
  set n 0
  set m 255
  while m
    inc n
    print n
    putc 32
    dec m
  end
  putc 10
  dec k
end
"""


# ---------------------------------------------------------------- straight


def straight(size, seed, runs):
    """A counter in cell 0 runs a random straight-line body `runs` times;
    the body works on cells 1..16 and ends where it began (cell 1): runs of + and -,
    moves, copy loops `[->+<]` (so that no pass can fold the whole loop
    into a closed form) and an output now and then."""
    rnd = random.Random(seed)
    body = []
    pos = 1
    length = 0
    while length < size:
        k = rnd.randrange(100)
        if k < 45:
            s = rnd.choice("+-") * rnd.randint(1, 9)
        elif k < 85:
            to = rnd.randint(1, 16)
            s = (">" if to > pos else "<") * abs(to - pos)
            pos = to
        elif k < 97 and pos < 16:
            s = "[->+<]"
        elif k < 97:
            s = "[-<+>]"
        else:
            s = "."
        body.append(s)
        length += len(s)
    body.append("<" * (pos - 1))
    body = "".join(body)
    # two counters: cell 0 (outer) and cell 17 (inner, reloaded)
    inner = ">" * 16 + "+" * 250 + "[" + "<" * 16 + body + ">" * 16 + "-]" + "<" * 16
    return "+" * runs + "[>" + inner + "<-]"


# ---------------------------------------------------------------- main


def write(name, text):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text)


def main():
    header = "[generated by benches/programs/gen.py: {}]\n"
    write("kolakoski.b", header.format("kolakoski") + wrap(kolakoski(150, 200)))
    for w in (1, 2, 4):
        write(f"pow2_w{w}.b", header.format(f"pow2 width {w}") + wrap(pow2(w, 100, 200, 6100)))
    write("rule90.b", header.format("rule90") + wrap(rule90(2000, 4000)))
    write("tiny_modsum.b", header.format("tinyc TINY_MODSUM") + wrap(TinyC(TINY_MODSUM).compile()))
    write("tiny_mulmod.b", header.format("tinyc TINY_MULMOD") + wrap(TinyC(TINY_MULMOD).compile()))
    write("tiny_primes.b", header.format("tinyc TINY_PRIMES") + wrap(TinyC(TINY_PRIMES).compile()))
    write("tiny_count.b", header.format("tinyc TINY_COUNT") + wrap(TinyC(TINY_COUNT).compile()))
    write("straight.b", header.format("straight") + wrap(straight(200_000, 13, 6)))
    # inputs
    rnd = random.Random(7)
    write("sortbytes.in", "".join(chr(rnd.randrange(33, 127)) for _ in range(20000)))
    write("reverse.in", "".join(chr(rnd.randrange(32, 127)) for _ in range(60000)))
    # the self-interpreter's inputs: a program's commands, '!', its input
    def commands(name):
        with open(os.path.join(HERE, name)) as f:
            return "".join(c for c in f.read() if c in "+-<>[].,")

    write("cgbfi2_sortbytes.in", commands("sortbytes.b") + "!" + "".join(chr(rnd.randrange(33, 127)) for _ in range(300)))
    write("cgbfi2_fib.in", commands("fib.b") + "!")
    write("cgbfi2_pow2.in", commands("pow2.b") + "!")
    small = "".join(c for c in rule90(64, 60) if c in "+-<>[].,")
    write("cgbfi2_rule90.in", small + "!")
    small = "".join(c for c in kolakoski(6, 100) if c in "+-<>[].,")
    write("cgbfi2_kolakoski.in", small + "!")


if __name__ == "__main__":
    main()
