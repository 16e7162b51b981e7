# bfc: build, test, benchmark.
#
#   make              release build of bfc and runtime-c/libbfrt.a
#   make test         every test: Rust unit + integration (corpus, CLI,
#                     differential), the C runtime's self-test, clippy, fmt
#   make bench        speed tables against a naive and an optimising gcc -O2
#                     translation (corpus + benches/programs), idioms against
#                     scalar C loops, compile times, target/bench/ratios.svg
#   make bench-wider  only the wider set (benches/programs); bench-idioms: only
#                     the idioms; bench-corpus: only the corpus's benchmarks
#   make bench-programs  regenerate benches/programs' generated programs and
#                     their expected outputs (bfc --interp against -O0)
#   make fuzz N=...   long differential fuzzing run (default 100000 programs)
#   make check-mem    the C runtime under AddressSanitizer, the JIT under valgrind
#   make install      bfc, bfrt.h, libbfrt.a, the man page and bash/zsh/fish
#                     completions under $(DESTDIR)$(PREFIX) (PREFIX=/usr/local)
#   make uninstall    removes them
#
# BFC_CORPUS points at the corpus (default ../shared/corpus).

CARGO ?= cargo
CC ?= cc
CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Werror
BUILD := target/runtime-c
N ?= 100000

CARGO_TARGET_DIR ?= target
BFC_BIN = $(CARGO_TARGET_DIR)/x86_64-unknown-linux-gnu/release/bfc
GEN = $(CARGO_TARGET_DIR)/gen
PREFIX ?= /usr/local
DESTDIR ?=
INSTALLED = bin/bfc include/bfrt.h lib/libbfrt.a share/man/man1/bfc.1 \
  share/bash-completion/completions/bfc share/zsh/site-functions/_bfc \
  share/fish/vendor_completions.d/bfc.fish

.PHONY: all bfc gen install uninstall test test-rust test-runtime test-install lint bench bench-wider bench-idioms bench-corpus bench-widths bench-programs fuzz check-mem clean

all: bfc runtime-c/libbfrt.a

bfc:
	$(CARGO) build --release

runtime-c/libbfrt.a: runtime-c/bfrt.c runtime-c/bfrt.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -c runtime-c/bfrt.c -o $(BUILD)/bfrt.o
	ar rcs $@ $(BUILD)/bfrt.o

# The man page and completions, from the clap definition bfc parses with.
gen:
	$(CARGO) run --release --example bfc-gen -- $(GEN)

install: all gen
	install -Dm755 $(BFC_BIN) $(DESTDIR)$(PREFIX)/bin/bfc
	install -Dm644 runtime-c/bfrt.h $(DESTDIR)$(PREFIX)/include/bfrt.h
	install -Dm644 runtime-c/libbfrt.a $(DESTDIR)$(PREFIX)/lib/libbfrt.a
	install -Dm644 $(GEN)/bfc.1 $(DESTDIR)$(PREFIX)/share/man/man1/bfc.1
	install -Dm644 $(GEN)/bfc.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bfc
	install -Dm644 $(GEN)/_bfc $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_bfc
	install -Dm644 $(GEN)/bfc.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/bfc.fish

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))

test: test-runtime lint test-rust test-install

test-rust:
	$(CARGO) test --release --lib --bins --tests -- --nocapture

test-runtime:
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) runtime-c/selftest.c runtime-c/selftest_prog.S runtime-c/bfrt.c -o $(BUILD)/selftest
	$(BUILD)/selftest

# Installs into a temporary DESTDIR, uses the installed bfc, header and
# library from elsewhere, uninstalls.
test-install: all
	scripts/test-install

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

bench: bfc
	$(CARGO) bench --bench corpus

bench-wider: bfc
	BFC_BENCH_SET=wider $(CARGO) bench --bench corpus

bench-idioms: bfc
	BFC_BENCH_SET=idioms $(CARGO) bench --bench corpus

bench-corpus: bfc
	BFC_BENCH_SET=corpus,compile $(CARGO) bench --bench corpus

bench-widths: bfc
	BFC_BENCH_SET=widths $(CARGO) bench --bench corpus

# The expected outputs take minutes (the slow rows, e_digits above all,
# longer): run when a generated program or an input changes.
bench-programs: bfc
	python3 benches/programs/gen.py
	python3 benches/programs/expect.py $(CARGO_TARGET_DIR)/x86_64-unknown-linux-gnu/release/bfc

fuzz:
	BFC_FUZZ_N=$(N) $(CARGO) test --release --test fuzz -- --ignored --nocapture

