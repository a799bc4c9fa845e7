// Transposing a stack of row-major matrices, [B][R][C] to [B][C][R]: 16 × 16 tiles read as 16 row
// vectors, turned in registers (lanes.h) and stored as rows, so reads and writes both go along rows.
#include "CRucksackKernels.h"
#include "lanes.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_TRANSPOSE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_TRANSPOSE_CLONES
#endif

#define RK_DEFINE_TRANSPOSE(T, PREFIX)                                                               \
    RK_TRANSPOSE_CLONES void PREFIX##_transpose_batches(const T *x, T *y, ptrdiff_t rows,            \
                                                        ptrdiff_t columns, ptrdiff_t first,           \
                                                        ptrdiff_t last) {                             \
        typedef T vector __attribute__((ext_vector_type(16), aligned(sizeof(T))));                   \
        const ptrdiff_t bands = (rows + 15) / 16;                                                    \
        for (ptrdiff_t unit = first; unit < last; ++unit) {                                          \
            const ptrdiff_t batch = unit / bands, r0 = unit % bands * 16;                            \
            const ptrdiff_t height = rows - r0 < 16 ? rows - r0 : 16;                                \
            const T *from = x + batch * rows * columns;                                              \
            T *to = y + batch * rows * columns;                                                      \
            ptrdiff_t c0 = 0;                                                                        \
            if (height == 16)                                                                        \
                for (; c0 + 16 <= columns; c0 += 16) {                                               \
                    vector r[16];                                                                    \
                    _Pragma("clang loop unroll(full)") for (int a = 0; a < 16; ++a)                  \
                        r[a] = *(const vector *)(from + (r0 + a) * columns + c0);                    \
                    RK_TRANSPOSE16(r)                                                                \
                    _Pragma("clang loop unroll(full)") for (int b = 0; b < 16; ++b)                  \
                        *(vector *)(to + (c0 + b) * rows + r0) = r[b];                               \
                }                                                                                    \
            /* The columns after the last whole tile, and a band of fewer than 16 rows. */           \
            for (ptrdiff_t c = c0; c < columns; ++c)                                                 \
                for (ptrdiff_t a = 0; a < height; ++a) to[c * rows + r0 + a] = from[(r0 + a) * columns + c]; \
        }                                                                                            \
    }

RK_DEFINE_TRANSPOSE(float, rk_s)
RK_DEFINE_TRANSPOSE(double, rk_d)
