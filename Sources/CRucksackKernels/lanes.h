// Planes as vector lanes, for kernels that work on 16 planes at once (the max-pool window search,
// Winograd's input transform): one plane per lane, so loops over small images need neither masks
// nor scalar remainders. Not part of the module's interface.
#ifndef RK_LANES_H
#define RK_LANES_H

#include <stddef.h>

// A 16 × 16 transpose of the vectors r[0..16), in four stages: each swaps the off-diagonal h × h
// blocks of every 2h × 2h block (h = 8, 4, 2, 1); afterwards r[i][j] holds the old r[j][i].
#define RK_TRANSPOSE_STAGE(r, h, LO, HI)                                                             \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < 16; ++i)                                  \
        if (!(i & (h))) {                                                                            \
            const __typeof__(r[0]) a = r[i], b = r[i + (h)];                                         \
            r[i] = __builtin_shufflevector(a, b, LO);                                                \
            r[i + (h)] = __builtin_shufflevector(a, b, HI);                                          \
        }
#define RK_TRANSPOSE16(r)                                                                            \
    RK_TRANSPOSE_STAGE(r, 8, RK_LO8, RK_HI8)                                                         \
    RK_TRANSPOSE_STAGE(r, 4, RK_LO4, RK_HI4)                                                         \
    RK_TRANSPOSE_STAGE(r, 2, RK_LO2, RK_HI2)                                                         \
    RK_TRANSPOSE_STAGE(r, 1, RK_LO1, RK_HI1)
#define RK_LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define RK_HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define RK_LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define RK_HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define RK_LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define RK_HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define RK_LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define RK_HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

// Defines PREFIX##_to_lanes(x, size, count, lanes) for the element type T: `count` ≤ 16 planes of
// `size` elements at x into `lanes` element-major (element s of plane l at s·16 + l; zero for
// l ≥ count).
#define RK_DEFINE_TO_LANES(T, PREFIX)                                                                \
static inline __attribute__((always_inline)) void PREFIX##_to_lanes(                            \
    const T *restrict x, ptrdiff_t size, ptrdiff_t count, T *restrict lanes) {                  \
    typedef T vector __attribute__((ext_vector_type(16), aligned(sizeof(T))));                   \
    ptrdiff_t s0 = 0;                                                                            \
    for (; s0 + 16 <= size; s0 += 16) {                                                          \
        vector r[16];                                                                            \
        _Pragma("clang loop unroll(full)") for (int l = 0; l < 16; ++l)                          \
            r[l] = l < count ? *(const vector *)(x + l * size + s0) : 0;                         \
        RK_TRANSPOSE16(r)                                                                        \
        _Pragma("clang loop unroll(full)") for (int j = 0; j < 16; ++j)                          \
            *(vector *)(lanes + (s0 + j) * 16) = r[j];                                           \
    }                                                                                            \
    for (ptrdiff_t s = s0; s < size; ++s)                                                        \
        for (ptrdiff_t l = 0; l < 16; ++l) lanes[s * 16 + l] = l < count ? x[l * size + s] : 0;  \
}

#endif
