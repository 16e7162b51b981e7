# bfc: build, test, benchmark.
#
#   make              release build of bfc and runtime-c/libbfrt.a
#   make test         every test: Rust unit + integration (corpus, CLI,
#                     differential), the C runtime's self-test, clippy, fmt
#   make bench        speed table against a naive gcc -O2 translation
#   make fuzz N=...   long differential fuzzing run (default 100000 programs)
#   make check-mem    the C runtime under AddressSanitizer, the JIT under valgrind
#
# BFC_CORPUS points at the corpus (default ../shared/corpus).

CARGO ?= cargo
CC ?= cc
CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Werror
BUILD := target/runtime-c
N ?= 100000

.PHONY: all bfc test test-rust test-runtime lint bench fuzz check-mem clean

all: bfc runtime-c/libbfrt.a

bfc:
	$(CARGO) build --release

runtime-c/libbfrt.a: runtime-c/bfrt.c runtime-c/bfrt.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -c runtime-c/bfrt.c -o $(BUILD)/bfrt.o
	ar rcs $@ $(BUILD)/bfrt.o

test: test-runtime lint test-rust

test-rust:
	$(CARGO) test --release -- --nocapture

test-runtime:
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) runtime-c/selftest.c runtime-c/selftest_prog.S runtime-c/bfrt.c -o $(BUILD)/selftest
	$(BUILD)/selftest

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

bench: bfc
	$(CARGO) bench --bench corpus

fuzz:
	BFC_FUZZ_N=$(N) $(CARGO) test --release --test fuzz -- --ignored --nocapture

check-mem:
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	  runtime-c/selftest.c runtime-c/selftest_prog.S runtime-c/bfrt.c -o $(BUILD)/selftest-asan
	$(BUILD)/selftest-asan

clean:
	$(CARGO) clean
	rm -f runtime-c/libbfrt.a
