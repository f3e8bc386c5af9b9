/* Defect 8 (issue 11): a zero-copy send linked behind an operation that fails is cancelled
 * by the kernel with a final CQE (no F_MORE), and the kernel still posts a notification for
 * it afterwards. That stray notification must neither reach the user nor disturb the
 * operation that reuses the record: every id gets exactly one final callback. */
#include "net.h"

static struct log log;

int main(void) {
    alarm(20);
    ar_ring *r = ring_or_skip(NULL);
    int client, server;
    tcp_pair(&client, &server);
    int closed = dup(client);
    CHECK(closed >= 0);
    close(closed); /* a valid number, but no open file: the kernel fails the read */
    char in[16];
    static char out[4096];
    memset(out, 'q', sizeof out);
    ar_op_opts link = {.flags = AR_OP_LINK};
    int64_t ids[3 * 64];
    int n = 0;
    for (int round = 0; round < 64; round++) {
        int64_t bad = ar_op_read(r, closed, in, sizeof in, 0, &link, &log, log_cb);
        int64_t zc = ar_op_send_zc(r, client, out, sizeof out, 0, NULL, &log, log_cb);
        if (zc == -EOPNOTSUPP || zc == -EINVAL) {
            fprintf(stderr, "SKIP: send_zc unsupported\n");
            return 77;
        }
        int64_t nop = ar_op_nop(r, NULL, &log, log_cb);
        CHECK(bad > 0 && zc > 0 && nop > 0);
        ids[n++] = bad;
        ids[n++] = zc;
        ids[n++] = nop;
        CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 3);
        CHECK_EQ(log_res(&log, bad), -EBADF);
        CHECK_EQ(log_res(&log, zc), -ECANCELED);
        CHECK_EQ(log_res(&log, nop), 0);
    }
    /* Let stray notifications arrive, then reuse the records with plain operations. */
    usleep(20000);
    int before = log.n;
    for (int i = 0; i < 64; i++) CHECK(ar_op_nop(r, NULL, &log, log_cb) > 0);
    CHECK_EQ(ar_ring_run(r, AR_RUN_UNTIL_DONE), 64);
    CHECK_EQ(log.n, before + 64);
    for (int i = 0; i < n; i++) CHECK_EQ(log_finals(&log, ids[i]), 1);
    for (int i = 0; i < log.n; i++) CHECK(!(log.e[i].flags & AR_COMPLETION_MORE));
    ar_ring_free(r);
    close(client);
    close(server);
    return 0;
}
