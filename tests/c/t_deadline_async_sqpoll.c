/* A deadline ends an operation that runs in a kernel worker (AR_OP_ASYNC: a read of an empty
 * pipe) on an SQPOLL-backed ring, as on any other (guarantee 5). There the kernel's linked
 * timeout fires but answers -EALREADY: the read, interrupted in its worker, goes back to
 * polling and would live on; the library then cancels it itself, retried until it ends.
 * Found by the fuzzer once AR_RING_THREADSAFE became SQPOLL-backed (a 15 s hang). */
#include "harness.h"

static struct log log_;

static void rounds(uint32_t flags, uint32_t op_flags) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.flags = flags;
    cfg.sq_entries = 8;
    cfg.cq_entries = 8;
    for (int i = 0; i < 40; i++) {
        ar_ring *r = ring_or_skip(&cfg);
        int p[2];
        CHECK(pipe(p) == 0);
        char b[16];
        ar_op_opts o = {.timeout_ns = 5 * 1000 * 1000, .flags = op_flags};
        log_.n = 0;
        int64_t id = ar_op_read(r, p[0], b, sizeof b, 0, &o, &log_, log_cb);
        CHECK(id > 0);
        double t0 = now_s();
        CHECK_EQ(ar_ring_run(r, AR_RUN_UNTIL_DONE), 1);
        CHECK(now_s() - t0 < 2.0);
        CHECK_EQ(log_res(&log_, id), -ETIMEDOUT);
        CHECK(log_.e[0].flags & AR_COMPLETION_DEADLINE);
        ar_ring_free(r);
        close(p[0]);
        close(p[1]);
    }
}

int main(void) {
    alarm(50);
    uint32_t modes[] = {AR_RING_SQPOLL, AR_RING_THREADSAFE, AR_RING_THREADSAFE | AR_RING_SQPOLL, 0};
    for (unsigned m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        rounds(modes[m], AR_OP_ASYNC);
        rounds(modes[m], AR_OP_ASYNC | AR_OP_DRAIN);
    }
    return 0;
}
