// GEMM template, deliberately without include guard: gemm.c includes it once per (element type, ISA),
// so a single source yields the SSE2, AVX2 and AVX-512 kernels. Parameters, #undef'd at the end:
//   RK_T            element type (float or double)
//   RK_VL           lanes per SIMD vector
//   RK_MR, RK_NV    micro-tile: RK_MR rows × RK_NV vectors (NR = RK_NV * RK_VL columns)
//   RK_MC, RK_KC, RK_NC   cache blocking (Goto/BLIS): packed A block MC×KC, packed B block KC×NC
//   RK_ATTR         function attribute enabling the ISA (empty for the baseline)
//   RK_NAME(x)      unique name per instantiation
// Vectors are GCC/Clang vector extensions; `acc += b * a` contracts to FMA where the target has it.

#define RK_NR (RK_NV * RK_VL)
typedef RK_T RK_NAME(vec) __attribute__((vector_size(RK_VL * sizeof(RK_T))));

// Micro-kernel: C[mr×nr] = alpha * Ã·B̃ + beta * C over one packed MR×kc panel of A (k-major)
// and one packed kc×NR panel of B. Partial tiles (mr < MR or nr < NR) go through a local tile.
// noinline keeps the hot loop's register allocation independent of the surrounding loop nest.
__attribute__((noinline)) static RK_ATTR void RK_NAME(kernel)(ptrdiff_t kc, const RK_T *restrict pa,
                                                              const RK_T *restrict pb, RK_T alpha, RK_T beta,
                                                              RK_T *restrict c, ptrdiff_t ldc, ptrdiff_t mr,
                                                              ptrdiff_t nr) {
    typedef RK_NAME(vec) vec;
    vec acc[RK_MR][RK_NV];
    RK_UNROLL for (int i = 0; i < RK_MR; i++)
        RK_UNROLL for (int v = 0; v < RK_NV; v++) acc[i][v] = (vec){0};

    const vec *pbv = (const vec *)pb;  // packed B is vector-aligned
    for (ptrdiff_t p = 0; p < kc; p++) {
        vec bv[RK_NV];
        RK_UNROLL for (int v = 0; v < RK_NV; v++) bv[v] = pbv[v];
        RK_UNROLL for (int i = 0; i < RK_MR; i++) {
            RK_T ai = pa[i];
            RK_UNROLL for (int v = 0; v < RK_NV; v++) acc[i][v] += bv[v] * ai;
        }
        pa += RK_MR;
        pbv += RK_NV;
    }

    if (mr == RK_MR && nr == RK_NR) {
        RK_UNROLL for (int i = 0; i < RK_MR; i++) {
            RK_T *ci = c + i * ldc;
            RK_UNROLL for (int v = 0; v < RK_NV; v++) {
                vec r = acc[i][v] * alpha;
                if (beta != 0) {
                    vec old;  // memcpy = unaligned load/store, C has arbitrary alignment
                    __builtin_memcpy(&old, ci + v * RK_VL, sizeof old);
                    r += old * beta;
                }
                __builtin_memcpy(ci + v * RK_VL, &r, sizeof r);
            }
        }
    } else {
        vec tile[RK_MR][RK_NV];
        RK_UNROLL for (int i = 0; i < RK_MR; i++)
            RK_UNROLL for (int v = 0; v < RK_NV; v++) tile[i][v] = acc[i][v] * alpha;
        const RK_T *t = (const RK_T *)tile;
        for (ptrdiff_t i = 0; i < mr; i++)
            for (ptrdiff_t j = 0; j < nr; j++) {
                RK_T r = t[i * RK_NR + j];
                c[i * ldc + j] = beta != 0 ? r + beta * c[i * ldc + j] : r;
            }
    }
}

typedef RK_T RK_NAME(vec8) __attribute__((vector_size(8 * sizeof(RK_T))));

