#include "CRucksackKernels.h"

#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

int rk_keep_freed_memory(void) {
    // glibc serves large blocks with mmap and returns them with munmap, so a buffer freed in one
    // training step comes back as fresh, zero-filled pages in the next: a page fault per 4 KiB.
    // Serving every block from the heap and never trimming it keeps the pages for reuse.
    int ok = mallopt(M_MMAP_MAX, 0);
    ok = ok && mallopt(M_TRIM_THRESHOLD, -1);  // -1: never trim (mallopt(3)); INT_MAX would still trim above 2 GiB
    return ok ? 0 : -1;
}
#else
int rk_keep_freed_memory(void) { return -1; }
#endif

// ---- Per-thread scratch buffers (scratch.h) ----

#include "scratch.h"

#ifdef _WIN32
#include <malloc.h>

void *rk_scratch(int slot, size_t bytes) {
    (void)slot;
    return _aligned_malloc(bytes ? bytes : 64, 64);
}

void rk_scratch_done(int slot, void *buffer) {
    (void)slot;
    _aligned_free(buffer);
}
#else
#include <pthread.h>

// Larger buffers are allocated per call: a thread keeps at most this much per slot.
#define RK_SCRATCH_CAP ((size_t)32 << 20)

typedef struct {
    void *buffer[RK_SCRATCH_SLOTS];
    size_t size[RK_SCRATCH_SLOTS];
} rk_scratch_set;

static pthread_key_t rk_scratch_key;
static pthread_once_t rk_scratch_once = PTHREAD_ONCE_INIT;
static int rk_scratch_key_ok = 0;

// A thread's buffers are freed when it exits (Rucksack's pool threads live as long as the process).
static void rk_scratch_free_set(void *p) {
    rk_scratch_set *set = p;
    for (int i = 0; i < RK_SCRATCH_SLOTS; i++) free(set->buffer[i]);
    free(set);
}

static void rk_scratch_make_key(void) { rk_scratch_key_ok = pthread_key_create(&rk_scratch_key, rk_scratch_free_set) == 0; }

static rk_scratch_set *rk_scratch_this_thread(int create) {
    if (pthread_once(&rk_scratch_once, rk_scratch_make_key) != 0 || !rk_scratch_key_ok) return NULL;
    rk_scratch_set *set = pthread_getspecific(rk_scratch_key);
    if (!set && create) {
        set = calloc(1, sizeof *set);
        if (set && pthread_setspecific(rk_scratch_key, set) != 0) {
            free(set);
            set = NULL;
        }
    }
    return set;
}

static void *rk_aligned(size_t bytes) {
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

void *rk_scratch(int slot, size_t bytes) {
    rk_scratch_set *set = bytes > RK_SCRATCH_CAP ? NULL : rk_scratch_this_thread(1);
    if (!set) return rk_aligned(bytes);
    if (set->size[slot] < bytes) {
        free(set->buffer[slot]);
        set->buffer[slot] = rk_aligned(bytes);
        set->size[slot] = set->buffer[slot] ? bytes : 0;
    }
    return set->buffer[slot];
}

void rk_scratch_done(int slot, void *buffer) {
    rk_scratch_set *set = rk_scratch_this_thread(0);
    if (!set || set->buffer[slot] != buffer) free(buffer);
}
#endif
