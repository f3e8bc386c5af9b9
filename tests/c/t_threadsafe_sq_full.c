/* Regression (found by the fuzzer once AR_RING_THREADSAFE was backed by the kernel's polling
 * thread; tests/fuzz/regressions/threadsafe-once-sq-full-*): on a thread-safe SQPOLL ring an
 * operation that found the submission queue full waited in the ring's backlog, and nothing
 * moved it once the kernel's polling thread had emptied the queue: there no enter consumes
 * the queue (the poller does, at its own pace), and an enter's 0 (nothing left in the queue:
 * the poller took it all) was read as "the kernel took nothing", which ended the flush; a
 * queueing thread only woke the poller. ar_ring_run(AR_RUN_ONCE) then waited in the kernel
 * for a completion of an operation the kernel had never seen.
 *
 * With one submission-queue slot (the ring's own wake-up read takes it at creation), each
 * scenario's 0.1 ms timer must complete well within a second:
 *   - queued by the thread that runs the ring, right after ar_ring_new;
 *   - queued by another thread, right behind a long timer, while the ring's thread already
 *     waits in ar_ring_run(AR_RUN_ONCE).
 * For every thread-safe driver (SQPOLL-backed by default, explicit SQPOLL, the submitter
 * thread). Before the fix each SQPOLL-backed case failed within ten rounds (the second
 * scenario in its first). */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

#define ROUNDS 150
#define LIMIT_NS (1000ull * 1000 * 1000) /* a 0.1 ms timer is late after this */
#define SHORT_NS (100ull * 1000)
#define LONG_NS (30ull * 1000 * 1000 * 1000)

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void count_cb(void *userdata, const ar_completion *c) {
    (void)c;
    atomic_fetch_add((atomic_int *)userdata, 1);
}

/* Ends a wait the library failed to end: posts to the ring after LIMIT_NS. */
struct watchdog {
    ar_ring *ring;
    atomic_int done;
    atomic_int fired;
    pthread_t thread;
};

static void nothing(void *userdata) { (void)userdata; }

static void *watchdog_main(void *arg) {
    struct watchdog *w = arg;
    uint64_t start = now_ns();
    while (!atomic_load(&w->done)) {
        if (now_ns() - start > LIMIT_NS) {
            atomic_store(&w->fired, 1);
            CHECK_EQ(ar_ring_post(w->ring, NULL, nothing), 0);
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

static void watchdog_arm(struct watchdog *w, ar_ring *ring) {
    w->ring = ring;
    atomic_store(&w->done, 0);
    atomic_store(&w->fired, 0);
    CHECK_EQ(pthread_create(&w->thread, NULL, watchdog_main, w), 0);
}

static int watchdog_disarm(struct watchdog *w) {
    atomic_store(&w->done, 1);
    CHECK_EQ(pthread_join(w->thread, NULL), 0);
    return atomic_load(&w->fired);
}

static ar_ring *one_slot_ring(uint32_t flags) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.sq_entries = 1;
    cfg.cq_entries = 1;
    cfg.flags = flags;
    return ring_or_skip(&cfg);
}

/* The ring's own thread queues the timer right after creating the ring. */
static void own_thread(uint32_t flags, const char *name) {
    for (int round = 0; round < ROUNDS; round++) {
        ar_ring *r = one_slot_ring(flags);
        atomic_int fired = 0;
        CHECK(ar_op_timeout(r, SHORT_NS, NULL, &fired, count_cb) > 0);
        struct watchdog w;
        watchdog_arm(&w, r);
        uint64_t t0 = now_ns();
        int rc = ar_ring_run(r, AR_RUN_ONCE);
        if (watchdog_disarm(&w)) {
            fprintf(stderr, "FAIL (%s, round %d): ar_ring_run(ONCE) blocked %llu ms with a 0.1 ms timer queued\n",
                    name, round, (unsigned long long)((now_ns() - t0) / 1000000));
            exit(1);
        }
        CHECK(rc >= 1);
        CHECK_EQ(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 0, 1);
        CHECK_EQ(atomic_load(&fired), 1);
        ar_ring_free(r);
    }
}

struct other {
    ar_ring *ring;
    atomic_int *fired;
    int64_t long_id;
};

static void *other_main(void *arg) {
    struct other *o = arg;
    usleep(2000); /* let the ring's thread settle into its wait */
    o->long_id = ar_op_timeout(o->ring, LONG_NS, NULL, o->fired, count_cb);
    CHECK(o->long_id > 0);
    /* Right behind it: the only slot is likely still taken, so this one waits in the backlog. */
    CHECK(ar_op_timeout(o->ring, SHORT_NS, NULL, o->fired, count_cb) > 0);
    return NULL;
}

/* Another thread queues while the ring's thread waits in AR_RUN_ONCE for a long timer. */
static void other_thread(uint32_t flags, const char *name) {
    for (int round = 0; round < ROUNDS / 3; round++) {
        ar_ring *r = one_slot_ring(flags);
        atomic_int fired = 0;
        int64_t first = ar_op_timeout(r, LONG_NS, NULL, &fired, count_cb);
        CHECK(first > 0);
        CHECK_EQ(ar_ring_submit(r) >= 0, 1);
        struct other o = {.ring = r, .fired = &fired};
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, other_main, &o), 0);
        struct watchdog w;
        watchdog_arm(&w, r);
        uint64_t t0 = now_ns();
        /* ONCE returns after the 0.1 ms timer (or, before the fix, the watchdog's post). */
        while (atomic_load(&fired) == 0 && !atomic_load(&w.fired)) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        if (watchdog_disarm(&w) && atomic_load(&fired) == 0) {
            fprintf(stderr, "FAIL (%s, round %d): a 0.1 ms timer queued by another thread had not completed after %llu ms\n",
                    name, round, (unsigned long long)((now_ns() - t0) / 1000000));
            exit(1);
        }
        CHECK_EQ(pthread_join(t, NULL), 0);
        atomic_int cancels = 0;
        CHECK_EQ(ar_op_cancel(r, first, NULL, &cancels, count_cb) > 0, 1);
        CHECK_EQ(ar_op_cancel(r, o.long_id, NULL, &cancels, count_cb) > 0, 1);
        CHECK_EQ(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 0, 1);
        ar_ring_free(r);
    }
}

int main(void) {
    alarm(50); /* a hang the watchdogs cannot end fails the test */
    own_thread(AR_RING_THREADSAFE, "THREADSAFE");
    own_thread(AR_RING_THREADSAFE | AR_RING_SQPOLL, "THREADSAFE|SQPOLL");
    other_thread(AR_RING_THREADSAFE, "THREADSAFE");
    other_thread(AR_RING_THREADSAFE | AR_RING_SQPOLL, "THREADSAFE|SQPOLL");
    setenv("ASYNCRING_THREADSAFE_SUBMITTER", "1", 1); /* the submitter-thread driver */
    own_thread(AR_RING_THREADSAFE, "THREADSAFE (submitter)");
    other_thread(AR_RING_THREADSAFE, "THREADSAFE (submitter)");
    return 0;
}
