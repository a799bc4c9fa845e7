// Thin products: C = alpha·op(A)·op(B) + beta·C with at most RK_THIN rows or columns. The packed
// micro-kernels compute 12×32 tiles, so a matrix-vector product would use one lane in 32; these
// loops instead read the long operand once, at memory speed, as dot products or row updates.
#include "CRucksackKernels.h"

#include <string.h>

#include "gemm_thin.h"
#include "scratch.h"

// The loops vectorise for the widest instruction set the CPU has; the loader picks the clone.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__ELF__) && defined(__clang__)
#define RK_THIN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_THIN_CLONES
#endif

#define RK_DEFINE_DOTS(T, PREFIX, VL, G)                                                              \
    static inline void PREFIX##_dots##G(ptrdiff_t k, const T *restrict x, const T *restrict v,       \
                                        T *restrict out) {                                           \
        typedef PREFIX##_thin_vec vec;                                                               \
        vec acc[G][2];                                                                               \
        for (int j = 0; j < G; j++) acc[j][0] = acc[j][1] = (vec){0};                                \
        ptrdiff_t p = 0;                                                                             \
        for (; p + 2 * VL <= k; p += 2 * VL)                                                         \
            for (int h = 0; h < 2; h++) {                                                            \
                vec xv;                                                                              \
                __builtin_memcpy(&xv, x + p + h * VL, sizeof xv);                                    \
                for (int j = 0; j < G; j++) {                                                        \
                    vec vv;                                                                          \
                    __builtin_memcpy(&vv, v + j * k + p + h * VL, sizeof vv);                        \
                    acc[j][h] += xv * vv;                                                            \
                }                                                                                    \
            }                                                                                        \
        for (int j = 0; j < G; j++) {                                                                \
            vec both = acc[j][0] + acc[j][1];                                                        \
            T sum = 0;                                                                               \
            for (int lane = 0; lane < VL; lane++) sum += both[lane];                                 \
            for (ptrdiff_t q = p; q < k; q++) sum += x[q] * v[j * k + q];                            \
            out[j] = sum;                                                                            \
        }                                                                                            \
    }

// C(l, s) = Σ_p X(l, p)·Y(p, s) for l < along (the long side) and s < across (≤ RK_THIN), with
// X(l, p) = x[l·xl + p·xp], Y(p, s) = y[p·yp + s·ys], C(l, s) = c[l·cl + s·cs]. Either X runs
// along p (xp == 1: dot products against Y's columns, copied contiguous) or along l (xl == 1: each
// p adds a row of X, scaled, onto `across` running sums). Returns -1 for other strides or when
// the buffer cannot be allocated; the caller then uses the packed kernels.
#define RK_DEFINE_THIN(T, PREFIX, VL)                                                                 \
    typedef T PREFIX##_thin_vec __attribute__((vector_size(VL * sizeof(T))));                        \
                                                                                                     \
    /* out[j] = Σ_p x[p]·v[j·k + p] for j < G, the vectors contiguous; G is a constant in each */    \
    /* copy, so the 2·G accumulators stay in registers (two per vector to hide the FMA latency). */  \
    RK_DEFINE_DOTS(T, PREFIX, VL, 1)                                                                 \
    RK_DEFINE_DOTS(T, PREFIX, VL, 2)                                                                 \
    RK_DEFINE_DOTS(T, PREFIX, VL, 4)                                                                 \
                                                                                                     \
    RK_THIN_CLONES int PREFIX##_thin_gemm(ptrdiff_t along, ptrdiff_t across, ptrdiff_t k, T alpha,   \
                                          const T *x, ptrdiff_t xl, ptrdiff_t xp, const T *y,        \
                                          ptrdiff_t yp, ptrdiff_t ys, T beta, T *c, ptrdiff_t cl,     \
                                          ptrdiff_t cs) {                                            \
        if (across > RK_THIN || (xp != 1 && xl != 1)) return -1;                                     \
        const int dots = xp == 1;                                                                    \
        /* Dots: Y's columns along p, `across`×k. Row updates: the running sums, `across`×along. */ \
        T *buffer = rk_scratch(RK_SCRATCH_THIN, (size_t)(across * (dots ? k : along)) * sizeof(T));   \
        if (!buffer) return -1;                                                                      \
        if (dots) {                                                                                  \
            for (ptrdiff_t s = 0; s < across; s++)                                                   \
                for (ptrdiff_t p = 0; p < k; p++) buffer[s * k + p] = y[p * yp + s * ys];            \
            for (ptrdiff_t l = 0; l < along; l++) {                                                  \
                T out[RK_THIN];                                                                      \
                ptrdiff_t s = 0;                                                                     \
                for (; s + 4 <= across; s += 4) PREFIX##_dots4(k, x + l * xl, buffer + s * k, out + s); \
                if (s + 2 <= across) {                                                               \
                    PREFIX##_dots2(k, x + l * xl, buffer + s * k, out + s);                          \
                    s += 2;                                                                          \
                }                                                                                    \
                if (s < across) PREFIX##_dots1(k, x + l * xl, buffer + s * k, out + s);              \
                for (ptrdiff_t s = 0; s < across; s++) {                                             \
                    T *target = c + l * cl + s * cs;                                                 \
                    *target = beta != 0 ? alpha * out[s] + beta * *target : alpha * out[s];          \
                }                                                                                    \
            }                                                                                        \
        } else {                                                                                     \
            memset(buffer, 0, (size_t)(across * along) * sizeof(T));                                 \
            /* Four rows of X per pass over the sums: a quarter of the loads and stores. */          \
            ptrdiff_t p = 0;                                                                         \
            for (; p + 4 <= k; p += 4) {                                                             \
                const T *restrict r0 = x + p * xp, *restrict r1 = r0 + xp, *restrict r2 = r1 + xp,   \
                                  *restrict r3 = r2 + xp;                                            \
                for (ptrdiff_t s = 0; s < across; s++) {                                             \
                    const T s0 = y[p * yp + s * ys], s1 = y[(p + 1) * yp + s * ys];                  \
                    const T s2 = y[(p + 2) * yp + s * ys], s3 = y[(p + 3) * yp + s * ys];            \
                    T *restrict sums = buffer + s * along;                                           \
                    for (ptrdiff_t l = 0; l < along; l++)                                            \
                        sums[l] += (r0[l] * s0 + r1[l] * s1) + (r2[l] * s2 + r3[l] * s3);            \
                }                                                                                    \
            }                                                                                        \
            for (; p < k; p++) {                                                                     \
                const T *restrict row = x + p * xp;                                                  \
                for (ptrdiff_t s = 0; s < across; s++) {                                             \
                    const T scale = y[p * yp + s * ys];                                              \
                    T *restrict sums = buffer + s * along;                                           \
                    for (ptrdiff_t l = 0; l < along; l++) sums[l] += row[l] * scale;                 \
                }                                                                                    \
            }                                                                                        \
            for (ptrdiff_t l = 0; l < along; l++)                                                    \
                for (ptrdiff_t s = 0; s < across; s++) {                                             \
                    T *target = c + l * cl + s * cs;                                                 \
                    const T value = buffer[s * along + l];                                           \
                    *target = beta != 0 ? alpha * value + beta * *target : alpha * value;            \
                }                                                                                    \
        }                                                                                            \
        rk_scratch_done(RK_SCRATCH_THIN, buffer);                                                    \
        return 0;                                                                                    \
    }

RK_DEFINE_THIN(float, rk_s, 16)
RK_DEFINE_THIN(double, rk_d, 8)
