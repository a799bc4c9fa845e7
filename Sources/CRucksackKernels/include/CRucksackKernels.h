#ifndef CRUCKSACK_KERNELS_H
#define CRUCKSACK_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Row-major GEMM: C[m×n] = alpha * op(A) * op(B) + beta * C, where op(X) = X, or Xᵀ when trans != 0.
/// A is m×k (k×m if transA) with leading dimension lda; B is k×n (n×k if transB) with ldb; C has ldc.
/// beta == 0 overwrites C without reading it (NaN garbage in C does not propagate).
/// k == 0 or alpha == 0 only scales C by beta (A and B are not read).
/// Single-threaded and thread-safe: concurrent calls on disjoint C blocks are fine.
void rk_sgemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
              float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
              float beta, float *c, ptrdiff_t ldc);

/// Double-precision version of rk_sgemm.
void rk_dgemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
              double alpha, const double *a, ptrdiff_t lda, const double *b, ptrdiff_t ldb,
              double beta, double *c, ptrdiff_t ldc);

/// Instruction-set level used by the GEMM kernels: 0 = baseline (SSE2 on x86-64), 1 = AVX2+FMA, 2 = AVX-512F.
/// Currently selected level (auto-detected on first use).
int rk_gemm_isa(void);
/// Best level this CPU and OS support.
int rk_gemm_max_isa(void);
/// Forces a level (for tests and benchmarks). Returns 0 on success, -1 if the level is unsupported.
int rk_gemm_set_isa(int level);

/// Makes the C allocator keep freed memory for reuse instead of returning it to the system
/// (glibc: no mmap for large blocks, no trimming). Returns 0 on success, -1 where unsupported.
int rk_keep_freed_memory(void);

#ifdef __cplusplus
}
#endif

#endif
