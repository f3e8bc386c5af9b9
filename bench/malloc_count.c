/* LD_PRELOAD shim counting heap allocations (malloc, calloc, realloc, aligned forms) of a
 * process; writes "ALLOCS n" to the file named by $MALLOC_COUNT_OUT at exit. Used by
 * `make bench` to report allocations per operation (two runs of different lengths: the
 * difference divided by the extra operations is the per-operation figure). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ulong count;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n) { atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    void *p = __libc_memalign(a, n);
    if (!p) return 12;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t a, size_t n) { atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); return __libc_memalign(a, n); }

__attribute__((destructor)) static void report(void) {
    const char *out = getenv("MALLOC_COUNT_OUT");
    if (!out) return;
    FILE *f = fopen(out, "w");
    if (f) {
        fprintf(f, "ALLOCS %lu\n", (unsigned long)atomic_load(&count));
        fclose(f);
    }
}
