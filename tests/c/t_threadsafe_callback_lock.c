/* A thread-safe ring lets other threads queue while a callback runs: the ring is released
 * during callbacks. Otherwise a program whose callback takes a lock that a queueing thread
 * holds around its ar_op_* call (a common pattern) deadlocks. Found by the torture test. */
#include "harness.h"
#include <pthread.h>

static pthread_mutex_t app = PTHREAD_MUTEX_INITIALIZER;
static ar_ring *ring;
static volatile int in_callback, queued;
static int64_t other_id;

static void slow_cb(void *userdata, const ar_completion *c) {
    (void)userdata;
    (void)c;
    in_callback = 1;
    usleep(50 * 1000); /* the other thread takes the app lock and queues meanwhile */
    pthread_mutex_lock(&app);
    pthread_mutex_unlock(&app);
}

static void nop_cb(void *userdata, const ar_completion *c) {
    (void)userdata;
    CHECK_EQ(c->res, 0);
}

static void *queuer(void *arg) {
    (void)arg;
    while (!in_callback) usleep(500);
    pthread_mutex_lock(&app);
    other_id = ar_op_nop(ring, NULL, NULL, nop_cb); /* must not wait for slow_cb */
    pthread_mutex_unlock(&app);
    queued = 1;
    return NULL;
}

static void scenario(uint32_t flags) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.flags = flags;
    ring = ring_or_skip(&cfg);
    in_callback = queued = 0;
    CHECK(ar_op_nop(ring, NULL, NULL, slow_cb) > 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, queuer, NULL) == 0);
    CHECK(ar_ring_run(ring, AR_RUN_ONCE) >= 1);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(queued);
    CHECK(other_id > 0);
    CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 0);
    CHECK_EQ(ar_ring_inflight(ring), 0);
    ar_ring_free(ring);
}

int main(void) {
    alarm(20); /* a deadlock fails the test */
    scenario(AR_RING_THREADSAFE);
    scenario(AR_RING_THREADSAFE | AR_RING_SQPOLL);
    setenv("ASYNCRING_THREADSAFE_SUBMITTER", "1", 1); /* the submitter-thread driver */
    scenario(AR_RING_THREADSAFE);
    return 0;
}
