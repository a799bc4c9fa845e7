#include "CRucksackKernels.h"

// A pool of helper threads that wait for work by spinning for a while before they sleep, as
// OpenMP runtimes do. Dispatch's workers sleep at once, and on a virtual machine waking an idle
// core costs tens of microseconds; a training step of a small network runs a few dozen parallel
// regions, each of which paid that cost.

#ifdef _WIN32

void rk_parallel_for(ptrdiff_t count, int threads, rk_parallel_body body, void *context) {
    (void)threads;
    for (ptrdiff_t i = 0; i < count; i++) body(context, i);
}

#else
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define RK_MAX_HELPERS 255
// How long a helper keeps looking for the next job before it sleeps.
#define RK_SPIN_NANOSECONDS 250000L

static inline void rk_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long rk_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

// The current job. `generation` is even while a job can be joined and odd while the submitter
// replaces it; helpers count themselves in `busy` before they read the job, so the submitter can
// wait until none still looks at the previous one (a sequence lock).
static struct {
    pthread_mutex_t submit;  // one submitter at a time; others (and nested calls) run alone
    pthread_mutex_t sleep;
    pthread_cond_t wake;
    atomic_long generation;
    atomic_int busy;
    atomic_int sleepers;
    int helpers;  // started so far
    // The job, written only while `generation` is odd and no helper is busy.
    rk_parallel_body body;
    void *context;
    ptrdiff_t count;
    int joining;  // helpers with an id below this take part
    atomic_long next;
    atomic_long done;
} rk_pool = {
    .submit = PTHREAD_MUTEX_INITIALIZER,
    .sleep = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

// Runs indices of the current job until none is left.
static void rk_pool_work(rk_parallel_body body, void *context, ptrdiff_t count) {
    for (;;) {
        long index = atomic_fetch_add_explicit(&rk_pool.next, 1, memory_order_relaxed);
        if (index >= count) return;
        body(context, index);
        atomic_fetch_add_explicit(&rk_pool.done, 1, memory_order_release);
    }
}

// Waits until `generation` differs from `seen` and is even; spins first, then sleeps.
static long rk_pool_wait(long seen) {
    long start = rk_now_ns();
    for (unsigned spins = 0;; spins++) {
        long now = atomic_load_explicit(&rk_pool.generation, memory_order_acquire);
        if (now != seen && !(now & 1)) return now;
        rk_relax();
        if ((spins & 1023) == 1023 && rk_now_ns() - start > RK_SPIN_NANOSECONDS) break;
    }
    pthread_mutex_lock(&rk_pool.sleep);
    atomic_fetch_add(&rk_pool.sleepers, 1);
    long now;
    while ((now = atomic_load(&rk_pool.generation)) == seen || (now & 1)) pthread_cond_wait(&rk_pool.wake, &rk_pool.sleep);
    atomic_fetch_sub(&rk_pool.sleepers, 1);
    pthread_mutex_unlock(&rk_pool.sleep);
    return now;
}

static void *rk_pool_helper(void *argument) {
    int id = (int)(ptrdiff_t)argument;
    long seen = 0;
    for (;;) {
        long generation = rk_pool_wait(seen);
        seen = generation;
        atomic_fetch_add(&rk_pool.busy, 1);
        // Re-read after counting in: a submitter that began replacing the job has made it odd.
        if (atomic_load(&rk_pool.generation) == generation && id < rk_pool.joining) {
            rk_pool_work(rk_pool.body, rk_pool.context, rk_pool.count);
        }
        atomic_fetch_sub_explicit(&rk_pool.busy, 1, memory_order_release);
    }
    return NULL;
}

void rk_parallel_for(ptrdiff_t count, int threads, rk_parallel_body body, void *context) {
    int wanted = threads - 1 < RK_MAX_HELPERS ? threads - 1 : RK_MAX_HELPERS;
    if (count < wanted + 1) wanted = (int)(count - 1);
    if (wanted < 1 || pthread_mutex_trylock(&rk_pool.submit) != 0) {
        for (ptrdiff_t i = 0; i < count; i++) body(context, i);
        return;
    }
    while (rk_pool.helpers < wanted) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, rk_pool_helper, (void *)(ptrdiff_t)rk_pool.helpers);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        rk_pool.helpers++;
    }
    if (wanted > rk_pool.helpers) wanted = rk_pool.helpers;

    long generation = atomic_load(&rk_pool.generation);
    atomic_store(&rk_pool.generation, generation + 1);
    while (atomic_load(&rk_pool.busy) != 0) rk_relax();
    rk_pool.body = body;
    rk_pool.context = context;
    rk_pool.count = count;
    rk_pool.joining = wanted;
    atomic_store_explicit(&rk_pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&rk_pool.done, 0, memory_order_relaxed);
    atomic_store(&rk_pool.generation, generation + 2);
    if (atomic_load(&rk_pool.sleepers) > 0) {
        pthread_mutex_lock(&rk_pool.sleep);
        pthread_cond_broadcast(&rk_pool.wake);
        pthread_mutex_unlock(&rk_pool.sleep);
    }

    rk_pool_work(body, context, count);
    while (atomic_load_explicit(&rk_pool.done, memory_order_acquire) != count) rk_relax();
    pthread_mutex_unlock(&rk_pool.submit);
}
#endif