// dst[j·ldd + i] = src[i·lds + j] for an 8×8 block: three rounds of interleaving row i with
// row i + 4 transpose it (the perfect shuffle of 8 rows, thrice, is the transpose).
static inline RK_ATTR void RK_NAME(transpose8)(const RK_T *src, ptrdiff_t lds, RK_T *dst, ptrdiff_t ldd) {
    typedef RK_NAME(vec8) vec8;
    vec8 r[8], t[8];
    RK_UNROLL for (int i = 0; i < 8; i++) __builtin_memcpy(&r[i], src + i * lds, sizeof(vec8));
    RK_UNROLL for (int round = 0; round < 3; round++) {
        RK_UNROLL for (int i = 0; i < 4; i++) {
            t[2 * i] = __builtin_shufflevector(r[i], r[i + 4], 0, 8, 1, 9, 2, 10, 3, 11);
            t[2 * i + 1] = __builtin_shufflevector(r[i], r[i + 4], 4, 12, 5, 13, 6, 14, 7, 15);
        }
        RK_UNROLL for (int i = 0; i < 8; i++) r[i] = t[i];
    }
    RK_UNROLL for (int j = 0; j < 8; j++) __builtin_memcpy(dst + j * ldd, &r[j], sizeof(vec8));
}

// Packs a rows×kc block whose element (r, p) is src[r*rs + p*ps] into panels of w rows, k-major
// inside a panel (w consecutive values per k step), zero-padding the last panel so the kernel never
// checks edges. With rs == 1 it is a plain vectorizable copy. Otherwise it is a transpose, of whole
// 8×8 blocks in registers where it can, else element by element: we read
// 8 rows at a time (p-contiguous), because reading all w rows at once thrashes L1 when the row
// stride is a power of two, and writing p-contiguous runs instead was measured slower.
static RK_ATTR void RK_NAME(pack)(const RK_T *src, ptrdiff_t rs, ptrdiff_t ps, ptrdiff_t rows, ptrdiff_t kc,
                                  ptrdiff_t w, RK_T *restrict dst) {
    for (ptrdiff_t r0 = 0; r0 < rows; r0 += w, dst += w * kc) {
        ptrdiff_t h = rows - r0 < w ? rows - r0 : w;
        if (rs == 1 && h == w && (w == RK_NR || w == RK_MR)) {
            // Full panels: copies of a size known here, which compile to vector moves; the loop
            // below becomes a call of memcpy per k step, costly for 12 or 32 values.
            if (w == RK_NR)
                for (ptrdiff_t p = 0; p < kc; p++) __builtin_memcpy(dst + p * RK_NR, src + r0 + p * ps, RK_NR * sizeof(RK_T));
            else
                for (ptrdiff_t p = 0; p < kc; p++) __builtin_memcpy(dst + p * RK_MR, src + r0 + p * ps, RK_MR * sizeof(RK_T));
            continue;
        }
        if (rs == 1) {
            for (ptrdiff_t p = 0; p < kc; p++) {
                const RK_T *s = src + r0 + p * ps;
                RK_T *d = dst + p * w;
                for (ptrdiff_t r = 0; r < h; r++) d[r] = s[r];
                for (ptrdiff_t r = h; r < w; r++) d[r] = 0;
            }
            continue;
        }
        for (ptrdiff_t rb = 0; rb < w; rb += 8) {
            ptrdiff_t hb = h - rb < 8 ? (h - rb > 0 ? h - rb : 0) : 8;
            ptrdiff_t wb = w - rb < 8 ? w - rb : 8;
            ptrdiff_t p0 = 0;
            if (hb == 8 && wb == 8 && ps == 1)  // whole 8×8 blocks transposed in registers
                for (; p0 + 8 <= kc; p0 += 8)
                    RK_NAME(transpose8)(src + (r0 + rb) * rs + p0 * ps, rs, dst + p0 * w + rb, w);
            for (ptrdiff_t p = p0; p < kc; p++) {
                const RK_T *s = src + (r0 + rb) * rs + p * ps;
                RK_T *d = dst + p * w + rb;
                for (ptrdiff_t r = 0; r < hb; r++) d[r] = s[r * rs];
                for (ptrdiff_t r = hb; r < wb; r++) d[r] = 0;
            }
        }
    }
}

