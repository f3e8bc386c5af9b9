/* Defect 4 (issue 11): a timer that fires succeeds (res 0), so an operation linked behind it
 * runs instead of being cancelled. A timer cancelled early breaks the link as a failure. */
#include "harness.h"

static struct log log;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    ar_op_opts link = {.flags = AR_OP_LINK};
    int64_t t = ar_op_timeout(r, 1000000, &link, &log, log_cb);
    int64_t n = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(t > 0 && n > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 2);
    CHECK_EQ(log_res(&log, t), 0);
    CHECK_EQ(log_res(&log, n), 0);

    /* A chain of timers: each fires, the last link runs. */
    int64_t t1 = ar_op_timeout(r, 500000, &link, &log, log_cb);
    int64_t t2 = ar_op_timeout(r, 500000, &link, &log, log_cb);
    int fds[2];
    CHECK(pipe(fds) == 0);
    int64_t w = ar_op_write(r, fds[1], "ok", 2, UINT64_MAX, NULL, &log, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 3);
    CHECK_EQ(log_res(&log, t1), 0);
    CHECK_EQ(log_res(&log, t2), 0);
    CHECK_EQ(log_res(&log, w), 2);

    /* Cancelled before it fires: the link is broken. */
    int64_t t3 = ar_op_timeout(r, 10000000000ull, &link, &log, log_cb);
    int64_t n3 = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(ar_ring_submit(r) >= 0);
    int64_t c = ar_op_cancel(r, t3, NULL, &log, log_cb);
    CHECK(c > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 3);
    CHECK_EQ(log_res(&log, t3), -ECANCELED);
    CHECK_EQ(log_res(&log, n3), -ECANCELED);
    CHECK_EQ(log_res(&log, c), 0);
    close(fds[0]);
    close(fds[1]);
    ar_ring_free(r);
    return 0;
}
