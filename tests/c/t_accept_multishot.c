/* One multishot accept takes many clients (one AR_COMPLETION_MORE callback each); a cancel
 * ends it with exactly one final callback. */
#include "net.h"

static struct log log_;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    struct sockaddr_in addr;
    int l = listener(&addr);
    int64_t acc = ar_op_accept_multishot(r, l, SOCK_CLOEXEC, NULL, &log_, log_cb);
    CHECK(acc > 0);
    CHECK(ar_ring_submit(r) >= 0);
    enum { CLIENTS = 50 };
    int clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) clients[i] = dial(&addr);
    double t0 = now_s();
    while (log_.n < CLIENTS) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) > 0);
        CHECK(now_s() - t0 < 10);
    }
    for (int i = 0; i < CLIENTS; i++) {
        CHECK_EQ(log_.e[i].op, acc);
        CHECK(log_.e[i].flags & AR_COMPLETION_MORE);
        CHECK(log_.e[i].res >= 0);
        /* Each accepted fd is a distinct, connected socket. */
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        CHECK(getpeername(log_.e[i].res, (struct sockaddr *)&peer, &len) == 0);
        close(log_.e[i].res);
    }
    CHECK_EQ(log_finals(&log_, acc), 0);
    int64_t c = ar_op_cancel(r, acc, NULL, &log_, log_cb);
    CHECK(c > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 2);
    CHECK_EQ(log_finals(&log_, acc), 1);
    CHECK_EQ(log_res(&log_, acc), -ECANCELED);
    CHECK_EQ(log_res(&log_, c), 0);
    CHECK_EQ(ar_op_cancel(r, acc, NULL, &log_, log_cb), -ENOENT);
    for (int i = 0; i < CLIENTS; i++) close(clients[i]);
    close(l);
    ar_ring_free(r);
    return 0;
}
