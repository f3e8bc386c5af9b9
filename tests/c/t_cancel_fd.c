/* Cancel by file descriptor: one, or all with AR_CANCEL_ALL; each target gets exactly one
 * final -ECANCELED; the cancel's result counts them. */
#include "harness.h"

static struct log log_;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    int fds[2];
    CHECK(pipe(fds) == 0);
    char bufs[5][8];
    int64_t ids[5];
    for (int i = 0; i < 5; i++) CHECK((ids[i] = ar_op_read(r, fds[0], bufs[i], 8, UINT64_MAX, NULL, &log_, log_cb)) > 0);
    CHECK(ar_ring_submit(r) >= 0);
    int64_t one = ar_op_cancel_fd(r, fds[0], 0, NULL, &log_, log_cb);
    CHECK(one > 0);
    CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 1);
    while (log_finals(&log_, one) == 0) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_res(&log_, one), 0);
    CHECK_EQ(ar_ring_inflight(r), 4);
    int64_t all = ar_op_cancel_fd(r, fds[0], AR_CANCEL_ALL, NULL, &log_, log_cb);
    CHECK(all > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(log_res(&log_, all), 4);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(log_finals(&log_, ids[i]), 1);
        CHECK_EQ(log_res(&log_, ids[i]), -ECANCELED);
    }
    CHECK_EQ(ar_ring_inflight(r), 0);
    ar_ring_free(r);
    close(fds[0]);
    close(fds[1]);
    return 0;
}
