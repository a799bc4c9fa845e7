// Per-thread scratch buffers for the GEMM kernels (heap.c); not part of the module's interface.
#ifndef RK_SCRATCH_H
#define RK_SCRATCH_H

#include <stddef.h>

/// The slots a product may hold at once: packed A, packed B, the thin loops' buffer.
enum { RK_SCRATCH_A, RK_SCRATCH_B, RK_SCRATCH_THIN, RK_SCRATCH_SLOTS };

/// A 64-byte aligned buffer of at least `bytes` for this thread's `slot`, kept for the next call
/// (a product per sample would otherwise allocate, and fault in, fresh pages every time); NULL if
/// it cannot be allocated. Buffers above a cap are not kept: pass them back to rk_scratch_done.
void *rk_scratch(int slot, size_t bytes);
/// Ends the use of a buffer from rk_scratch (frees it if it was not kept).
void rk_scratch_done(int slot, void *buffer);

#endif
