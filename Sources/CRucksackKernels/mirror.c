// Mirroring a Gram matrix's upper triangle onto its lower one: 16 × 16 blocks, each read as 16
// row vectors, turned in registers and stored as rows, so reads and writes both go along rows.
#include "CRucksackKernels.h"
#include "lanes.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_MIRROR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_MIRROR_CLONES
#endif

#define RK_DEFINE_MIRROR(T, PREFIX)                                                                  \
    RK_MIRROR_CLONES void PREFIX##_mirror_upper(T *c, ptrdiff_t n, ptrdiff_t first, ptrdiff_t last) { \
        typedef T vector __attribute__((ext_vector_type(16), aligned(sizeof(T))));                   \
        for (ptrdiff_t i0 = first; i0 < last; i0 += 16) {                                            \
            const ptrdiff_t rows = last - i0 < 16 ? last - i0 : 16;                                  \
            ptrdiff_t j0 = 0;                                                                        \
            /* Whole blocks left of the diagonal block: c[i0 + a][j0 + b] = c[j0 + b][i0 + a]. */   \
            if (rows == 16)                                                                          \
                for (; j0 + 16 <= i0; j0 += 16) {                                                    \
                    vector r[16];                                                                    \
                    _Pragma("clang loop unroll(full)") for (int b = 0; b < 16; ++b)                  \
                        r[b] = *(const vector *)(c + (j0 + b) * n + i0);                             \
                    RK_TRANSPOSE16(r)                                                                \
                    _Pragma("clang loop unroll(full)") for (int a = 0; a < 16; ++a)                  \
                        *(vector *)(c + (i0 + a) * n + j0) = r[a];                                   \
                }                                                                                    \
            /* The rest of these rows, up to the diagonal, element by element. */                   \
            for (ptrdiff_t i = i0; i < i0 + rows; ++i)                                               \
                for (ptrdiff_t j = j0; j < i; ++j) c[i * n + j] = c[j * n + i];                      \
        }                                                                                            \
    }

RK_DEFINE_MIRROR(float, rk_s)
RK_DEFINE_MIRROR(double, rk_d)
