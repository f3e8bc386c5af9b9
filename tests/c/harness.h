/* A tiny test harness: CHECK aborts the test with a located message; tests exit 0 (pass),
 * 77 (skip, with a reason) or 1 (fail). One scenario per program, like liburing's tests. */
#ifndef HARNESS_H
#define HARNESS_H

#define _GNU_SOURCE
#include <asyncring.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                   \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        if (a_ != b_) {                                                                  \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld (%s)\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, a_ < 0 ? ar_strerror((int)a_) : ""); \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* Creates a ring, or skips the test where io_uring is unavailable. Under CI
 * (ASYNCRING_REQUIRE_URING=1) unavailability is a failure, so nothing silently skips. */
static inline ar_ring *ring_or_skip(const ar_ring_config *config) {
    ar_ring *ring = NULL;
    int rc = ar_ring_new(config, &ring);
    if (rc < 0) {
        ar_probe probe;
        ar_ring_probe(&probe);
        if (getenv("ASYNCRING_REQUIRE_URING")) {
            fprintf(stderr, "FAIL: io_uring required: %s (%s)\n", ar_strerror(rc), probe.message);
            exit(1);
        }
        fprintf(stderr, "SKIP: io_uring unavailable: %s\n", probe.message);
        exit(77);
    }
    /* The suite runs on the backend it says it runs on (make test runs it on both). */
    const char *backend = getenv("ASYNCRING_BACKEND");
    int want = (backend && strcmp(backend, "fallback") == 0) || getenv("ASYNCRING_EXPECT_FALLBACK")
                   ? AR_BACKEND_FALLBACK
                   : AR_BACKEND_URING;
    if ((want == AR_BACKEND_FALLBACK || getenv("ASYNCRING_REQUIRE_URING")) && ar_ring_backend(ring) != want &&
        !(config && config->flags & (AR_RING_FORCE_FALLBACK | AR_RING_NO_FALLBACK))) {
        fprintf(stderr, "FAIL: the ring runs on backend %d, expected %d\n", ar_ring_backend(ring), want);
        exit(1);
    }
    return ring;
}

/* A completion log: userdata for `log_cb`. */
#define LOG_MAX 20000
struct seen {
    int64_t op;
    int32_t res;
    uint32_t flags;
};
struct log {
    struct seen e[LOG_MAX];
    int n;
};

static inline void log_cb(void *userdata, const ar_completion *c) {
    struct log *log = userdata;
    CHECK(log->n < LOG_MAX);
    log->e[log->n].op = c->op;
    log->e[log->n].res = c->res;
    log->e[log->n].flags = c->flags;
    log->n++;
}

/* How many final (non-MORE) completions `op` got. */
static inline int log_finals(const struct log *log, int64_t op) {
    int n = 0;
    for (int i = 0; i < log->n; i++)
        if (log->e[i].op == op && !(log->e[i].flags & AR_COMPLETION_MORE)) n++;
    return n;
}

/* The result of `op`'s final completion; fails the test when there is none. */
static inline int32_t log_res(const struct log *log, int64_t op) {
    for (int i = 0; i < log->n; i++)
        if (log->e[i].op == op && !(log->e[i].flags & AR_COMPLETION_MORE)) return log->e[i].res;
    fprintf(stderr, "no final completion for op %" PRId64 "\n", op);
    exit(1);
}

/* Runs the ring until nothing is in flight and returns the final result of `id`. */
static inline int32_t run_one(ar_ring *ring, struct log *log, int64_t id) {
    CHECK(id > 0);
    CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 1);
    return log_res(log, id);
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
