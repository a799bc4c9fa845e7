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
/// `isa` picks the packed kernels (a level of rk_gemm_max_isa() or below): 0 = baseline (SSE2 on
/// x86-64), 1 = AVX2+FMA, 2 = AVX-512F; thin products (at most 8 rows or columns of C) run loops
/// whose vector width the loader picks. Passed per call, so that a test or benchmark choosing a
/// level changes no other product running meanwhile.
/// Single-threaded and thread-safe: concurrent calls on disjoint C blocks are fine.
void rk_sgemm(int isa, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
              float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
              float beta, float *c, ptrdiff_t ldc);

/// Double-precision version of rk_sgemm.
void rk_dgemm(int isa, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
              double alpha, const double *a, ptrdiff_t lda, const double *b, ptrdiff_t ldb,
              double beta, double *c, ptrdiff_t ldc);

/// `count` products `C_i = alpha·op(A)·op(B_i) + beta·C_i` sharing one A, with `B_i = b + i·strideB`
/// and `C_i = c + i·strideC`; the same contract as rk_sgemm otherwise. A is packed once for all.
void rk_sgemm_shared_a(int isa, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                       const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, ptrdiff_t strideB,
                       float beta, float *c, ptrdiff_t ldc, ptrdiff_t strideC, ptrdiff_t count);
/// Double-precision version of rk_sgemm_shared_a.
void rk_dgemm_shared_a(int isa, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, double alpha,
                       const double *a, ptrdiff_t lda, const double *b, ptrdiff_t ldb, ptrdiff_t strideB,
                       double beta, double *c, ptrdiff_t ldc, ptrdiff_t strideC, ptrdiff_t count);

/// The best instruction-set level (see rk_sgemm) this CPU and OS support.
int rk_gemm_max_isa(void);

/// The walk of unfold, fold and the max-pool window search: `planes` planes (N·C) of an input
/// `[i0, i1, i2]` (spatial axes, padded in front with extent 1), a kernel `[k0, k1, k2]` and an
/// output `[o0, o1, o2]`. `table0` (k0·o0) and `table1` (k1·o1) give the input index each tap
/// meets at each output index, or -1 on padding; `runs` has five numbers per innermost tap
/// (first output, output step, first input, input step, count) describing its valid pairs.
typedef struct {
    ptrdiff_t planes;
    ptrdiff_t kernel[3], input[3], output[3];
    /// Per axis, `table[k·output + o]`: the input index that tap `k` reads at output `o`, or -1 on padding.
    const ptrdiff_t *table0, *table1, *table2, *runs;
} rk_unfold_plan;

/// im2col of planes [first, last): writes every entry of their rows of `columns`
/// `[planes·∏k, ∏o]`, `fill` on padding, so the buffer needs no initialising.
void rk_s_unfold(const rk_unfold_plan *plan, ptrdiff_t first, ptrdiff_t last, const float *input, float *columns, float fill);
void rk_d_unfold(const rk_unfold_plan *plan, ptrdiff_t first, ptrdiff_t last, const double *input, double *columns, double fill);
/// col2im of planes [first, last): sets their part of `input` to the sum of the entries of
/// `columns` read from each element (zero where none), so the buffer needs no initialising.
void rk_s_fold(const rk_unfold_plan *plan, ptrdiff_t first, ptrdiff_t last, const float *columns, float *input);
void rk_d_fold(const rk_unfold_plan *plan, ptrdiff_t first, ptrdiff_t last, const double *columns, double *input);
/// Max-pool window search of planes [first, last): sets their part of `best` and `value`
/// `[planes·∏o]` to the index and value of each window's first maximum in tap order, NaN counting
/// as the maximum (-1 and 0 for a window that covers only padding). `scratch` holds
/// 16·(∏i + 2·∏o) elements; a plane's ∏i must be below 2³¹ for float.
void rk_s_window_max(const rk_unfold_plan *plan, ptrdiff_t first, ptrdiff_t last, const float *x, float *value, ptrdiff_t *best, float *scratch);
void rk_d_window_max(const rk_unfold_plan *plan, ptrdiff_t first, ptrdiff_t last, const double *x, double *value, ptrdiff_t *best, double *scratch);

