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
static unsigned char tape[1 << 19];
int main(int argc, char **argv) {
    int variant = argc > 1 ? atoi(argv[1]) : 0;
    long len = 16, reps = 8400000;
    unsigned char *p = tape + 64;
    for (long i = 0; i < len; i++) p[i] = 6;
    for (long r = 0; r < reps; r++) {
        unsigned char *q = p;
        if (variant == 0) {
            __asm__ volatile(
                "1:\n"
                "movzbl 64(%0),%%eax\n or 128(%0),%%al\n or 96(%0),%%al\n jne 9f\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "movzbl 32(%0),%%eax\n add %%al,%%sil\n movb $0,32(%0)\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n add %%r9b,33(%0)\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else if (variant == 6) {
            __asm__ volatile(
                "1:\n"
                "cmpb $0,64(%0)\n jne 9f\n cmpb $0,128(%0)\n jne 9f\n cmpb $0,96(%0)\n jne 9f\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "movzbl 32(%0),%%eax\n add %%al,%%sil\n movb $0,32(%0)\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n add %%r9b,33(%0)\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else if (variant == 7) {
            __asm__ volatile(
                "1:\n"
                "movzbl 64(%0),%%eax\n movzbl 128(%0),%%ecx\n or %%ecx,%%eax\n movzbl 96(%0),%%ecx\n or %%ecx,%%eax\n jne 9f\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "movzbl 32(%0),%%eax\n add %%al,%%sil\n movb $0,32(%0)\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n add %%r9b,33(%0)\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else if (variant == 5) {
            __asm__ volatile(
                "movzbl (%0),%%r8d\n"
                "1:\n"
                "movzbl 64(%0),%%eax\n or 128(%0),%%al\n or 96(%0),%%al\n jne 9f\n"
                "add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "movzbl 32(%0),%%eax\n add %%al,%%sil\n movb $0,32(%0)\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n add %%r9b,33(%0)\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n movzbl (%0),%%r8d\n test %%r8b,%%r8b\n jne 1b\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else if (variant == 4) {
            __asm__ volatile(
                "1:\n"
                "movzbl 64(%0),%%eax\n or 128(%0),%%al\n or 96(%0),%%al\n jne 9f\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "add 32(%0),%%sil\n movb $0,32(%0)\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n add %%r9b,33(%0)\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else if (variant == 2) {
            __asm__ volatile(
                "movzbl 32(%0),%%r10d\n"
                "1:\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "add %%r10b,%%sil\n movb $0,32(%0)\n movzbl 33(%0),%%r10d\n add %%r9b,%%r10b\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "mov %%r10b,32(%0)\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else if (variant == 3) {
            __asm__ volatile(
                "1:\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "movzbl 32(%0),%%eax\n add %%al,%%sil\n movb $0,32(%0)\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n add %%r9b,33(%0)\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        } else {
            __asm__ volatile(
                "movzbl 32(%0),%%r10d\n"
                "1:\n"
                "movzbl 64(%0),%%eax\n or 128(%0),%%al\n or 96(%0),%%al\n jne 9f\n"
                "movzbl (%0),%%r8d\n add $-1,%%r8b\n lea 1(%%r8,%%r8),%%esi\n cmp $5,%%r8b\n setae %%r9b\n"
                "add %%r10b,%%sil\n movb $0,32(%0)\n movzbl 33(%0),%%r10d\n add %%r9b,%%r10b\n"
                "imul $-10,%%r9d,%%ecx\n add %%cl,%%sil\n mov %%sil,(%0)\n"
                "lea 1(%0),%0\n cmpb $0,(%0)\n jne 1b\n"
                "mov %%r10b,32(%0)\n"
                "9:\n"
                : "+r"(q) : : "rax", "rcx", "rsi", "r8", "r9", "r10", "memory", "cc");
        }
        q[32] = 0;
        memset(p, 6, len);
        __asm__ volatile("" ::: "memory");
    }
    printf("%d\n", p[0]);
    return 0;
}
