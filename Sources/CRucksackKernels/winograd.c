// Winograd's minimal filtering F(m×m, r×r) for F(2×2, 3×3), F(2×2, 5×5) and F(4×4, 3×3) (Lavin
// and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): an r×r correlation
// of a t×t input tile (t = m + r − 1) gives its m×m output tile from t² products instead of
// m²r². With Bᵀ, G, Aᵀ the transforms of Toom and Cook's algorithm at the points 0, 1, −1 (, 2,
// −2) and ∞, the output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A; summed over channels, the t²
// element-wise products of all tiles become t² matrix products, left to the caller. These loops
// do the transforms. They are written once for all sizes: inlined with a constant tile size and
// constant tables, every loop over a transform's rows unrolls and the zero and ±1 coefficients
// fold away, leaving the adds and subtracts one would write by hand.
#include "CRucksackKernels.h"
#include "lanes.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_WINOGRAD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_WINOGRAD_CLONES
#endif
#define RK_UNROLL _Pragma("clang loop unroll(full)")
// Loops over the tiles of a row or a plane are short for small images (7 for 14×14 outputs):
// vectorised with masked loads and stores, without a scalar remainder.
#define RK_MASKED _Pragma("clang loop vectorize(enable) vectorize_predicate(enable)")

// Bᵀ (t×t), G (t×r) and Aᵀ (m×t), row-major. For F(2×2, 3×3) these are the paper's matrices. The
// six points of F(2×2, 5×5) and F(4×4, 3×3) share Bᵀ, whose rows are scaled to integers (the
// paper's for F(4×4, 3×3), two rows negated) and those of G by the inverse scales.
static const double rk_bt3[16] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const double rk_g3[12] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
static const double rk_at3[8] = {1, 1, 1, 0, 0, 1, -1, -1};
static const double rk_bt5[36] = {4, 0, -5, 0, 1, 0,  0, 4, 4, -1, -1, 0,  0, -4, 4, 1, -1, 0,
                                  0, -2, -1, 2, 1, 0,  0, 2, -1, -2, 1, 0,  0, 4, 0, -5, 0, 1};
static const double rk_g5[30] = {1.0 / 4, 0, 0, 0, 0,
                                 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6,
                                 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6,
                                 1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3,
                                 1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3,
                                 0, 0, 0, 0, 1};
static const double rk_at5[12] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 1};
static const double rk_g43[18] = {1.0 / 4, 0, 0,
                                  1.0 / 6, 1.0 / 6, 1.0 / 6,
                                  1.0 / 6, -1.0 / 6, 1.0 / 6,
                                  1.0 / 24, 1.0 / 12, 1.0 / 6,
                                  1.0 / 24, -1.0 / 12, 1.0 / 6,
                                  0, 0, 1};
static const double rk_at43[24] = {1, 1, 1, 1, 1, 0,  0, 1, -1, 2, -2, 0,  0, 1, 1, 4, 4, 0,  0, 1, -1, 8, -8, 1};

// The input transform goes a row at a time through planes of 32 outputs a row or more (16 tiles
// of 2, 8 of 4), whose rows fill the vectors, and through narrower planes 16 at a time, one a
// vector lane.
static inline int rk_winograd_wide(const rk_winograd_plan *p) { return p->tilesWide * p->tile >= 32; }

// The input transform's buffers are larger than the output transforms' (m² values per tile or
// m per tile column): a row at a time, a padded row split into its m column phases (column
// modulo m) and the column half of the transform for the rows of a plane, kept by row phase;
// 16 planes at a time, the planes element-major, the column half for each padded row, and their
// t² values per tile. A phase of padded rows or columns holds the tiles' count and (t − 1) / m more.
ptrdiff_t rk_winograd_scratch(const rk_winograd_plan *p) {
    const ptrdiff_t m = p->tile, t = m + p->kernelSize - 1, extra = (t - 1) / m, th = p->tilesHigh, tw = p->tilesWide;
    if (rk_winograd_wide(p)) return m * (tw + extra) + m * t * (th + extra) * tw;
    return 16 * (p->height * p->width + (m * th + t - m) * tw * t + t * t * th * tw);
}

