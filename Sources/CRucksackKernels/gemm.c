// Built-in GEMM: Goto/BLIS-style packing + register-blocked micro-kernels, compiled once per ISA
// (SwiftPM builds this target for baseline x86-64, so wider ISAs are enabled per function and picked
// at run time).
#include "CRucksackKernels.h"
#include "gemm_thin.h"


#if defined(__x86_64__) || defined(__i386__)
#define RK_X86 1
#endif

// Packing buffers are per-thread scratch (heap.c): concurrent calls stay independent, and a
// product per sample does not allocate (and fault in) fresh buffers each time.
#include "scratch.h"

// The accumulators only stay in registers if the tile loops are fully unrolled; the compilers'
// default heuristics stop short of that for the 12×2 AVX-512 tile.
#define RK_UNROLL _Pragma("GCC unroll 16")

// ---- Instantiations. Micro-tiles use about 3/4 of the vector registers as accumulators. ----
// Blocking was chosen by measurement on Zen 4 (32 KiB L1d, 1 MiB L2 per core): KC = 256 keeps a
// packed B micro-panel near L1 size, MC×KC of packed A (96-192 KiB) stays in L2, and packed B
// (KC×NC) lives in L2/L3. The 12×32 AVX-512 float tile beat 6×64, 8×48 and 14×32 (within noise).

// Baseline: SSE2 on x86-64 (16 registers, no FMA), NEON etc. elsewhere.
#define RK_T float
#define RK_VL 4
#define RK_MR 4
#define RK_NV 2
#define RK_MC 128
#define RK_KC 256
#define RK_NC 4096
#define RK_ATTR
#define RK_NAME(x) rk_s_base_##x
#include "gemm_kernel_impl.h"

#define RK_T double
#define RK_VL 2
#define RK_MR 4
#define RK_NV 2
#define RK_MC 128
#define RK_KC 256
#define RK_NC 4096
#define RK_ATTR
#define RK_NAME(x) rk_d_base_##x
#include "gemm_kernel_impl.h"

#ifdef RK_X86
#define RK_AVX2 __attribute__((target("avx2,fma")))
#define RK_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))

// AVX2 + FMA: 16 YMM registers -> 6×2 accumulators.
#define RK_T float
#define RK_VL 8
#define RK_MR 6
#define RK_NV 2
#define RK_MC 120
#define RK_KC 256
#define RK_NC 4096
#define RK_ATTR RK_AVX2
#define RK_NAME(x) rk_s_avx2_##x
#include "gemm_kernel_impl.h"

#define RK_T double
#define RK_VL 4
#define RK_MR 6
#define RK_NV 2
#define RK_MC 120
#define RK_KC 256
#define RK_NC 4096
#define RK_ATTR RK_AVX2
#define RK_NAME(x) rk_d_avx2_##x
#include "gemm_kernel_impl.h"

// AVX-512: 32 ZMM registers -> 12×2 accumulators.
#define RK_T float
#define RK_VL 16
#define RK_MR 12
#define RK_NV 2
#define RK_MC 192
#define RK_KC 256
#define RK_NC 4096
#define RK_ATTR RK_AVX512
#define RK_NAME(x) rk_s_avx512_##x
#include "gemm_kernel_impl.h"

#define RK_T double
#define RK_VL 8
#define RK_MR 12
#define RK_NV 2
#define RK_MC 96
#define RK_KC 256
#define RK_NC 4096
#define RK_ATTR RK_AVX512
#define RK_NAME(x) rk_d_avx512_##x
#include "gemm_kernel_impl.h"
#endif  // RK_X86

// ---- Entry points ----

// A product with few rows or few columns as thin loops (gemm_thin.c): op(A)(i, p) = a[i·ai + p·ap],
// op(B)(p, j) = b[p·bp + j·bj]. Few columns: along the rows of A; few rows: along the columns of B,
// with C transposed. Returns -1 where the thin loops do not apply.
#define RK_DEFINE_THIN_DISPATCH(T, P)                                                                  \
    static int P##_thin(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, T alpha, const T *a,      \
                        ptrdiff_t lda, const T *b, ptrdiff_t ldb, T beta, T *c, ptrdiff_t ldc) {         \
        const ptrdiff_t ai = ta ? 1 : lda, ap = ta ? lda : 1, bp = tb ? 1 : ldb, bj = tb ? ldb : 1;      \
        if (n <= RK_THIN && n <= m)                                                                    \
            return P##_thin_gemm(m, n, k, alpha, a, ai, ap, b, bp, bj, beta, c, ldc, 1);               \
        if (m <= RK_THIN)                                                                              \
            return P##_thin_gemm(n, m, k, alpha, b, bj, bp, a, ap, ai, beta, c, 1, ldc);               \
        return -1;                                                                                     \
    }