// Packs rows r0 ..< r0 + rows and steps p0 ..< p0 + kc of a matrix read as X(r, p) = x[p·ld + r]
// when `t`, else x[r·ld + p]: op(A) in MR panels (rows i), or op(B)ᵀ, with `t = !transB` (rows j).
static inline RK_ATTR void RK_NAME(pack_block)(int t, const RK_T *x, ptrdiff_t ld, ptrdiff_t r0, ptrdiff_t p0,
                                                ptrdiff_t rows, ptrdiff_t kc, ptrdiff_t w, RK_T *dst) {
    if (t)
        RK_NAME(pack)(x + p0 * ld + r0, 1, ld, rows, kc, w, dst);
    else
        RK_NAME(pack)(x + r0 * ld + p0, ld, 1, rows, kc, w, dst);
}

// The macro-kernel: C[mc×nc] = alpha·Ã·B̃ + beta·C over a packed mc×kc block of A (MR panels)
// and a packed kc×nc block of B (NR panels), tile by tile.
static inline RK_ATTR void RK_NAME(macro_kernel)(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const RK_T *pa,
                                                  const RK_T *pb, RK_T alpha, RK_T beta, RK_T *c, ptrdiff_t ldc) {
    for (ptrdiff_t jr = 0; jr < nc; jr += RK_NR)
        for (ptrdiff_t ir = 0; ir < mc; ir += RK_MR)
            RK_NAME(kernel)(kc, pa + ir * kc, pb + jr * kc, alpha, beta, c + ir * ldc + jr, ldc,
                            mc - ir < RK_MR ? mc - ir : RK_MR, nc - jr < RK_NR ? nc - jr : RK_NR);
}

// Goto loop nest; expects m, n, k > 0 and alpha != 0. Returns -1 if the packing buffers cannot be allocated.
static RK_ATTR int RK_NAME(gemm)(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, RK_T alpha,
                                 const RK_T *a, ptrdiff_t lda, const RK_T *b, ptrdiff_t ldb, RK_T beta,
                                 RK_T *c, ptrdiff_t ldc) {
    // Buffers sized to the problem, not to the blocking, so small products stay cheap.
    ptrdiff_t kcmax = k < RK_KC ? k : RK_KC;
    ptrdiff_t mcmax = m < RK_MC ? (m + RK_MR - 1) / RK_MR * RK_MR : RK_MC;
    ptrdiff_t ncmax = n < RK_NC ? (n + RK_NR - 1) / RK_NR * RK_NR : RK_NC;
    RK_T *pa = rk_scratch(RK_SCRATCH_A, (size_t)(mcmax * kcmax) * sizeof(RK_T));
    RK_T *pb = rk_scratch(RK_SCRATCH_B, (size_t)(ncmax * kcmax) * sizeof(RK_T));
    if (!pa || !pb) {
        rk_scratch_done(RK_SCRATCH_A, pa);
        rk_scratch_done(RK_SCRATCH_B, pb);
        return -1;
    }
    for (ptrdiff_t jc = 0; jc < n; jc += RK_NC) {
        ptrdiff_t nc = n - jc < RK_NC ? n - jc : RK_NC;
        for (ptrdiff_t pc = 0; pc < k; pc += RK_KC) {
            ptrdiff_t kc = k - pc < RK_KC ? k - pc : RK_KC;
            RK_NAME(pack_block)(!tb, b, ldb, jc, pc, nc, kc, RK_NR, pb);  // rows j of op(B)ᵀ
            RK_T beta_pc = pc == 0 ? beta : 1;  // later k blocks accumulate onto the first one
            for (ptrdiff_t ic = 0; ic < m; ic += RK_MC) {
                ptrdiff_t mc = m - ic < RK_MC ? m - ic : RK_MC;
                RK_NAME(pack_block)(ta, a, lda, ic, pc, mc, kc, RK_MR, pa);
                RK_NAME(macro_kernel)(mc, nc, kc, pa, pb, alpha, beta_pc, c + ic * ldc + jc, ldc);
            }
        }
    }
    rk_scratch_done(RK_SCRATCH_A, pa);
    rk_scratch_done(RK_SCRATCH_B, pb);
    return 0;
}

