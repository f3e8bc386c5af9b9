/* Two threads on one ring: the second gets -EBUSY (docs/DESIGN.md, guarantee 6); ar_ring_post works from any
 * thread and wakes a ring blocked in ar_ring_run (docs/DESIGN.md, "Threading"). */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>

static struct log log_;
static ar_ring *ring_;
static atomic_int busy_seen, posts_run;
static atomic_int in_run;

static void *intruder(void *arg) {
    (void)arg;
    while (!atomic_load(&in_run)) usleep(100);
    usleep(20000);
    if (ar_op_nop(ring_, NULL, &log_, log_cb) == -EBUSY) atomic_fetch_add(&busy_seen, 1);
    if (ar_ring_submit(ring_) == -EBUSY) atomic_fetch_add(&busy_seen, 1);
    if (ar_ring_run(ring_, AR_RUN_NOWAIT) == -EBUSY) atomic_fetch_add(&busy_seen, 1);
    return NULL;
}

static void on_post(void *userdata) {
    (void)userdata;
    atomic_fetch_add(&posts_run, 1);
}

static void *poster(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) CHECK_EQ(ar_ring_post(ring_, NULL, on_post), 0);
    return NULL;
}

int main(void) {
    ring_ = ring_or_skip(NULL);
    int64_t timer = ar_op_timeout(ring_, 100 * 1000000ull, NULL, &log_, log_cb);
    CHECK(timer > 0);
    pthread_t t;
    pthread_create(&t, NULL, intruder, NULL);
    atomic_store(&in_run, 1);
    CHECK_EQ(ar_ring_run(ring_, AR_RUN_UNTIL_DONE), 1);
    pthread_join(t, NULL);
    CHECK_EQ(atomic_load(&busy_seen), 3);
    CHECK_EQ(log_.n, 1);

    /* Posts from four threads while the ring blocks on a 10 s timer: all 400 run, and a
     * blocked ONCE returns as soon as posted work arrives. */
    int64_t long_timer = ar_op_timeout(ring_, 10ull * 1000000000ull, NULL, &log_, log_cb);
    CHECK(long_timer > 0);
    pthread_t p[4];
    for (int i = 0; i < 4; i++) pthread_create(&p[i], NULL, poster, NULL);
    double t0 = now_s();
    while (atomic_load(&posts_run) < 400) CHECK(ar_ring_run(ring_, AR_RUN_ONCE) > 0);
    CHECK(now_s() - t0 < 5.0);
    for (int i = 0; i < 4; i++) pthread_join(p[i], NULL);
    CHECK_EQ(ar_op_cancel(ring_, long_timer, NULL, &log_, log_cb) > 0, 1);
    CHECK(ar_ring_run(ring_, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(log_res(&log_, long_timer), -ECANCELED);
    /* Work posted and never run before free runs during free. */
    CHECK_EQ(ar_ring_post(ring_, NULL, on_post), 0);
    ar_ring_free(ring_);
    CHECK_EQ(atomic_load(&posts_run), 401);
    return 0;
}
