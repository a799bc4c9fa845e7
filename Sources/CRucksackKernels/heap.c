#include "CRucksackKernels.h"

#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

int rk_keep_freed_memory(void) {
    // glibc serves large blocks with mmap and returns them with munmap, so a buffer freed in one
    // training step comes back as fresh, zero-filled pages in the next: a page fault per 4 KiB.
    // Serving every block from the heap and never trimming it keeps the pages for reuse.
    int ok = mallopt(M_MMAP_MAX, 0);
    ok = ok && mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    return ok ? 0 : -1;
}
#else
int rk_keep_freed_memory(void) { return -1; }
#endif
