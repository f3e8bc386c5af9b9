/* A deadline completes with -ETIMEDOUT, a cancel with -ECANCELED (docs/DESIGN.md, guarantee 5); the deadline
 * timer's own CQE never reaches the user; a deadline that does not fire changes nothing. */
#include "harness.h"

static struct log log_;

int main(void) {
    ar_ring *ring = ring_or_skip(NULL);
    int fds[2];
    CHECK(pipe(fds) == 0);
    char a[8], b[8], c[8];
    ar_op_opts deadline = {.timeout_ns = 20 * 1000000ull};
    ar_op_opts late = {.timeout_ns = 10ull * 1000000000ull};
    int64_t timed = ar_op_read(ring, fds[0], a, sizeof a, UINT64_MAX, &deadline, &log_, log_cb);
    int64_t cancelled = ar_op_read(ring, fds[0], b, sizeof b, UINT64_MAX, NULL, &log_, log_cb);
    int64_t nop = ar_op_nop(ring, &late, &log_, log_cb);
    CHECK(timed > 0 && cancelled > 0 && nop > 0);
    CHECK(ar_ring_submit(ring) >= 0);
    int64_t cancel = ar_op_cancel(ring, cancelled, NULL, &log_, log_cb);
    CHECK(cancel > 0);
    double t0 = now_s();
    CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 0);
    CHECK(now_s() - t0 < 5.0);
    CHECK_EQ(log_res(&log_, timed), -ETIMEDOUT);
    CHECK_EQ(log_res(&log_, cancelled), -ECANCELED);
    CHECK_EQ(log_res(&log_, cancel), 0);
    CHECK_EQ(log_res(&log_, nop), 0);
    CHECK_EQ(log_.n, 4);
    /* A read whose data arrives before its deadline completes with the data. */
    int64_t ok = ar_op_read(ring, fds[0], c, sizeof c, UINT64_MAX, &late, &log_, log_cb);
    CHECK(write(fds[1], "hi", 2) == 2);
    CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(log_res(&log_, ok), 2);
    CHECK(memcmp(c, "hi", 2) == 0);
    /* A timer with a shorter deadline: the deadline wins. */
    int64_t t = ar_op_timeout(ring, 10ull * 1000000000ull, &deadline, &log_, log_cb);
    CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(log_res(&log_, t), -ETIMEDOUT);
    ar_ring_free(ring);
    close(fds[0]);
    close(fds[1]);
    return 0;
}
