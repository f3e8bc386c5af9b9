/* ar_ring_free of a thread-safe ring with chains in flight (timer -> nop, AR_OP_LINK):
 * every operation ends with its result or -ECANCELED, never -EFAULT. The kernel runs a
 * request's next step (issuing the rest of a chain, a poll wake-up) as task work on the
 * thread that submitted it, and fails it with -EFAULT once that thread has exited; teardown
 * therefore joins the ring's submitter thread only when the kernel owes nothing. Found by
 * the torture test. */
#include "harness.h"

static int efault, other, finals;

static void cb(void *userdata, const ar_completion *c) {
    (void)userdata;
    finals++;
    if (c->res == -EFAULT) efault++;
    else if (c->res < 0 && c->res != -ECANCELED) {
        other++;
        fprintf(stderr, "unexpected result %d (%s)\n", c->res, ar_strerror(c->res));
    }
}

int main(void) {
    alarm(50);
    /* The default thread-safe ring (SQPOLL-backed), explicit SQPOLL, and the submitter
     * thread used where SQPOLL cannot be set up. */
    uint32_t modes[] = {AR_RING_THREADSAFE, AR_RING_THREADSAFE | AR_RING_SQPOLL, AR_RING_THREADSAFE};
    for (int m = 0; m < 3; m++) {
        if (m == 2) setenv("ASYNCRING_THREADSAFE_SUBMITTER", "1", 1);
        for (int round = 0; round < 60; round++) {
            ar_ring_config cfg;
            ar_ring_config_default(&cfg);
            cfg.flags = modes[m];
            ar_ring *ring = ring_or_skip(&cfg);
            ar_op_opts link = {.flags = AR_OP_LINK};
            finals = 0;
            for (int i = 0; i < 64; i++) {
                CHECK(ar_op_timeout(ring, 30000ull * (uint64_t)i, &link, NULL, cb) > 0);
                CHECK(ar_op_nop(ring, NULL, NULL, cb) > 0);
            }
            CHECK(ar_ring_submit(ring) >= 0);
            usleep(1000); /* about half of the timers fire before teardown */
            ar_ring_free(ring);
            CHECK_EQ(finals, 128);
        }
    }
    fprintf(stderr, "-EFAULT: %d, other errors: %d\n", efault, other);
    CHECK_EQ(efault, 0);
    CHECK_EQ(other, 0);
    return 0;
}