/// Winograd F(m×m, r×r), r = `kernelSize` = 3 or 5 and m = `tile` = 2 (both) or 4 (r = 3 only),
/// for a 2-D correlation with an r×r kernel and stride 1 (winograd.c); t = m + r − 1. The tensor
/// transformed has `channels` planes of `height × width` per sample; its tiles are t×t windows m
/// apart, starting `padTop`/`padLeft`
/// before the first element (zero outside), `tilesHigh × tilesWide` a sample. A transformed stack
/// holds t² values for each tile of each channel of each sample: the tiles of one channel of one
/// sample contiguous, the channels `channelStride` apart, the samples `sampleStride` and the t²
/// `matrixStride`. As t² matrices `[channels, samples · tiles]`: strides `tiles`,
/// `samples · tiles`, `channels · samples · tiles`; as t² matrices per sample: `t² · channels ·
/// tiles`, `tiles`, `channels · tiles`.
typedef struct {
    ptrdiff_t kernelSize, tile, channels, height, width, padTop, padLeft, tilesHigh, tilesWide;
    ptrdiff_t sampleStride, channelStride, matrixStride;
} rk_winograd_plan;
/// The elements of the scratch buffer that each call of a transform below needs for `plan`
/// (one buffer per thread; nothing in it needs initialising).
ptrdiff_t rk_winograd_scratch(const rk_winograd_plan *plan);
/// Kernels `w` `[outChannels, inChannels, r, r]` as t² matrices `u`: `[outChannels, inChannels]`
/// each, or with `adjoint` `[inChannels, outChannels]` of the kernels turned by 180 degrees (the
/// correlation whose result is the transposed product), for output tiles of `tile` (2 or 4)
/// values a side. Writes the entries of output channels [first, last), so that threads can
/// share the channels.
void rk_s_winograd_filter(const float *w, ptrdiff_t outChannels, ptrdiff_t inChannels, ptrdiff_t first, ptrdiff_t last, int kernelSize, int tile, int adjoint, float *u);
void rk_d_winograd_filter(const double *w, ptrdiff_t outChannels, ptrdiff_t inChannels, ptrdiff_t first, ptrdiff_t last, int kernelSize, int tile, int adjoint, double *u);
/// The input transform of planes [first, last) (plane = sample · channels + channel) of `x` into `v`.
void rk_s_winograd_input(const rk_winograd_plan *plan, ptrdiff_t first, ptrdiff_t last, const float *x, float *v, float *scratch);
void rk_d_winograd_input(const rk_winograd_plan *plan, ptrdiff_t first, ptrdiff_t last, const double *x, double *v, double *scratch);
/// The output transform of planes [first, last) of the products `m` into `y`; here `channels`,
/// `height` and `width` are the output's (padding is not read).
void rk_s_winograd_output(const rk_winograd_plan *plan, ptrdiff_t first, ptrdiff_t last, const float *m, float *y, float *scratch);
void rk_d_winograd_output(const rk_winograd_plan *plan, ptrdiff_t first, ptrdiff_t last, const double *m, double *y, double *scratch);

/// The adjoint of the output transform, for the kernel gradient: the output gradient `dy` (the
/// plan's `channels`, `height`, `width` are the output's) of planes [first, last) into t²
/// matrices `d` laid out as the products were. Output tiles of 2 only.
void rk_s_winograd_output_adjoint(const rk_winograd_plan *plan, ptrdiff_t first, ptrdiff_t last, const float *dy, float *d, float *scratch);
void rk_d_winograd_output_adjoint(const rk_winograd_plan *plan, ptrdiff_t first, ptrdiff_t last, const double *dy, double *d, double *scratch);
/// The adjoint of rk_s_winograd_filter (not `adjoint`, tiles of 2): gradients `du` of the t² kernel matrices
/// `[outChannels, inChannels]` into the kernels' gradient `dw` `[outChannels, inChannels, r, r]`.
void rk_s_winograd_filter_adjoint(const float *du, ptrdiff_t outChannels, ptrdiff_t inChannels, int kernelSize, float *dw);
void rk_d_winograd_filter_adjoint(const double *du, ptrdiff_t outChannels, ptrdiff_t inChannels, int kernelSize, double *dw);

/// Copies the upper triangle of the row-major `n × n` matrix `c` onto its lower triangle, rows
/// [first, last) of the lower triangle (`first` a multiple of 16): a symmetric matrix of which
/// only the upper triangle was computed.
void rk_s_mirror_upper(float *c, ptrdiff_t n, ptrdiff_t first, ptrdiff_t last);
void rk_d_mirror_upper(double *c, ptrdiff_t n, ptrdiff_t first, ptrdiff_t last);
/// Transposes matrices `x` `[B][rows][columns]` into `y` `[B][columns][rows]`, for the bands of
/// 16 rows [first, last) counted over all matrices (⌈rows / 16⌉ a matrix), so that threads can
/// share them.
void rk_s_transpose_batches(const float *x, float *y, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t first, ptrdiff_t last);
void rk_d_transpose_batches(const double *x, double *y, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t first, ptrdiff_t last);

/// One iteration of rk_parallel_for.
typedef void (*rk_parallel_body)(void *context, ptrdiff_t index);
/// Runs `body(context, i)` for every i in [0, count), on the calling thread and up to
/// `threads - 1` helper threads of a pool that spin briefly between jobs before they sleep;
/// returns when all are done. Runs on the calling thread alone while another call is in progress
/// (concurrent or nested), so bodies may call it again.
void rk_parallel_for(ptrdiff_t count, int threads, rk_parallel_body body, void *context);

/// Makes the C allocator keep freed memory for reuse instead of returning it to the system
/// (glibc: no mmap for large blocks, no trimming). Returns 0 on success, -1 where unsupported.
int rk_keep_freed_memory(void);

#ifdef __cplusplus
}
#endif

#endif
