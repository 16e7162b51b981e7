/* The carry walk idiom's loop at 16 digits (benches/idioms/carry.rs), as
 * bfc emits it (b9611e8) and changed by hand: what each part of it costs,
 * to know which change is worth building (docs/performance.md, twentieth
 * stop).
 *
 *   0  bfc's loop: its three temporaries tested for 0 (movzx, or, or,
 *      jne), the carry handed to the next digit through memory (add
 *      [p+33], r9b, then the next iteration's load of [p+32])
 *   1  the carry kept in a register from one iteration to the next
 *   2  1 without the test of the temporaries
 *   3  0 without the test of the temporaries
 *   4  0 with the carry added from memory in one instruction (add sil, [p+32])
 *   5  0 with the loop's test loading the digit the body reads first
 *   6  0 testing the temporaries with three cmp and jne
 *   7  0 testing them with 32-bit movzx and or
 *   8  0 testing 16 frames' temporaries at once: below a limit in r11
 *      the test is passed over; at it, 16 bytes of each temporary's row
 *      are or'ed (AVX) and tested, and the limit moves 16 cells on
 *   9  8 with the carry in a register, as 1
 *
 * bfc emits variant 8 since dd8781e (walks in blocks, docs/codegen.md;
 * with SSE2 `movdqu`, `por`, `pcmpeqb`, `pmovmskb`, and the block test
 * after the program); variant 9 is not built (docs/performance.md,
 * twenty-first stop).
 *
 *   gcc -O2 -o /tmp/cw benches/carry_walk_variants.c
 *   python3 benches/minpair.py 21 '/tmp/cw 3' '/tmp/cw 0'
 *
 * The idiom program's layout (digits at p, temporaries 32 apart) and its
 * 8,400,000 rounds; each prints 6. x86-64, GNU C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pieces of an iteration; q (%0) is the digit's cell, p. */
#define TEST "movzbl 64(%0),%%eax\n or 128(%0),%%al\n or 96(%0),%%al\n jne 9f\n"
#define TEST_CMP "cmpb $0,64(%0)\n jne 9f\n cmpb $0,128(%0)\n jne 9f\n cmpb $0,96(%0)\n jne 9f\n"
#define TEST_32 "movzbl 64(%0),%%eax\n movzbl 128(%0),%%ecx\n or %%ecx,%%eax\n movzbl 96(%0),%%ecx\n or %%ecx,%%eax\n jne 9f\n"
#define LOAD "movzbl (%0),%%r8d\n"
/* d = [p] - 1; [p] = 1 + 2d; carry out = d >= 5 */
#define DIGIT "add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
#define IN_MEM "movzbl 32(%0),%%eax\n add %%al,%%sil\n movb $0,32(%0)\n"
#define IN_MEM_1 "add 32(%0),%%sil\n movb $0,32(%0)\n"
#define OUT_MEM "add %%r9b,33(%0)\n"
/* the carry in from r10; the next one: the next carry cell plus this carry out */
#define IN_OUT_REG "add %%r10b,%%sil\n movb $0,32(%0)\n movzbl 33(%0),%%r10d\n add %%r9b,%%r10b\n"
#define TENS "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n"
#define STORE "mov %%sil,(%0)\n"
#define BLOCK_TEST                                                                 \
    "cmp %%r11,%0\n jb 2f\n vmovdqu 64(%0),%%xmm0\n vpor 96(%0),%%xmm0,%%xmm0\n" \
    "vpor 128(%0),%%xmm0,%%xmm0\n vptest %%xmm0,%%xmm0\n jnz 9f\n lea 16(%0),%%r11\n2:\n"
#define NEXT_CMP "cmpb $0,(%0)\n"
#define NEXT_LOAD "movzbl (%0),%%r8d\n test %%r8b,%%r8b\n"

/* One walk over the digits from q: before, the loop (its top aligned to
 * 32 bytes, as bfc aligns it), after. */
#define WALK(before, body, next, after)                                    \
    __asm__ volatile(before ".p2align 5\n1:\n" body "lea 1(%0),%0\n" next "jne 1b\n"   \
                     after "9:\n"                                          \
                     : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", \
                       "r11", "xmm0", "memory", "cc")

static unsigned char tape[1 << 19];

int main(int argc, char **argv) {
    int variant = argc > 1 ? atoi(argv[1]) : 0;
    long len = 16, reps = 8400000;
    unsigned char *p = tape + 64;
    memset(p, 6, len);
    for (long r = 0; r < reps; r++) {
        unsigned char *q = p;
        switch (variant) {
        case 0: WALK("", TEST LOAD DIGIT IN_MEM TENS OUT_MEM STORE, NEXT_CMP, ""); break;
        case 1: WALK("movzbl 32(%0),%%r10d\n", TEST LOAD DIGIT IN_OUT_REG TENS STORE, NEXT_CMP, "mov %%r10b,32(%0)\n"); break;
        case 2: WALK("movzbl 32(%0),%%r10d\n", LOAD DIGIT IN_OUT_REG TENS STORE, NEXT_CMP, "mov %%r10b,32(%0)\n"); break;
        case 3: WALK("", LOAD DIGIT IN_MEM TENS OUT_MEM STORE, NEXT_CMP, ""); break;
        case 4: WALK("", TEST LOAD DIGIT IN_MEM_1 TENS OUT_MEM STORE, NEXT_CMP, ""); break;
        case 5: WALK(LOAD, TEST DIGIT IN_MEM TENS OUT_MEM STORE, NEXT_LOAD, ""); break;
        case 6: WALK("", TEST_CMP LOAD DIGIT IN_MEM TENS OUT_MEM STORE, NEXT_CMP, ""); break;
        case 7: WALK("", TEST_32 LOAD DIGIT IN_MEM TENS OUT_MEM STORE, NEXT_CMP, ""); break;
        case 8: WALK("mov %0,%%r11\n", BLOCK_TEST LOAD DIGIT IN_MEM TENS OUT_MEM STORE, NEXT_CMP, ""); break;
        default: WALK("mov %0,%%r11\n movzbl 32(%0),%%r10d\n", BLOCK_TEST LOAD DIGIT IN_OUT_REG TENS STORE, NEXT_CMP, "mov %%r10b,32(%0)\n"); break;
        }
        /* The walk ends past the digits, on the carry's cell: cleared, and
         * the digits set back to 5 (6 in a cell). */
        q[32] = 0;
        memset(p, 6, len);
        __asm__ volatile("" ::: "memory");
    }
    printf("%d\n", p[0]);
    return 0;
}
