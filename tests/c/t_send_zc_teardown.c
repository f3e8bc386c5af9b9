/* Defect 7 (issue 11): zero-copy sends to a peer that does not read. The kernel keeps their
 * buffers until the peer reads or the connection goes away, and a cancel cannot end that;
 * ar_ring_free must still return in bounded time, with one final callback per send, and
 * the kernel must be done with every buffer by then (teardown aborts the connection). */
#include "net.h"

enum { SENDS = 8, SIZE = 1 << 20 };
static struct log log;

int main(void) {
    alarm(30);
    ar_ring *r = ring_or_skip(NULL);
    int client, server;
    tcp_pair(&client, &server);
    int small = 4096;
    setsockopt(server, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(client, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    unsigned char *buf = malloc(SIZE);
    CHECK(buf != NULL);
    memset(buf, 'z', SIZE);
    int64_t ids[SENDS];
    for (int i = 0; i < SENDS; i++) {
        ids[i] = ar_op_send_zc(r, client, buf, SIZE, 0, NULL, &log, log_cb);
        if (ids[i] == -EOPNOTSUPP || ids[i] == -EINVAL) {
            fprintf(stderr, "SKIP: send_zc unsupported: %s\n", ar_strerror((int)ids[i]));
            return 77;
        }
        CHECK(ids[i] > 0);
    }
    for (int i = 0; i < 20; i++) {
        CHECK(ar_ring_run(r, AR_RUN_NOWAIT) >= 0);
        usleep(5000);
    }
    /* The peer never reads: some sends are still the kernel's. */
    CHECK(ar_ring_inflight(r) > 0);
    double t0 = now_s();
    ar_ring_free(r);
    double took = now_s() - t0;
    fprintf(stderr, "ar_ring_free took %.3f s\n", took);
    CHECK(took < 5);
    for (int i = 0; i < SENDS; i++) CHECK_EQ(log_finals(&log, ids[i]), 1);
    /* Only now may the buffer go: the kernel no longer reads it. */
    memset(buf, 0, SIZE);
    free(buf);
    close(client);
    close(server);
    return 0;
}
