/* Defect 10 (issue 11, guarantee 5): on SQPOLL rings (and the others) a cancel of a live
 * AR_OP_ASYNC pipe read must reach it: the kernel may briefly not find a request that moves
 * from its worker queue to a worker, and then the library retries. A read that is never
 * cancelled would block forever (nothing is written), so a lost cancel hangs the test. */
#include "harness.h"

static struct log log;

static void rounds(uint32_t flags, int n) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.flags = flags;
    ar_ring *r = ring_or_skip(&cfg);
    int fds[2];
    CHECK(pipe(fds) == 0);
    char buf[8];
    ar_op_opts async = {.flags = AR_OP_ASYNC};
    for (int i = 0; i < n; i++) {
        log.n = 0;
        int64_t rd = ar_op_read(r, fds[0], buf, sizeof buf, UINT64_MAX, &async, &log, log_cb);
        CHECK(rd > 0);
        if (i % 2) CHECK(ar_ring_submit(r) >= 0);
        if (i % 3 == 0) usleep(50);
        int64_t c = ar_op_cancel(r, rd, NULL, &log, log_cb);
        CHECK(c > 0);
        CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 2);
        CHECK_EQ(log_finals(&log, rd), 1);
        CHECK_EQ(log_finals(&log, c), 1);
        int32_t res = log_res(&log, rd);
        CHECK(res == -ECANCELED || res == -EINTR);
        int32_t cres = log_res(&log, c);
        if (cres != 0 && cres != -EALREADY) fprintf(stderr, "flags %#x round %d: cancel %d, read %d\n", flags, i, cres, res);
        CHECK(cres == 0 || cres == -EALREADY);
    }
    close(fds[0]);
    close(fds[1]);
    ar_ring_free(r);
}

int main(void) {
    alarm(50);
    rounds(AR_RING_SQPOLL, 1500);
    rounds(0, 1500);
    rounds(AR_RING_SINGLE_THREAD, 500);
    return 0;
}