#define RK_DEFINE_WINOGRAD(T, PREFIX)                                                                \
    static inline __attribute__((always_inline)) void PREFIX##_winograd_filter_tiles(                \
        const T *restrict w, ptrdiff_t outChannels, ptrdiff_t inChannels, ptrdiff_t first,           \
        ptrdiff_t last, int adjoint, T *restrict u, const int r, const int t, const double *restrict g) { \
        const ptrdiff_t rows = adjoint ? inChannels : outChannels;                                   \
        const ptrdiff_t cols = adjoint ? outChannels : inChannels;                                   \
        /* The inner loop runs along the rows of the t² matrices: over the input channels, or */     \
        /* for the adjoint's transposed matrices the output channels. Its kernels go 16 at a time */ \
        /* into a small buffer, written out a row piece of 16 per matrix: the t² matrices lie a */    \
        /* multiple of 4 KiB apart for many channel counts, and t² streams of single values to */    \
        /* such addresses would share a set of the L1 cache. */                                      \
        const ptrdiff_t outer = adjoint ? inChannels : last - first, inner = adjoint ? last - first : inChannels; \
        T buffer[36][16];                                                                            \
        for (ptrdiff_t x = 0; x < outer; ++x)                                                        \
            for (ptrdiff_t z0 = 0; z0 < inner; z0 += 16) {                                           \
                const int lanes = inner - z0 < 16 ? (int)(inner - z0) : 16;                          \
                for (int lane = 0; lane < lanes; ++lane) {                                           \
                    const ptrdiff_t z = z0 + lane;                                                   \
                    const ptrdiff_t o = first + (adjoint ? z : x), i = adjoint ? x : z;              \
                    const T *restrict kernel = w + (o * inChannels + i) * r * r;                     \
                    T k[25], s[6][5], e;                                                             \
                    /* The adjoint correlates with the kernel turned by 180 degrees. */              \
                    RK_UNROLL for (int q = 0; q < r * r; ++q) k[q] = adjoint ? kernel[r * r - 1 - q] : kernel[q]; \
                    RK_UNROLL for (int a = 0; a < t; ++a) /* G k */                                  \
                        RK_UNROLL for (int c = 0; c < r; ++c) {                                      \
                            e = (T)-0.0;                                                             \
                            RK_UNROLL for (int j = 0; j < r; ++j) if (g[a * r + j] != 0)             \
                                e += (T)g[a * r + j] * k[j * r + c];                                 \
                            s[a][c] = e;                                                             \
                        }                                                                            \
                    RK_UNROLL for (int a = 0; a < t; ++a) /* (G k) Gᵀ */                             \
                        RK_UNROLL for (int b = 0; b < t; ++b) {                                      \
                            e = (T)-0.0;                                                             \
                            RK_UNROLL for (int j = 0; j < r; ++j) if (g[b * r + j] != 0)             \
                                e += s[a][j] * (T)g[b * r + j];                                      \
                            buffer[a * t + b][lane] = e;                                             \
                        }                                                                            \
                }                                                                                    \
                const ptrdiff_t at = adjoint ? x * cols + first + z0 : (first + x) * cols + z0;      \
                for (int ab = 0; ab < t * t; ++ab)                                                   \
                    memcpy(u + ab * rows * cols + at, buffer[ab], (size_t)lanes * sizeof(T));        \
            }                                                                                        \
    }                                                                                                \
    void PREFIX##_winograd_filter(const T *restrict w, ptrdiff_t outChannels, ptrdiff_t inChannels,  \
                                  ptrdiff_t first, ptrdiff_t last, int kernelSize, int tile,         \
                                  int adjoint, T *restrict u) {                                      \
        if (kernelSize == 5)                                                                         \
            PREFIX##_winograd_filter_tiles(w, outChannels, inChannels, first, last, adjoint, u, 5, 6, rk_g5); \
        else if (tile == 4)                                                                          \
            PREFIX##_winograd_filter_tiles(w, outChannels, inChannels, first, last, adjoint, u, 3, 6, rk_g43); \
        else PREFIX##_winograd_filter_tiles(w, outChannels, inChannels, first, last, adjoint, u, 3, 4, rk_g3); \
    }                                                                                                \
    static inline __attribute__((always_inline)) void PREFIX##_winograd_filter_adjoint_tiles(        \
        const T *restrict du, ptrdiff_t outChannels, ptrdiff_t inChannels, T *restrict dw,           \
        const int r, const double *restrict g) {                                                     \
        /* Gᵀ dU G for each kernel: the adjoint of the kernel transform G g Gᵀ. */                   \
        const int t = r + 1;                                                                         \
        const ptrdiff_t pairs = outChannels * inChannels;                                            \
        for (ptrdiff_t at = 0; at < pairs; ++at) {                                                   \
            T s[5][6], e;                                                                            \
            RK_UNROLL for (int j = 0; j < r; ++j) /* Gᵀ dU */                                        \
                RK_UNROLL for (int b = 0; b < t; ++b) {                                              \
                    e = (T)-0.0;                                                                     \
                    RK_UNROLL for (int a = 0; a < t; ++a) if (g[a * r + j] != 0)                     \
                        e += (T)g[a * r + j] * du[(a * t + b) * pairs + at];                         \
                    s[j][b] = e;                                                                     \
                }                                                                                    \
            T *restrict kernel = dw + at * r * r;                                                    \
            RK_UNROLL for (int j = 0; j < r; ++j) /* (Gᵀ dU) G */                                    \
                RK_UNROLL for (int c = 0; c < r; ++c) {                                              \
                    e = (T)-0.0;                                                                     \
                    RK_UNROLL for (int b = 0; b < t; ++b) if (g[b * r + c] != 0)                     \
                        e += s[j][b] * (T)g[b * r + c];                                              \
                    kernel[j * r + c] = e;                                                           \
                }                                                                                    \
        }                                                                                            \
    }                                                                                                \
    void PREFIX##_winograd_filter_adjoint(const T *restrict du, ptrdiff_t outChannels,               \
                                          ptrdiff_t inChannels, int kernelSize, T *restrict dw) {    \
        if (kernelSize == 5) PREFIX##_winograd_filter_adjoint_tiles(du, outChannels, inChannels, dw, 5, rk_g5); \
        else PREFIX##_winograd_filter_adjoint_tiles(du, outChannels, inChannels, dw, 3, rk_g3);      \
    }                                                                                                \
    static inline __attribute__((always_inline)) void PREFIX##_winograd_input_lanes(                 \
        const rk_winograd_plan *p, ptrdiff_t first, ptrdiff_t last, const T *restrict x,             \
        T *restrict v, T *restrict scratch, const int m, const int t, const double *restrict bt) {   \
        /* 16 planes at a time, one a vector lane: images of a few tiles a row then fill whole */    \
        /* vectors, with no masks or remainders. The planes are turned element-major; each */        \
        /* padded row gets the column half of the transform, d B, for all its tiles; the row */      \
        /* half, Bᵀ ·, then gives each tile's t² values; and these are turned back per plane. */     \
        typedef T vector __attribute__((ext_vector_type(16), aligned(sizeof(T))));                   \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide, tiles = th * tw;                       \
        const ptrdiff_t ph = m * th + t - m, h = p->height, wd = p->width;                           \
        T *restrict lanes = scratch, *restrict rows = lanes + 16 * h * wd;                           \
        T *restrict out = rows + 16 * ph * tw * t;                                                   \
        for (ptrdiff_t plane0 = first; plane0 < last; plane0 += 16) {                                \
            const ptrdiff_t count = last - plane0 < 16 ? last - plane0 : 16;                         \
            PREFIX##_to_lanes(x + plane0 * h * wd, h * wd, count, lanes);                            \
            for (ptrdiff_t pr = 0; pr < ph; ++pr) { /* rows[(pr·tw + j)·t + q] = (d B)[q] */         \
                const ptrdiff_t r = pr - p->padTop;                                                  \
                for (ptrdiff_t j = 0; j < tw; ++j) {                                                 \
                    vector d[6];                                                                     \
                    RK_UNROLL for (int b = 0; b < t; ++b) {                                          \
                        const ptrdiff_t col = m * j + b - p->padLeft;                                \
                        d[b] = r >= 0 && r < h && col >= 0 && col < wd                               \
                            ? *(const vector *)(lanes + (r * wd + col) * 16) : (vector)0;            \
                    }                                                                                \
                    RK_UNROLL for (int q = 0; q < t; ++q) {                                          \
                        vector sum = (T)-0.0; /* the neutral start that folds away, as do 0, ±1 */   \
                        RK_UNROLL for (int b = 0; b < t; ++b) if (bt[q * t + b] != 0)                \
                            sum += (T)bt[q * t + b] * d[b];                                          \
                        *(vector *)(rows + ((pr * tw + j) * t + q) * 16) = sum;                      \
                    }                                                                                \
                }                                                                                    \
            }                                                                                        \
            for (ptrdiff_t i = 0; i < th; ++i) /* out[(a·t + q)·tiles + f] = (Bᵀ d B)[a][q] */       \
                for (ptrdiff_t j = 0; j < tw; ++j)                                                   \
                    RK_UNROLL for (int q = 0; q < t; ++q) {                                          \
                        vector e[6];                                                                 \
                        RK_UNROLL for (int b = 0; b < t; ++b)                                        \
                            e[b] = *(const vector *)(rows + (((m * i + b) * tw + j) * t + q) * 16);  \
                        RK_UNROLL for (int a = 0; a < t; ++a) {                                      \
                            vector sum = (T)-0.0;                                                    \
                            RK_UNROLL for (int b = 0; b < t; ++b) if (bt[a * t + b] != 0)            \
                                sum += (T)bt[a * t + b] * e[b];                                      \
                            *(vector *)(out + ((a * t + q) * tiles + i * tw + j) * 16) = sum;        \
                        }                                                                            \
                    }                                                                                \
            T *restrict dst[16];                                                                     \
            for (ptrdiff_t l = 0; l < count; ++l) {                                                  \
                const ptrdiff_t n = (plane0 + l) / p->channels, c = (plane0 + l) % p->channels;      \
                dst[l] = v + c * p->channelStride + n * p->sampleStride;                             \
            }                                                                                        \
            for (int m = 0; m < t * t; ++m) { /* tiles × lanes to each plane's tiles */              \
                const T *restrict src = out + m * tiles * 16;                                        \
                const ptrdiff_t at = m * p->matrixStride;                                            \
                ptrdiff_t f0 = 0;                                                                    \
                for (; f0 + 16 <= tiles; f0 += 16) {                                                 \
                    vector r[16];                                                                    \
                    RK_UNROLL for (int k = 0; k < 16; ++k) r[k] = *(const vector *)(src + (f0 + k) * 16); \
                    RK_TRANSPOSE16(r)                                                                \
                    RK_UNROLL for (int l = 0; l < 16; ++l)                                           \
                        if (l < count) *(vector *)(dst[l] + at + f0) = r[l];                         \
                }                                                                                    \
                for (ptrdiff_t f = f0; f < tiles; ++f)                                               \
                    for (ptrdiff_t l = 0; l < count; ++l) dst[l][at + f] = src[f * 16 + l];          \
            }                                                                                        \
        }                                                                                            \
    }                                                                                                \
    static inline __attribute__((always_inline)) void PREFIX##_winograd_input_rows(                  \
        const rk_winograd_plan *p, ptrdiff_t first, ptrdiff_t last, const T *restrict x,             \
        T *restrict v, T *restrict scratch, const int m, const int t, const double *restrict bt) {   \
        const int extra = (t - 1) / m;                                                               \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide, tiles = th * tw;                       \
        const ptrdiff_t band = (th + extra) * tw, columns = tw + extra;                              \
        const ptrdiff_t ph = m * th + t - m, h = p->height, wd = p->width;                           \
        const ptrdiff_t matrix = p->matrixStride;                                                    \
        /* Each padded row is split into its m column phases (tile j reads columns m·j … */          \
        /* m·j + t − 1: phase b mod m at j + b / m) and gets the column half of the transform, */   \
        /* d B, for all its tiles. Kept apart by row phase, the t rows of tile row i are then */     \
        /* rows i + b / m of phase b mod m, so the row half, Bᵀ ·, is one loop over all tiles of */  \
        /* the plane with contiguous reads and writes, which vectorises even for small images. */    \
        T *restrict halves = scratch + m * columns;                                                  \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t n = plane / p->channels, c = plane % p->channels;                        \
            const T *restrict src = x + plane * h * wd;                                              \
            for (ptrdiff_t pr = 0; pr < ph; ++pr) {                                                  \
                const ptrdiff_t r = pr - p->padTop, pl = p->padLeft;                                 \
                memset(scratch, 0, (size_t)(m * columns) * sizeof(T));                               \
                if (r >= 0 && r < h) {                                                               \
                    /* phase k holds row[m·j + k − pl] inside the row: unconditional strided */      \
                    /* loops, which vectorise without gathers. */                                    \
                    const T *restrict row = src + r * wd - pl;                                       \
                    RK_UNROLL for (int k = 0; k < m; ++k) {                                          \
                        T *restrict phase = scratch + k * columns;                                   \
                        const ptrdiff_t end = (wd + pl - k + m - 1) / m;                             \
                        for (ptrdiff_t j = (pl - k + m - 1) / m; j < (end < columns ? end : columns); ++j) \
                            phase[j] = row[m * j + k];                                               \
                    }                                                                                \
                }                                                                                    \
                T *restrict out = halves + (pr % m) * t * band + (pr / m) * tw;                      \
                RK_UNROLL for (int q = 0; q < t; ++q) {                                              \
                    T *restrict hq = out + q * band;                                                 \
                    RK_MASKED for (ptrdiff_t j = 0; j < tw; ++j) {                                   \
                        T sum = (T)-0.0; /* the neutral start that folds away, as do 0 and ±1 */     \
                        RK_UNROLL for (int b = 0; b < t; ++b) if (bt[q * t + b] != 0)                \
                            sum += (T)bt[q * t + b] * scratch[(b % m) * columns + j + b / m];        \
                        hq[j] = sum;                                                                 \
                    }                                                                                \
                }                                                                                    \
            }                                                                                        \
            T *restrict dst = v + c * p->channelStride + n * p->sampleStride;                        \
            for (int q = 0; q < t; ++q) {                                                            \
                const T *restrict column = halves + q * band;                                        \
                RK_UNROLL for (int a = 0; a < t; ++a) {                                              \
                    T *restrict out = dst + (a * t + q) * matrix;                                    \
                    RK_MASKED for (ptrdiff_t f = 0; f < tiles; ++f) {                                \
                        T sum = (T)-0.0;                                                             \
                        RK_UNROLL for (int b = 0; b < t; ++b) if (bt[a * t + b] != 0)                \
                            sum += (T)bt[a * t + b] * column[(b % m) * t * band + f + (b / m) * tw]; \
                        out[f] = sum;                                                                \
                    }                                                                                \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }                                                                                                \
    RK_WINOGRAD_CLONES void PREFIX##_winograd_input(const rk_winograd_plan *p, ptrdiff_t first,      \
                                                    ptrdiff_t last, const T *restrict x,             \
                                                    T *restrict v, T *restrict scratch) {            \
        const int wide = rk_winograd_wide(p);                                                        \
        if (p->kernelSize == 5) {                                                                    \
            if (wide) PREFIX##_winograd_input_rows(p, first, last, x, v, scratch, 2, 6, rk_bt5);     \
            else PREFIX##_winograd_input_lanes(p, first, last, x, v, scratch, 2, 6, rk_bt5);         \
        } else if (p->tile == 4) {                                                                   \
            if (wide) PREFIX##_winograd_input_rows(p, first, last, x, v, scratch, 4, 6, rk_bt5);     \
            else PREFIX##_winograd_input_lanes(p, first, last, x, v, scratch, 4, 6, rk_bt5);         \
        } else {                                                                                     \
            if (wide) PREFIX##_winograd_input_rows(p, first, last, x, v, scratch, 2, 4, rk_bt3);     \
            else PREFIX##_winograd_input_lanes(p, first, last, x, v, scratch, 2, 4, rk_bt3);         \
        }                                                                                            \
    }                                                                                                \
    static inline __attribute__((always_inline)) void PREFIX##_winograd_output_tiles(                \
        const rk_winograd_plan *p, ptrdiff_t first, ptrdiff_t last, const T *restrict m,             \
        T *restrict y, T *restrict scratch, const int o, const int t, const double *restrict at) {   \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide, tiles = th * tw;                       \
        const ptrdiff_t h = p->height, wd = p->width;                                                \
        const ptrdiff_t matrix = p->matrixStride;                                                    \
        /* One loop over all tiles of a plane gives each tile's o×o outputs, (Aᵀ M) A, into o² */    \
        /* arrays (by row and column within the tile); copying them out interleaves the columns */   \
        /* and drops the rows and columns past the output size. */                                   \
        T *restrict out = scratch;                                                                   \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t n = plane / p->channels, k = plane % p->channels;                        \
            const T *restrict e = m + k * p->channelStride + n * p->sampleStride;                    \
            RK_MASKED for (ptrdiff_t f = 0; f < tiles; ++f) {                                        \
                T s[4][6], sum; /* Aᵀ M, then (Aᵀ M) A */                                            \
                RK_UNROLL for (int r = 0; r < o; ++r)                                                \
                    RK_UNROLL for (int q = 0; q < t; ++q) {                                          \
                        s[r][q] = (T)-0.0;                                                           \
                        RK_UNROLL for (int a = 0; a < t; ++a) if (at[r * t + a] != 0)                \
                            s[r][q] += (T)at[r * t + a] * e[(a * t + q) * matrix + f];               \
                    }                                                                                \
                RK_UNROLL for (int r = 0; r < o; ++r)                                                \
                    RK_UNROLL for (int c = 0; c < o; ++c) {                                          \
                        sum = (T)-0.0;                                                               \
                        RK_UNROLL for (int q = 0; q < t; ++q) if (at[c * t + q] != 0)                \
                            sum += (T)at[c * t + q] * s[r][q];                                       \
                        out[(o * r + c) * tiles + f] = sum;                                          \
                    }                                                                                \
            }                                                                                        \
            T *restrict dst = y + plane * h * wd;                                                    \
            for (ptrdiff_t yr = 0; yr < h; ++yr) {                                                   \
                const ptrdiff_t i = yr / o, r = yr % o;                                              \
                T *restrict row = dst + yr * wd;                                                     \
                const T *restrict cols = out + (o * r) * tiles + i * tw;                             \
                ptrdiff_t j = 0;                                                                     \
                for (; o * j + o <= wd; ++j)                                                         \
                    RK_UNROLL for (int c = 0; c < o; ++c) row[o * j + c] = cols[c * tiles + j];      \
                for (int c = 0; o * j + c < wd; ++c) row[o * j + c] = cols[c * tiles + j];           \
            }                                                                                        \
        }                                                                                            \
    }                                                                                                \
    RK_WINOGRAD_CLONES void PREFIX##_winograd_output(const rk_winograd_plan *p, ptrdiff_t first,     \
                                                     ptrdiff_t last, const T *restrict m,            \
                                                     T *restrict y, T *restrict scratch) {           \
        if (p->kernelSize == 5) PREFIX##_winograd_output_tiles(p, first, last, m, y, scratch, 2, 6, rk_at5); \
        else if (p->tile == 4) PREFIX##_winograd_output_tiles(p, first, last, m, y, scratch, 4, 6, rk_at43); \
        else PREFIX##_winograd_output_tiles(p, first, last, m, y, scratch, 2, 4, rk_at3);            \
    }                                                                                                \
    static inline __attribute__((always_inline)) void PREFIX##_winograd_output_adjoint_tiles(        \
        const rk_winograd_plan *p, ptrdiff_t first, ptrdiff_t last, const T *restrict dy,            \
        T *restrict d, T *restrict scratch, const int t, const double *restrict at) {                \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide;                                        \
        const ptrdiff_t h = p->height, wd = p->width;                                                \
        const ptrdiff_t matrix = p->matrixStride;                                                    \
        /* A dY Aᵀ of each 2×2 tile of the output gradient (zero past an odd output size): */        \
        /* the two rows of a tile row are split into even and odd columns first, so the loop */      \
        /* over the tiles reads and writes contiguously. */                                          \
        T *restrict split = scratch;                                                                 \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t n = plane / p->channels, k = plane % p->channels;                        \
            const T *restrict src = dy + plane * h * wd;                                             \
            T *restrict dst = d + k * p->channelStride + n * p->sampleStride;                        \
            for (ptrdiff_t i = 0; i < th; ++i) {                                                     \
                for (ptrdiff_t r = 0; r < 2; ++r) {                                                  \
                    T *restrict evenCols = split + 2 * r * tw, *restrict oddCols = evenCols + tw;    \
                    memset(evenCols, 0, (size_t)(2 * tw) * sizeof(T));                               \
                    if (2 * i + r >= h) continue;                                                    \
                    const T *restrict row = src + (2 * i + r) * wd;                                  \
                    for (ptrdiff_t j = 0; j < (wd + 1) / 2; ++j) evenCols[j] = row[2 * j];           \
                    for (ptrdiff_t j = 0; j < wd / 2; ++j) oddCols[j] = row[2 * j + 1];              \
                }                                                                                    \
                T *restrict out = dst + i * tw;                                                      \
                RK_MASKED for (ptrdiff_t j = 0; j < tw; ++j) {                                       \
                    /* The tile dY[r][c] is split[(2r + c) · tw + j]; row a of A dY is */            \
                    /* Σ_r Aᵀ[r][a] dY[r][·], then each row times Aᵀ. */                             \
                    T rows[6][2], sum;                                                               \
                    RK_UNROLL for (int a = 0; a < t; ++a)                                            \
                        RK_UNROLL for (int c = 0; c < 2; ++c) {                                      \
                            sum = (T)-0.0;                                                           \
                            RK_UNROLL for (int r = 0; r < 2; ++r) if (at[r * t + a] != 0)            \
                                sum += (T)at[r * t + a] * split[(2 * r + c) * tw + j];               \
                            rows[a][c] = sum;                                                        \
                        }                                                                            \
                    RK_UNROLL for (int a = 0; a < t; ++a)                                            \
                        RK_UNROLL for (int b = 0; b < t; ++b) {                                      \
                            sum = (T)-0.0;                                                           \
                            RK_UNROLL for (int c = 0; c < 2; ++c) if (at[c * t + b] != 0)            \
                                sum += (T)at[c * t + b] * rows[a][c];                                \
                            out[(a * t + b) * matrix + j] = sum;                                     \
                        }                                                                            \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }                                                                                                \
    RK_WINOGRAD_CLONES void PREFIX##_winograd_output_adjoint(const rk_winograd_plan *p, ptrdiff_t first, \
                                                             ptrdiff_t last, const T *restrict dy,   \
                                                             T *restrict d, T *restrict scratch) {   \
        if (p->kernelSize == 5) PREFIX##_winograd_output_adjoint_tiles(p, first, last, dy, d, scratch, 6, rk_at5); \
        else PREFIX##_winograd_output_adjoint_tiles(p, first, last, dy, d, scratch, 4, rk_at3);      \
    }

RK_DEFINE_TO_LANES(float, rk_s)
RK_DEFINE_TO_LANES(double, rk_d)
RK_DEFINE_WINOGRAD(float, rk_s)
RK_DEFINE_WINOGRAD(double, rk_d)
