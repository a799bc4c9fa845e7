// The loops behind unfold (im2col), fold (col2im) and the max-pool window search. Unfold and fold
// walk the (column entry, input element) pairs that are not padding; each innermost tap is one
// arithmetic run, so the work is in short strided loops without calls or bounds checks. The
// window search takes 16 planes at a time, one a vector lane, window by window through the
// per-axis index tables.
#include "CRucksackKernels.h"
#include "lanes.h"

#include <stdint.h>
#include <string.h>

// The window search vectorises with the widest vectors the CPU has; the loader picks the clone.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_WINDOW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_WINDOW_CLONES
#endif
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

#define RK_DEFINE_UNFOLD(T, I, PREFIX)                                                               \
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
    /* The way back for the window search's results: window k of lane l, at k·16 + l in */          \
    /* `maxima` and `offsets`, goes to value[l·windows + k] and, as a flat index into the input */   \
    /* (offsets are within the plane, -1 none), to best[l·windows + k], for l < count. */            \
    static inline __attribute__((always_inline)) void PREFIX##_from_lanes(                          \
        const T *restrict maxima, const I *restrict offsets, ptrdiff_t windows, ptrdiff_t count,     \
        ptrdiff_t plane0, ptrdiff_t planeSize, T *restrict value, ptrdiff_t *restrict best) {       \
        typedef T vector __attribute__((ext_vector_type(16), aligned(sizeof(T))));                   \
        typedef I integers __attribute__((ext_vector_type(16), aligned(sizeof(I))));                 \
        typedef ptrdiff_t indices __attribute__((ext_vector_type(16), aligned(sizeof(ptrdiff_t))));  \
        ptrdiff_t k0 = 0;                                                                            \
        for (; k0 + 16 <= windows; k0 += 16) {                                                       \
            vector r[16];                                                                            \
            integers q[16];                                                                          \
            for (ptrdiff_t j = 0; j < 16; ++j) {                                                     \
                r[j] = *(const vector *)(maxima + (k0 + j) * 16);                                    \
                q[j] = *(const integers *)(offsets + (k0 + j) * 16);                                 \
            }                                                                                        \
            RK_TRANSPOSE16(r)                                                                        \
            RK_TRANSPOSE16(q)                                                                        \
            for (ptrdiff_t l = 0; l < count; ++l) {                                                  \
                const indices wide = __builtin_convertvector(q[l], indices);                         \
                *(vector *)(value + l * windows + k0) = r[l];                                        \
                *(indices *)(best + l * windows + k0) =                                              \
                    wide < 0 ? (indices)-1 : wide + (plane0 + l) * planeSize;                        \
            }                                                                                        \
        }                                                                                            \
        for (ptrdiff_t k = k0; k < windows; ++k)                                                     \
            for (ptrdiff_t l = 0; l < count; ++l) {                                                  \
                value[l * windows + k] = maxima[k * 16 + l];                                         \
                best[l * windows + k] = offsets[k * 16 + l] < 0 ? -1 : (plane0 + l) * planeSize + offsets[k * 16 + l]; \
            }                                                                                        \
    }                                                                                                \
    /* The window search for 16 planes at once, one a vector lane: `lanes` holds them element- */   \
    /* major (element s of every plane in the vector at s·16), `maxima`/`offsets` receive the */     \
    /* windows' maxima and the winners' offsets into their planes window-major. All lanes share */   \
    /* the windows and which taps fall on padding, so there are no masks and no chain across */      \
    /* windows. */                                                                                   \
    static inline __attribute__((always_inline)) void PREFIX##_window_lanes(                        \
        const rk_unfold_plan *p, const T *restrict lanes, T *restrict maxima, I *restrict offsets) { \
        typedef T vector __attribute__((ext_vector_type(16), aligned(sizeof(T))));                   \
        typedef I integers __attribute__((ext_vector_type(16), aligned(sizeof(I))));                 \
        const ptrdiff_t k0 = p->kernel[0], k1 = p->kernel[1], k2 = p->kernel[2];                     \
        const ptrdiff_t i1 = p->input[1], i2 = p->input[2];                                          \
        const ptrdiff_t o0 = p->output[0], o1 = p->output[1], o2 = p->output[2];                     \
        for (ptrdiff_t ox = 0; ox < o0; ++ox)                                                         \
            for (ptrdiff_t oy = 0; oy < o1; ++oy)                                                     \
                for (ptrdiff_t oz = 0; oz < o2; ++oz) {                                               \
                    vector m = 0;                                                                    \
                    integers w = -1;                                                                 \
                    for (ptrdiff_t a = 0; a < k0; ++a) {                                             \
                        const ptrdiff_t u = p->table0[a * o0 + ox];                                  \
                        for (ptrdiff_t b = 0; u >= 0 && b < k1; ++b) {                               \
                            const ptrdiff_t v = p->table1[b * o1 + oy];                              \
                            for (ptrdiff_t c = 0; v >= 0 && c < k2; ++c) {                           \
                                const ptrdiff_t z = p->table2[c * o2 + oz];                          \
                                if (z < 0) continue;                                                 \
                                const ptrdiff_t at = (u * i1 + v) * i2 + z;                          \
                                const vector candidate = *(const vector *)(lanes + at * 16);         \
                                /* The first tap in the input wins (w < 0), then a larger */        \
                                /* value; a NaN candidate wins (!(c <= m)) unless the maximum */    \
                                /* is NaN already. */                                               \
                                const integers take = (w < 0) | (~(candidate <= m) & (m == m));      \
                                m = take ? candidate : m;                                            \
                                w = take ? (integers)(I)at : w;                                      \
                            }                                                                        \
                        }                                                                            \
                    }                                                                                \
                    const ptrdiff_t slot = (ox * o1 + oy) * o2 + oz;                                 \
                    *(vector *)(maxima + slot * 16) = m;                                             \
                    *(integers *)(offsets + slot * 16) = w;                                          \
                }                                                                                    \
    }                                                                                                \
    RK_WINDOW_CLONES void PREFIX##_window_max(const rk_unfold_plan *p, ptrdiff_t first, ptrdiff_t last, \
                                              const T *restrict x, T *restrict value,                \
                                              ptrdiff_t *restrict best, T *restrict scratch) {       \
        /* 16 planes at a time, turned element-major on the way in and back on the way out. */      \
        const ptrdiff_t planeSize = p->input[0] * p->input[1] * p->input[2];                         \
        const ptrdiff_t windows = p->output[0] * p->output[1] * p->output[2];                        \
        T *lanes = scratch, *maxima = scratch + 16 * planeSize;                                      \
        I *offsets = (I *)(maxima + 16 * windows);                                                   \
        for (ptrdiff_t plane0 = first; plane0 < last; plane0 += 16) {                                \
            const ptrdiff_t count = last - plane0 < 16 ? last - plane0 : 16;                         \
            PREFIX##_to_lanes(x + plane0 * planeSize, planeSize, count, lanes);                      \
            PREFIX##_window_lanes(p, lanes, maxima, offsets);                                        \
            PREFIX##_from_lanes(maxima, offsets, windows, count, plane0, planeSize,                  \
                                value + plane0 * windows, best + plane0 * windows);                  \
        }                                                                                            \
    }

RK_DEFINE_TO_LANES(float, rk_s)
RK_DEFINE_TO_LANES(double, rk_d)
RK_DEFINE_UNFOLD(float, int32_t, rk_s)
RK_DEFINE_UNFOLD(double, int64_t, rk_d)
