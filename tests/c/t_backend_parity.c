/* The fallback backend answers as io_uring does where a caller can tell the difference
 * (issue 13; the suite runs on both backends): a cancel by fd with AR_CANCEL_ALL that finds
 * nothing succeeds with 0; a receive or send the caller made non-blocking (MSG_DONTWAIT)
 * completes at once with -EAGAIN instead of waiting; and a fallback ring on a thread that
 * used an io_uring ring (whose task work the kernel may still deliver to that thread, which
 * interrupts an epoll wait) still waits until its work is done. */
#include "harness.h"
#include <sys/socket.h>

static struct log log_;

static void one_ring_then_fallback(void) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    for (int i = 0; i < 5; i++) {
        cfg.flags = AR_RING_NO_FALLBACK;
        ar_ring *u = NULL;
        if (ar_ring_new(&cfg, &u) == 0) { /* where io_uring works: use one, then drop it */
            CHECK(ar_op_nop(u, NULL, &log_, log_cb) > 0);
            CHECK(ar_ring_run(u, AR_RUN_UNTIL_DONE) >= 1);
            ar_ring_free(u);
        }
        cfg.flags = AR_RING_FORCE_FALLBACK;
        ar_ring *f = NULL;
        CHECK_EQ(ar_ring_new(&cfg, &f), 0);
        CHECK_EQ(ar_ring_backend(f), AR_BACKEND_FALLBACK);
        int64_t t = ar_op_timeout(f, 30 * 1000 * 1000, NULL, &log_, log_cb);
        CHECK(t > 0);
        double t0 = now_s();
        CHECK_EQ(ar_ring_run(f, AR_RUN_UNTIL_DONE), 1);
        CHECK_EQ(ar_ring_inflight(f), 0);
        CHECK_EQ(log_res(&log_, t), 0);
        CHECK(now_s() - t0 >= 0.025);
        ar_ring_free(f);
    }
}

int main(void) {
    alarm(30);
    ar_ring *r = ring_or_skip(NULL);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

    /* AR_CANCEL_ALL on an fd nothing waits on: 0 cancelled. */
    int64_t c = ar_op_cancel_fd(r, sv[0], AR_CANCEL_ALL, NULL, &log_, log_cb);
    CHECK(c > 0);
    CHECK_EQ(run_one(r, &log_, c), 0);

    /* MSG_DONTWAIT on an empty socket: -EAGAIN at once, even with a deadline pending. */
    char buf[64];
    ar_op_opts deadline = {.timeout_ns = 5ull * 1000 * 1000 * 1000};
    double t0 = now_s();
    int64_t rv = ar_op_recv(r, sv[0], buf, sizeof buf, MSG_DONTWAIT, &deadline, &log_, log_cb);
    CHECK(rv > 0);
    CHECK_EQ(run_one(r, &log_, rv), -EAGAIN);
    CHECK(now_s() - t0 < 1.0);

    /* MSG_DONTWAIT on a full socket: -EAGAIN too; without it the send waits for room. */
    static char big[1 << 16];
    int sndbuf = 4096;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
    while (send(sv[1], big, sizeof big, MSG_DONTWAIT) > 0) {}
    int64_t sd = ar_op_send(r, sv[1], big, sizeof big, MSG_DONTWAIT, NULL, &log_, log_cb);
    CHECK(sd > 0);
    CHECK_EQ(run_one(r, &log_, sd), -EAGAIN);
    ar_ring_free(r);
    close(sv[0]);
    close(sv[1]);

    one_ring_then_fallback();
    return 0;
}