# check-mem: the C runtime's self-test under ASan/UBSan, then memcheck on
# `bfc --jit` (and `bfc -c`) and on executables bfc builds, for a sample of
# the corpus (factor for the switch tables, read from after the code).
# Memcheck reports the guard-page access of a tape error as an invalid read
# even though the fault handler turns it into the error, so the faulting
# sample runs with a suppression for exactly that (an invalid access in
# generated code, JIT or bf_main); the others run without. The
# handler resumes from the registers in the signal context, which memcheck
# keeps exact only with --px-default=allregs-at-mem-access (without it the
# output pending at the fault is lost).
BFC_CORPUS ?= ../shared/corpus
# memcheck checks heap accesses only where it can replace malloc: not in a
# static executable. check-mem runs a dynamically linked bfc (an empty
# RUSTFLAGS overrides .cargo/config.toml's static linking).
MEM_TARGET_DIR = $(CARGO_TARGET_DIR)/memcheck
MEM_BFC = $(MEM_TARGET_DIR)/x86_64-unknown-linux-gnu/release/bfc
VALGRIND ?= valgrind
VG = $(VALGRIND) -q --error-exitcode=99 --px-default=allregs-at-mem-access
MEM_SAMPLES ?= hello_rdebath beer bsort factor
MEM_PROGS = $(BFC_CORPUS)/progs

check-mem:
	RUSTFLAGS= CARGO_TARGET_DIR=$(MEM_TARGET_DIR) $(CARGO) build --release
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	  runtime-c/selftest.c runtime-c/selftest_prog.S runtime-c/bfrt.c -o $(BUILD)/selftest-asan
	$(BUILD)/selftest-asan
	@test -d $(MEM_PROGS) || { echo "no corpus at $(BFC_CORPUS) (set BFC_CORPUS)"; exit 1; }
	@set -e; for p in $(MEM_SAMPLES); do \
	  in=/dev/null; if [ -f $(MEM_PROGS)/$$p.in ]; then in=$(MEM_PROGS)/$$p.in; fi; \
	  echo "memcheck: bfc --jit $$p.b"; \
	  $(VG) $(MEM_BFC) --jit $(MEM_PROGS)/$$p.b < $$in > $(BUILD)/mem-$$p.out; \
	  cmp $(BUILD)/mem-$$p.out $(MEM_PROGS)/$$p.out; \
	  echo "memcheck: bfc -c $$p.b"; \
	  $(VG) $(MEM_BFC) -c $(MEM_PROGS)/$$p.b -o $(BUILD)/mem-$$p.o; \
	  echo "memcheck: executable $$p"; \
	  $(MEM_BFC) $(MEM_PROGS)/$$p.b -o $(BUILD)/mem-$$p; \
	  $(VG) $(BUILD)/mem-$$p < $$in > $(BUILD)/mem-$$p.out; \
	  cmp $(BUILD)/mem-$$p.out $(MEM_PROGS)/$$p.out; \
	done
	@printf '%s\n' \
	  '{' '  jit-tape-fault-1' '  Memcheck:Addr1' '  obj:*' '  fun:*LoadedCode*run*' '}' \
	  '{' '  jit-tape-fault-16' '  Memcheck:Addr16' '  obj:*' '  fun:*LoadedCode*run*' '}' \
	  '{' '  exe-tape-fault-1' '  Memcheck:Addr1' '  fun:bf_main' '  fun:bfrt_run' '}' \
	  '{' '  exe-tape-fault-16' '  Memcheck:Addr16' '  fun:bf_main' '  fun:bfrt_run' '}' \
	  > $(BUILD)/tape-faults.supp
	@set -e; p=edge_underflow; \
	  $(MEM_BFC) $(MEM_PROGS)/$$p.b -o $(BUILD)/mem-$$p; \
	  for run in "$(MEM_BFC) --jit $(MEM_PROGS)/$$p.b" "$(BUILD)/mem-$$p"; do \
	    echo "memcheck: $$run (a tape error)"; \
	    status=0; $(VG) --suppressions=$(BUILD)/tape-faults.supp $$run < /dev/null \
	      > $(BUILD)/mem-$$p.out 2> $(BUILD)/mem-$$p.err || status=$$?; \
	    cat $(BUILD)/mem-$$p.err; \
	    test $$status = 3 || { echo "exit $$status, expected 3"; exit 1; }; \
	    printf A | cmp - $(BUILD)/mem-$$p.out; \
	    grep -q 'tape underflow' $(BUILD)/mem-$$p.err; \
	  done
	@echo "check-mem: ok"

clean:
	$(CARGO) clean
	rm -f runtime-c/libbfrt.a
