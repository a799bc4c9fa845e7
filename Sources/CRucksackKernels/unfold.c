// The loops behind unfold (im2col), fold (col2im) and the max-pool window search. Unfold and fold
// walk the (column entry, input element) pairs that are not padding; each innermost tap is one
// arithmetic run, so the work is in short strided loops without calls or bounds checks. The
// window search goes window by window through the per-axis index tables.
#include "CRucksackKernels.h"

#include <string.h>

// The window search vectorises with gathers where the CPU has them; the loader picks the clone.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_WINDOW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_WINDOW_CLONES
#endif
// Windows along the innermost axis searched together (their maxima stay in L1).
#define RK_WINDOW_ROW 256

// Walks planes [first, last) of `p`; BODY sees `plane`, `row` (the start of the tap's column row),
// `position`, `source`, the run's steps `ostep`, `istep` and its length `n`.
#define RK_UNFOLD_WALK(p, first, last, ...)                                                         \
    do {                                                                                             \
        const ptrdiff_t k0 = (p)->kernel[0], k1 = (p)->kernel[1], k2 = (p)->kernel[2];               \
        const ptrdiff_t i0 = (p)->input[0], i1 = (p)->input[1], i2 = (p)->input[2];                  \
        const ptrdiff_t o0 = (p)->output[0], o1 = (p)->output[1], o2 = (p)->output[2];               \
        const ptrdiff_t positions = o0 * o1 * o2, taps = k0 * k1 * k2;                               \
        for (ptrdiff_t plane = (first); plane < (last); ++plane) {                                   \
            const ptrdiff_t inputBase = plane * i0 * i1 * i2;                                        \
            for (ptrdiff_t a = 0; a < k0; ++a)                                                       \
                for (ptrdiff_t b = 0; b < k1; ++b)                                                   \
                    for (ptrdiff_t c = 0; c < k2; ++c) {                                             \
                        const ptrdiff_t row = (plane * taps + (a * k1 + b) * k2 + c) * positions;    \
                        const ptrdiff_t *run = (p)->runs + 5 * c;                                    \
                        const ptrdiff_t ostep = run[1], istep = run[3], n = run[4];                  \
                        for (ptrdiff_t ox = 0; ox < o0; ++ox) {                                       \
                            const ptrdiff_t u = (p)->table0[a * o0 + ox];                             \
                            if (u < 0) continue;                                                     \
                            for (ptrdiff_t oy = 0; oy < o1; ++oy) {                                   \
                                const ptrdiff_t v = (p)->table1[b * o1 + oy];                         \
                                if (v < 0) continue;                                                 \
                                const ptrdiff_t source = inputBase + (u * i1 + v) * i2 + run[2];     \
                                const ptrdiff_t position = (ox * o1 + oy) * o2 + run[0];               \
                                (void)row;                                                           \
                                __VA_ARGS__                                                          \
                            }                                                                        \
                        }                                                                            \
                    }                                                                                \
        }                                                                                            \
    } while (0)

