/* ar_ring_free with multishot operations armed (accept, receive, a receive parked for lack
 * of buffers, poll) and a zero-copy send in flight: every id gets exactly one final
 * callback, then memory is freed (checked by AddressSanitizer). Buffer groups may be freed
 * before their ring (deferred while in use) or after it (orphaned): both are safe. */
#include "net.h"

static struct log log_;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    ar_bufgroup *early, *late;
    CHECK_EQ(ar_bufgroup_new(r, 2, 64, &early), 0);
    CHECK_EQ(ar_bufgroup_new(r, 4, 64, &late), 0);
    struct sockaddr_in addr;
    int l = listener(&addr);
    int c1, s1, c2, s2, c3, s3;
    tcp_pair(&c1, &s1);
    tcp_pair(&c2, &s2);
    tcp_pair(&c3, &s3);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    ar_op_opts rearm = {.flags = AR_OP_REARM};
    int64_t ids[6];
    ids[0] = ar_op_accept_multishot(r, l, 0, NULL, &log_, log_cb);
    ids[1] = ar_op_recv_multishot(r, s1, late, 0, NULL, &log_, log_cb);
    ids[2] = ar_op_recv_multishot(r, s2, early, 0, &rearm, &log_, log_cb); /* will park */
    ids[3] = ar_op_poll_multishot(r, pfd[0], POLLIN, NULL, &log_, log_cb);
    static unsigned char zc[4096];
    ids[4] = ar_op_send_zc(r, s3, zc, sizeof zc, 0, NULL, &log_, log_cb);
    ids[5] = ar_op_recv_multishot(r, s3, early, 0, NULL, &log_, log_cb);
    for (int i = 0; i < 6; i++) CHECK(ids[i] > 0);
    CHECK(ar_ring_submit(r) >= 0);
    /* Drain `early` so the rearm receive parks: 2 buffers, never recycled. */
    static char burst[8192];
    CHECK(write(c2, burst, sizeof burst) == (ssize_t)sizeof burst);
    for (int i = 0; i < 20; i++) ar_ring_run(r, AR_RUN_NOWAIT), usleep(1000);
    CHECK_EQ(log_finals(&log_, ids[2]), 0); /* parked, not ended */

    ar_bufgroup_free(early); /* in use: deferred, its users are cancelled */
    ar_ring_free(r);
    for (int i = 0; i < 6; i++) CHECK_EQ(log_finals(&log_, ids[i]), 1);
    CHECK_EQ(log_res(&log_, ids[2]), -ECANCELED);
    ar_bufgroup_free(late);  /* after its ring: orphaned memory freed now */
    ar_bufgroup_free(NULL);
    close(l);
    close(c1); close(s1); close(c2); close(s2); close(c3); close(s3);
    close(pfd[0]);
    close(pfd[1]);
    return 0;
}