RK_DEFINE_THIN_DISPATCH(float, rk_s)
RK_DEFINE_THIN_DISPATCH(double, rk_d)

// Shared by both precisions: trivial cases, ISA dispatch, and an unpacked fallback used only if the
// packing buffers cannot be allocated.
#define RK_DEFINE_GEMM(NAME, T, P)                                                                     \
    void NAME(int isa, int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, T alpha, const T *a, ptrdiff_t lda, \
              const T *b, ptrdiff_t ldb, T beta, T *c, ptrdiff_t ldc) {                                \
        if (m <= 0 || n <= 0) return;                                                                  \
        if (k > 0 && alpha != 0) {                                                                     \
            if (P##_thin(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0) return;           \
            if (isa >= 2 && P##_avx512_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0) \
                return;                                                                                \
            if (isa == 1 && P##_avx2_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0)  \
                return;                                                                                \
            if (isa == 0 && P##_base_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0)  \
                return;                                                                                \
        }                                                                                              \
        for (ptrdiff_t i = 0; i < m; i++)                                                              \
            for (ptrdiff_t j = 0; j < n; j++) {                                                        \
                T sum = 0;                                                                             \
                if (alpha != 0)                                                                        \
                    for (ptrdiff_t p = 0; p < k; p++)                                                  \
                        sum += (ta ? a[p * lda + i] : a[i * lda + p]) *                                \
                               (tb ? b[j * ldb + p] : b[p * ldb + j]);                                 \
                T r = alpha * sum;                                                                     \
                c[i * ldc + j] = beta != 0 ? r + beta * c[i * ldc + j] : r;                            \
            }                                                                                          \
    }

// The shared-A batch: the packed kernels when they can allocate, else one product at a time, as
// also for thin products (the single entry point sends those to the thin loops).
#define RK_DEFINE_GEMM_SHARED_A(NAME, SINGLE, T, P)                                                    \
    void NAME(int isa, int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, T alpha, const T *a,      \
              ptrdiff_t lda, const T *b, ptrdiff_t ldb, ptrdiff_t strideB, T beta, T *c, ptrdiff_t ldc,                \
              ptrdiff_t strideC, ptrdiff_t count) {                                                    \
        if (m <= 0 || n <= 0 || count <= 0) return;                                                    \
        if (k > 0 && alpha != 0 && m > RK_THIN && n > RK_THIN) {                                       \
            if (isa >= 2 && P##_avx512_gemm_shared_a(ta, tb, m, n, k, alpha, a, lda, b, ldb, strideB,   \
                                                     beta, c, ldc, strideC, count) == 0)               \
                return;                                                                                \
            if (isa == 1 && P##_avx2_gemm_shared_a(ta, tb, m, n, k, alpha, a, lda, b, ldb, strideB,     \
                                                   beta, c, ldc, strideC, count) == 0)                 \
                return;                                                                                \
            if (isa == 0 && P##_base_gemm_shared_a(ta, tb, m, n, k, alpha, a, lda, b, ldb, strideB,     \
                                                   beta, c, ldc, strideC, count) == 0)                 \
                return;                                                                                \
        }                                                                                              \
        for (ptrdiff_t i = 0; i < count; i++)                                                          \
            SINGLE(isa, ta, tb, m, n, k, alpha, a, lda, b + i * strideB, ldb, beta, c + i * strideC,   \
                   ldc);                                                                               \
    }

#ifndef RK_X86  // only the baseline exists; the other levels are never selected here
#define rk_s_avx512_gemm(...) (-1)
#define rk_s_avx2_gemm(...) (-1)
#define rk_d_avx512_gemm(...) (-1)
#define rk_d_avx2_gemm(...) (-1)
#define rk_s_avx512_gemm_shared_a(...) (-1)
#define rk_s_avx2_gemm_shared_a(...) (-1)
#define rk_d_avx512_gemm_shared_a(...) (-1)
#define rk_d_avx2_gemm_shared_a(...) (-1)
#endif
RK_DEFINE_GEMM(rk_sgemm, float, rk_s)
RK_DEFINE_GEMM(rk_dgemm, double, rk_d)
RK_DEFINE_GEMM_SHARED_A(rk_sgemm_shared_a, rk_sgemm, float, rk_s)
RK_DEFINE_GEMM_SHARED_A(rk_dgemm_shared_a, rk_dgemm, double, rk_d)