#define RK_DEFINE_UNFOLD(T, PREFIX)                                                                  \
    /* A plane's rows are filled just before the walk writes them, while they are in cache: */      \
    /* one pass over the columns instead of a fill of the whole buffer first. */                     \
    void PREFIX##_unfold(const rk_unfold_plan *p, ptrdiff_t first, ptrdiff_t last,                   \
                         const T *restrict input, T *restrict columns, T fill) {                     \
        const ptrdiff_t planeSize = p->kernel[0] * p->kernel[1] * p->kernel[2] *                     \
                                    p->output[0] * p->output[1] * p->output[2];                      \
        for (ptrdiff_t one = first; one < last; ++one) {                                             \
            T *restrict rows = columns + one * planeSize;                                            \
            for (ptrdiff_t k = 0; k < planeSize; ++k) rows[k] = fill;                                \
            RK_UNFOLD_WALK(p, one, one + 1, {                                                        \
                T *restrict dst = columns + row + position;                                          \
                const T *restrict src = input + source;                                              \
                if (ostep == 1 && istep == 1) {                                                      \
                    memcpy(dst, src, (size_t)n * sizeof(T));                                         \
                } else {                                                                             \
                    for (ptrdiff_t k = 0; k < n; ++k) dst[k * ostep] = src[k * istep];               \
                }                                                                                    \
            });                                                                                      \
        }                                                                                            \
    }                                                                                                \
    void PREFIX##_fold(const rk_unfold_plan *p, ptrdiff_t first, ptrdiff_t last,                     \
                       const T *restrict columns, T *restrict input) {                               \
        const ptrdiff_t planeSize = p->input[0] * p->input[1] * p->input[2];                         \
        for (ptrdiff_t k = first * planeSize; k < last * planeSize; ++k) input[k] = 0;               \
        RK_UNFOLD_WALK(p, first, last, {                                                             \
            const T *restrict src = columns + row + position;                                        \
            T *restrict dst = input + source;                                                        \
            if (ostep == 1 && istep == 1) {                                                          \
                for (ptrdiff_t k = 0; k < n; ++k) dst[k] += src[k];                                  \
            } else {                                                                                 \
                for (ptrdiff_t k = 0; k < n; ++k) dst[k * istep] += src[k * ostep];                  \
            }                                                                                        \
        });                                                                                          \
    }                                                                                                \
    RK_WINDOW_CLONES void PREFIX##_window_max(const rk_unfold_plan *p, ptrdiff_t first, ptrdiff_t last, \
                                              const T *restrict x, T *restrict value,                \
                                              ptrdiff_t *restrict best) {                            \
        /* A row of windows along the innermost axis at a time, with the taps outside and the */   \
        /* windows inside: the windows' running maxima are independent, so the inner loop has */   \
        /* no chain of comparisons and vectorises (a gather for strided reads). */                  \
        const ptrdiff_t k0 = p->kernel[0], k1 = p->kernel[1], k2 = p->kernel[2];                     \
        const ptrdiff_t i0 = p->input[0], i1 = p->input[1], i2 = p->input[2];                        \
        const ptrdiff_t o0 = p->output[0], o1 = p->output[1], o2 = p->output[2];                     \
        const ptrdiff_t *restrict t0 = p->table0, *restrict t1 = p->table1, *restrict t2 = p->table2; \
        for (ptrdiff_t plane = first; plane < last; ++plane) {                                       \
            const ptrdiff_t inputBase = plane * i0 * i1 * i2;                                        \
            for (ptrdiff_t ox = 0; ox < o0; ++ox)                                                     \
                for (ptrdiff_t oy = 0; oy < o1; ++oy)                                                 \
                    for (ptrdiff_t oz0 = 0; oz0 < o2; oz0 += RK_WINDOW_ROW) {                         \
                        const ptrdiff_t n = o2 - oz0 < RK_WINDOW_ROW ? o2 - oz0 : RK_WINDOW_ROW;     \
                        const ptrdiff_t slot = ((plane * o0 + ox) * o1 + oy) * o2 + oz0;              \
                        T *restrict m = value + slot;                                                \
                        ptrdiff_t *restrict w = best + slot;                                         \
                        for (ptrdiff_t k = 0; k < n; ++k) { m[k] = 0; w[k] = -1; }                   \
                        for (ptrdiff_t a = 0; a < k0; ++a) {                                         \
                            const ptrdiff_t u = t0[a * o0 + ox];                                     \
                            if (u < 0) continue;                                                     \
                            for (ptrdiff_t b = 0; b < k1; ++b) {                                     \
                                const ptrdiff_t v = t1[b * o1 + oy];                                 \
                                if (v < 0) continue;                                                 \
                                const ptrdiff_t row = inputBase + (u * i1 + v) * i2;                 \
                                const T *restrict xr = x + row;                                      \
                                for (ptrdiff_t c = 0; c < k2; ++c) {                                 \
                                    const ptrdiff_t *restrict z = t2 + c * o2 + oz0;                 \
                                    for (ptrdiff_t k = 0; k < n; ++k) {                              \
                                        const ptrdiff_t at = z[k] < 0 ? 0 : z[k];                    \
                                        const T candidate = xr[at], current = m[k];                  \
                                        /* The first tap in the input wins, then a larger value; */ \
                                        /* a NaN candidate wins (!(c <= m)) unless the maximum */   \
                                        /* is NaN already. Selects, not branches. */                 \
                                        const int take = (z[k] >= 0) &                               \
                                            ((w[k] < 0) | (!(candidate <= current) & (current == current))); \
                                        w[k] = take ? row + at : w[k];                               \
                                        m[k] = take ? candidate : current;                           \
                                    }                                                                \
                                }                                                                    \
                            }                                                                        \
                        }                                                                            \
                    }                                                                                \
        }                                                                                            \
    }

RK_DEFINE_UNFOLD(float, rk_s)
RK_DEFINE_UNFOLD(double, rk_d)
