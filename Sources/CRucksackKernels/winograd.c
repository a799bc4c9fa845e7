// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", CVPR 2016): a 3×3 correlation of a 4×4 input tile gives its 2×2 output tile
// from 16 products instead of 36. With B, G, A the transforms of the paper, the output tile is
// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A; summed over channels, the 16 element-wise products of all tiles
// become 16 matrix products, left to the caller. These loops do the three transforms.
#include "CRucksackKernels.h"

#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_WINOGRAD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_WINOGRAD_CLONES
#endif

#define RK_DEFINE_WINOGRAD(T, PREFIX)                                                                \
    void PREFIX##_winograd_filter(const T *restrict w, ptrdiff_t outChannels, ptrdiff_t inChannels,  \
                                  int adjoint, T *restrict u) {                                      \
        const ptrdiff_t rows = adjoint ? inChannels : outChannels;                                   \
        const ptrdiff_t cols = adjoint ? outChannels : inChannels;                                   \
        for (ptrdiff_t o = 0; o < outChannels; ++o)                                                  \
            for (ptrdiff_t i = 0; i < inChannels; ++i) {                                             \
                const T *restrict g = w + (o * inChannels + i) * 9;                                  \
                T k[9], s[4][3];                                                                     \
                /* The adjoint correlates with the kernel turned by 180 degrees. */                  \
                for (int t = 0; t < 9; ++t) k[t] = adjoint ? g[8 - t] : g[t];                        \
                for (int c = 0; c < 3; ++c) { /* G k */                                              \
                    s[0][c] = k[c];                                                                  \
                    s[1][c] = (k[c] + k[3 + c] + k[6 + c]) / 2;                                      \
                    s[2][c] = (k[c] - k[3 + c] + k[6 + c]) / 2;                                      \
                    s[3][c] = k[6 + c];                                                              \
                }                                                                                    \
                const ptrdiff_t at = adjoint ? i * cols + o : o * cols + i;                          \
                for (int r = 0; r < 4; ++r) { /* (G k) Gᵀ */                                         \
                    const T e[4] = {s[r][0], (s[r][0] + s[r][1] + s[r][2]) / 2,                      \
                                    (s[r][0] - s[r][1] + s[r][2]) / 2, s[r][2]};                     \
                    for (int c = 0; c < 4; ++c) u[(r * 4 + c) * rows * cols + at] = e[c];            \
                }                                                                                    \
            }                                                                                        \
    }                                                                                                \
    RK_WINOGRAD_CLONES void PREFIX##_winograd_input(const rk_winograd_plan *p, ptrdiff_t first,      \
                                                    ptrdiff_t last, const T *restrict x,             \
                                                    T *restrict v) {                                 \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide, tiles = th * tw, band = (th + 1) * tw; \
        const ptrdiff_t ph = 2 * th + 2, h = p->height, wd = p->width;                               \
        const ptrdiff_t matrix = p->matrixStride;                                                    \
        /* Each padded row is split into its even and odd columns (tile j reads even j, j + 1 */    \
        /* and odd j, j + 1) and gets the column half of the transform, d B, for all its tiles. */  \
        /* Kept apart for even and odd rows, the four rows of tile row i are then rows i and */     \
        /* i + 1 of each, so the row half, Bᵀ ·, is one loop over all tiles of the plane with */    \
        /* contiguous reads and writes, which vectorises even for small images. */                 \
        T *restrict even = malloc((size_t)(2 * (tw + 1) + 8 * band) * sizeof(T));                  \
        if (!even) abort();                                                                          \
        T *restrict odd = even + (tw + 1), *restrict half = odd + (tw + 1);                          \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t n = plane / p->channels, c = plane % p->channels;                        \
            const T *restrict src = x + plane * h * wd;                                              \
            for (ptrdiff_t pr = 0; pr < ph; ++pr) {                                                  \
                const ptrdiff_t r = pr - p->padTop;                                                  \
                const T *restrict row = r >= 0 && r < h ? src + r * wd : NULL;                       \
                for (ptrdiff_t j = 0; j <= tw; ++j) {                                                \
                    const ptrdiff_t e = 2 * j - p->padLeft, o = e + 1;                               \
                    even[j] = row && e >= 0 && e < wd ? row[e] : 0;                                  \
                    odd[j] = row && o >= 0 && o < wd ? row[o] : 0;                                   \
                }                                                                                    \
                T *restrict h0 = half + (pr % 2) * 4 * band + (pr / 2) * tw, *restrict h1 = h0 + band; \
                T *restrict h2 = h1 + band, *restrict h3 = h2 + band;                                \
                for (ptrdiff_t j = 0; j < tw; ++j) {                                                 \
                    h0[j] = even[j] - even[j + 1];                                                   \
                    h1[j] = odd[j] + even[j + 1];                                                    \
                    h2[j] = even[j + 1] - odd[j];                                                    \
                    h3[j] = odd[j] - odd[j + 1];                                                     \
                }                                                                                    \
            }                                                                                        \
            T *restrict dst = v + c * p->channelStride + n * p->sampleStride;                                        \
            for (int q = 0; q < 4; ++q) {                                                            \
                const T *restrict e = half + q * band, *restrict o = half + (4 + q) * band;          \
                T *restrict o0 = dst + q * matrix, *restrict o1 = o0 + 4 * matrix;                   \
                T *restrict o2 = o1 + 4 * matrix, *restrict o3 = o2 + 4 * matrix;                    \
                for (ptrdiff_t f = 0; f < tiles; ++f) {                                              \
                    o0[f] = e[f] - e[f + tw];                                                        \
                    o1[f] = o[f] + e[f + tw];                                                        \
                    o2[f] = e[f + tw] - o[f];                                                        \
                    o3[f] = o[f] - o[f + tw];                                                        \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
        free(even);                                                                                  \
    }                                                                                                \
    RK_WINOGRAD_CLONES void PREFIX##_winograd_output(const rk_winograd_plan *p, ptrdiff_t first,     \
                                                     ptrdiff_t last, const T *restrict m,            \
                                                     T *restrict y) {                                \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide, tiles = th * tw;                       \
        const ptrdiff_t h = p->height, wd = p->width;                                                \
        const ptrdiff_t matrix = p->matrixStride;                                                    \
        /* One loop over all tiles of a plane gives each tile's four outputs, (Aᵀ e) A, into */     \
        /* four arrays (top and bottom row, even and odd column); copying them out interleaves */   \
        /* the columns and drops the row and column past an odd output size. */                     \
        T *restrict out = malloc((size_t)(4 * tiles) * sizeof(T));                                   \
        if (!out) abort();                                                                           \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t n = plane / p->channels, k = plane % p->channels;                        \
            const T *restrict e = m + k * p->channelStride + n * p->sampleStride;                                    \
            for (ptrdiff_t f = 0; f < tiles; ++f) {                                                  \
                T s[2][4];                                                                           \
                for (int q = 0; q < 4; ++q) {                                                        \
                    const T e0 = e[q * matrix + f], e1 = e[(4 + q) * matrix + f];                    \
                    const T e2 = e[(8 + q) * matrix + f], e3 = e[(12 + q) * matrix + f];             \
                    s[0][q] = e0 + e1 + e2;                                                          \
                    s[1][q] = e1 - e2 - e3;                                                          \
                }                                                                                    \
                for (int r = 0; r < 2; ++r) {                                                        \
                    out[(2 * r) * tiles + f] = s[r][0] + s[r][1] + s[r][2];                          \
                    out[(2 * r + 1) * tiles + f] = s[r][1] - s[r][2] - s[r][3];                      \
                }                                                                                    \
            }                                                                                        \
            T *restrict dst = y + plane * h * wd;                                                    \
            for (ptrdiff_t yr = 0; yr < h; ++yr) {                                                   \
                const ptrdiff_t i = yr / 2, r = yr % 2;                                              \
                const T *restrict evenCols = out + (2 * r) * tiles + i * tw;                         \
                const T *restrict oddCols = evenCols + tiles;                                        \
                T *restrict row = dst + yr * wd;                                                     \
                for (ptrdiff_t j = 0; j < wd / 2; ++j) {                                             \
                    row[2 * j] = evenCols[j];                                                        \
                    row[2 * j + 1] = oddCols[j];                                                     \
                }                                                                                    \
                if (wd % 2) row[wd - 1] = evenCols[wd / 2];                                          \
            }                                                                                        \
        }                                                                                            \
        free(out);                                                                                   \
    }                                                                                                \
    RK_WINOGRAD_CLONES void PREFIX##_winograd_output_adjoint(const rk_winograd_plan *p, ptrdiff_t first, \
                                                             ptrdiff_t last, const T *restrict dy,   \
                                                             T *restrict d) {                        \
        const ptrdiff_t th = p->tilesHigh, tw = p->tilesWide, tiles = th * tw;                       \
        const ptrdiff_t h = p->height, wd = p->width;                                                \
        const ptrdiff_t matrix = p->matrixStride;                                                    \
        /* A dY Aᵀ of each 2×2 tile of the output gradient (zero past an odd output size): */       \
        /* the two rows of a tile row are split into even and odd columns first, so the loop */     \
        /* over the tiles reads and writes contiguously. */                                         \
        T *restrict split = malloc((size_t)(4 * tw) * sizeof(T));                                    \
        if (!split) abort();                                                                         \
        T *restrict a = split, *restrict b = a + tw, *restrict c = b + tw, *restrict e = c + tw;     \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t n = plane / p->channels, k = plane % p->channels;                        \
            const T *restrict src = dy + plane * h * wd;                                             \
            T *restrict dst = d + k * p->channelStride + n * p->sampleStride;                                        \
            for (ptrdiff_t i = 0; i < th; ++i) {                                                     \
                for (ptrdiff_t r = 0; r < 2; ++r) {                                                  \
                    T *restrict evenCols = r ? c : a, *restrict oddCols = r ? e : b;                 \
                    const T *restrict row = 2 * i + r < h ? src + (2 * i + r) * wd : NULL;           \
                    for (ptrdiff_t j = 0; j < tw; ++j) {                                             \
                        evenCols[j] = row ? row[2 * j] : 0;                                          \
                        oddCols[j] = row && 2 * j + 1 < wd ? row[2 * j + 1] : 0;                     \
                    }                                                                                \
                }                                                                                    \
                T *restrict out = dst + i * tw;                                                      \
                for (ptrdiff_t j = 0; j < tw; ++j) {                                                 \
                    /* Rows of A dY: (a, b), (a + c, b + e), (a − c, b − e), (−c, −e); then each */ \
                    /* row (u, v) times Aᵀ: (u, u + v, u − v, −v). */                                \
                    const T rows[4][2] = {{a[j], b[j]}, {a[j] + c[j], b[j] + e[j]},                  \
                                          {a[j] - c[j], b[j] - e[j]}, {-c[j], -e[j]}};               \
                    for (int q = 0; q < 4; ++q) {                                                    \
                        const T u = rows[q][0], v = rows[q][1];                                      \
                        out[(4 * q + 0) * matrix + j] = u;                                           \
                        out[(4 * q + 1) * matrix + j] = u + v;                                       \
                        out[(4 * q + 2) * matrix + j] = u - v;                                       \
                        out[(4 * q + 3) * matrix + j] = -v;                                          \
                    }                                                                                \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
        free(split);                                                                                 \
    }                                                                                                \
    void PREFIX##_winograd_filter_adjoint(const T *restrict du, ptrdiff_t outChannels,               \
                                          ptrdiff_t inChannels, T *restrict dw) {                    \
        /* Gᵀ dU G for each kernel: the adjoint of the kernel transform G g Gᵀ. */                  \
        const ptrdiff_t pairs = outChannels * inChannels;                                            \
        for (ptrdiff_t at = 0; at < pairs; ++at) {                                                   \
            T u[4][4], t[3][4];                                                                      \
            for (int q = 0; q < 16; ++q) u[q / 4][q % 4] = du[q * pairs + at];                       \
            for (int c = 0; c < 4; ++c) {                                                            \
                t[0][c] = u[0][c] + (u[1][c] + u[2][c]) / 2;                                         \
                t[1][c] = (u[1][c] - u[2][c]) / 2;                                                   \
                t[2][c] = (u[1][c] + u[2][c]) / 2 + u[3][c];                                         \
            }                                                                                        \
            T *restrict g = dw + at * 9;                                                             \
            for (int r = 0; r < 3; ++r) {                                                            \
                g[3 * r + 0] = t[r][0] + (t[r][1] + t[r][2]) / 2;                                    \
                g[3 * r + 1] = (t[r][1] - t[r][2]) / 2;                                              \
                g[3 * r + 2] = (t[r][1] + t[r][2]) / 2 + t[r][3];                                    \
            }                                                                                        \
        }                                                                                            \
    }

RK_DEFINE_WINOGRAD(float, rk_s)
RK_DEFINE_WINOGRAD(double, rk_d)
