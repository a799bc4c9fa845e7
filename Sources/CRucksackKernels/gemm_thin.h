// Thin products for the GEMM entry points (gemm_thin.c); not part of the module's interface.
#ifndef RK_GEMM_THIN_H
#define RK_GEMM_THIN_H

#include <stddef.h>

/// Up to this many rows or columns of C, a product goes to the thin loops.
#define RK_THIN 8

int rk_s_thin_gemm(ptrdiff_t along, ptrdiff_t across, ptrdiff_t k, float alpha, const float *x, ptrdiff_t xl,
                   ptrdiff_t xp, const float *y, ptrdiff_t yp, ptrdiff_t ys, float beta, float *c, ptrdiff_t cl,
                   ptrdiff_t cs);
int rk_d_thin_gemm(ptrdiff_t along, ptrdiff_t across, ptrdiff_t k, double alpha, const double *x, ptrdiff_t xl,
                   ptrdiff_t xp, const double *y, ptrdiff_t yp, ptrdiff_t ys, double beta, double *c,
                   ptrdiff_t cl, ptrdiff_t cs);

#endif
