#include "CRucksackKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// Raw opcode: xgetbv needs no target attribute this way, and we only run it after checking OSXSAVE.
static unsigned long long rk_xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

// CPUID says what the CPU can do; XCR0 says whether the OS saves the YMM/ZMM registers on context
// switches. Both are needed. (macOS enables AVX-512 state lazily, so there we conservatively get level 1.)
static int rk_detect_isa(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!osxsave || !avx || !fma) return 0;
    unsigned long long xcr0 = rk_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;  // XMM + YMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    int avx2 = (ebx >> 5) & 1;
    if (!avx2) return 0;
    int avx512f = (ebx >> 16) & 1, avx512dq = (ebx >> 17) & 1, avx512vl = (ebx >> 31) & 1;
    if (avx512f && avx512dq && avx512vl && (xcr0 & 0xE0) == 0xE0) return 2;  // opmask + ZMM state
    return 1;
}
#else
static int rk_detect_isa(void) { return 0; }
#endif

int rk_gemm_max_isa(void) {
    static int cached = -1;  // benign race: every thread computes the same value
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = rk_detect_isa();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}