// The share of a product's tiles that is useful work: an m×n result in MR×NR tiles.
static inline double RK_NAME(tile_use)(ptrdiff_t m, ptrdiff_t n) {
    return (double)m / (double)((m + RK_MR - 1) / RK_MR * RK_MR) * (double)n / (double)((n + RK_NR - 1) / RK_NR * RK_NR);
}

// The shared-A batch computed as C_iᵀ = op(B_i)ᵀ·op(A)ᵀ into a scratch tile and transposed into
// C_i: for a convolution's 64 channels × 196 positions the tiles fit the transposed result
// (196×64: 96 % useful) better than the result (78 %). The sums run in the same order as in
// the direct loop nest, so with beta = 0 the results are the same. Expects m ≤ RK_NC; -1 if out
// of memory.
static RK_ATTR int RK_NAME(gemm_shared_a_transposed)(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, RK_T alpha,
                                                     const RK_T *a, ptrdiff_t lda, const RK_T *b, ptrdiff_t ldb,
                                                     ptrdiff_t strideB, RK_T beta, RK_T *c, ptrdiff_t ldc,
                                                     ptrdiff_t strideC, ptrdiff_t count) {
    // op(A)ᵀ is the kernels' right operand, packed once in NR panels: k block pc at pc·mpad.
    ptrdiff_t mpad = (m + RK_NR - 1) / RK_NR * RK_NR;
    ptrdiff_t kcmax = k < RK_KC ? k : RK_KC;
    ptrdiff_t mcmax = n < RK_MC ? (n + RK_MR - 1) / RK_MR * RK_MR : RK_MC;
    RK_T *pb = rk_scratch(RK_SCRATCH_A, (size_t)(mpad * k) * sizeof(RK_T));
    RK_T *pa = rk_scratch(RK_SCRATCH_B, (size_t)(mcmax * kcmax) * sizeof(RK_T));
    RK_T *t = rk_scratch(RK_SCRATCH_THIN, (size_t)(n * m) * sizeof(RK_T));
    if (!pa || !pb || !t) {
        rk_scratch_done(RK_SCRATCH_A, pb);
        rk_scratch_done(RK_SCRATCH_B, pa);
        rk_scratch_done(RK_SCRATCH_THIN, t);
        return -1;
    }
    for (ptrdiff_t pc = 0; pc < k; pc += RK_KC) {
        ptrdiff_t kc = k - pc < RK_KC ? k - pc : RK_KC;
        RK_NAME(pack_block)(ta, a, lda, 0, pc, m, kc, RK_NR, pb + pc * mpad);
    }
    for (ptrdiff_t i = 0; i < count; i++) {
        const RK_T *bi = b + i * strideB;
        RK_T *ci = c + i * strideC;
        for (ptrdiff_t pc = 0; pc < k; pc += RK_KC) {
            ptrdiff_t kc = k - pc < RK_KC ? k - pc : RK_KC;
            RK_T beta_pc = pc == 0 ? 0 : 1;
            for (ptrdiff_t ic = 0; ic < n; ic += RK_MC) {
                ptrdiff_t mc = n - ic < RK_MC ? n - ic : RK_MC;
                RK_NAME(pack_block)(!tb, bi, ldb, ic, pc, mc, kc, RK_MR, pa);
                RK_NAME(macro_kernel)(mc, m, kc, pa, pb + pc * mpad, alpha, beta_pc, t + ic * m, m);
            }
        }
        for (ptrdiff_t r0 = 0; r0 < m; r0 += 8)
            for (ptrdiff_t s0 = 0; s0 < n; s0 += 8) {
                if (beta == 0 && r0 + 8 <= m && s0 + 8 <= n) {
                    RK_NAME(transpose8)(t + s0 * m + r0, m, ci + r0 * ldc + s0, ldc);
                    continue;
                }
                for (ptrdiff_t r = r0; r < m && r < r0 + 8; r++)
                    for (ptrdiff_t s = s0; s < n && s < s0 + 8; s++)
                        ci[r * ldc + s] = beta != 0 ? t[s * m + r] + beta * ci[r * ldc + s] : t[s * m + r];
            }
    }
    rk_scratch_done(RK_SCRATCH_A, pb);
    rk_scratch_done(RK_SCRATCH_B, pa);
    rk_scratch_done(RK_SCRATCH_THIN, t);
    return 0;
}

// `count` products C_i = alpha·op(A)·op(B_i) + beta·C_i with one shared A: op(A) is packed once,
// whole, instead of once per product (a convolution's weight meets every sample's columns).
// Returns -1 if the packing buffers cannot be allocated.
static RK_ATTR int RK_NAME(gemm_shared_a)(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, RK_T alpha,
                                          const RK_T *a, ptrdiff_t lda, const RK_T *b, ptrdiff_t ldb,
                                          ptrdiff_t strideB, RK_T beta, RK_T *c, ptrdiff_t ldc,
                                          ptrdiff_t strideC, ptrdiff_t count) {
    // Transposing the result costs about what a few steps of k do: worth it for long sums only.
    if (m <= RK_NC && k >= RK_KC && RK_NAME(tile_use)(n, m) > 1.05 * RK_NAME(tile_use)(m, n))
        return RK_NAME(gemm_shared_a_transposed)(ta, tb, m, n, k, alpha, a, lda, b, ldb, strideB, beta, c, ldc,
                                                 strideC, count);
    // Each k block holds the MC blocks one after another; MC is a multiple of MR, so block ic of
    // k block pc starts at pc·mpad + ic·kc.
    ptrdiff_t mpad = (m + RK_MR - 1) / RK_MR * RK_MR;
    ptrdiff_t kcmax = k < RK_KC ? k : RK_KC;
    ptrdiff_t ncmax = n < RK_NC ? (n + RK_NR - 1) / RK_NR * RK_NR : RK_NC;
    RK_T *pa = rk_scratch(RK_SCRATCH_A, (size_t)(mpad * k) * sizeof(RK_T));
    RK_T *pb = rk_scratch(RK_SCRATCH_B, (size_t)(ncmax * kcmax) * sizeof(RK_T));
    if (!pa || !pb) {
        rk_scratch_done(RK_SCRATCH_A, pa);
        rk_scratch_done(RK_SCRATCH_B, pb);
        return -1;
    }
    for (ptrdiff_t pc = 0; pc < k; pc += RK_KC) {
        ptrdiff_t kc = k - pc < RK_KC ? k - pc : RK_KC;
        for (ptrdiff_t ic = 0; ic < m; ic += RK_MC) {
            ptrdiff_t mc = m - ic < RK_MC ? m - ic : RK_MC;
            RK_NAME(pack_block)(ta, a, lda, ic, pc, mc, kc, RK_MR, pa + pc * mpad + ic * kc);
        }
    }
    for (ptrdiff_t i = 0; i < count; i++) {
        const RK_T *bi = b + i * strideB;
        RK_T *ci = c + i * strideC;
        for (ptrdiff_t jc = 0; jc < n; jc += RK_NC) {
            ptrdiff_t nc = n - jc < RK_NC ? n - jc : RK_NC;
            for (ptrdiff_t pc = 0; pc < k; pc += RK_KC) {
                ptrdiff_t kc = k - pc < RK_KC ? k - pc : RK_KC;
                RK_NAME(pack_block)(!tb, bi, ldb, jc, pc, nc, kc, RK_NR, pb);
                RK_T beta_pc = pc == 0 ? beta : 1;
                for (ptrdiff_t ic = 0; ic < m; ic += RK_MC) {
                    ptrdiff_t mc = m - ic < RK_MC ? m - ic : RK_MC;
                    RK_NAME(macro_kernel)(mc, nc, kc, pa + pc * mpad + ic * kc, pb, alpha, beta_pc, ci + ic * ldc + jc, ldc);
                }
            }
        }
    }
    rk_scratch_done(RK_SCRATCH_A, pa);
    rk_scratch_done(RK_SCRATCH_B, pb);
    return 0;
}

#undef RK_NR
#undef RK_T
#undef RK_VL
#undef RK_MR
#undef RK_NV
#undef RK_MC
#undef RK_KC
#undef RK_NC
#undef RK_ATTR
#undef RK_NAME
