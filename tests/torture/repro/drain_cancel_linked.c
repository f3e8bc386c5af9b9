/* Found by the torture test (stalls with drains, links and cancels): a cancel of a linked
 * operation that waits behind an AR_OP_DRAIN never completes, and the drain never lets
 * anything through again, even after everything queued before it has completed.
 *   read1 (a pipe with no data)  |  nop + AR_OP_DRAIN  |  read2 + AR_OP_LINK -> nop
 *   ar_op_cancel(read2)  (read2 is held behind the drain), then ar_op_cancel(read1)
 * Expected within 1 s: read1 -ECANCELED, the drained nop 0, read2 -ECANCELED, the nop after
 * it -ECANCELED (broken link), both cancels 0; nothing in flight.
 * Seen: the drained nop, read2, the nop after it and the cancel of read2 stay in flight
 * until ar_ring_free. Without AR_OP_LINK on read2 it works. Exit 0 = fixed, 1 = stuck. */
#include <asyncring.h>
#include <stdio.h>
#include <unistd.h>

static void cb(void *ud, const ar_completion *c) { printf("  %-13s res %d\n", (const char *)ud, c->res); }

int main(void) {
    ar_ring *r;
    if (ar_ring_new(NULL, &r)) return 2;
    int p[2];
    if (pipe(p)) return 2;
    static char b1[8], b2[8];
    int64_t rd1 = ar_op_read(r, p[0], b1, 1, UINT64_MAX, NULL, "read1", cb);
    ar_op_opts drain = {.flags = AR_OP_DRAIN};
    ar_op_nop(r, &drain, "drained nop", cb);
    ar_op_opts link = {.flags = AR_OP_LINK};
    int64_t rd2 = ar_op_read(r, p[0], b2, 1, UINT64_MAX, &link, "read2", cb);
    ar_op_nop(r, NULL, "nop after", cb);
    ar_ring_submit(r);
    ar_op_cancel(r, rd2, NULL, "cancel read2", cb);
    ar_ring_run(r, AR_RUN_NOWAIT);
    ar_op_cancel(r, rd1, NULL, "cancel read1", cb);
    for (int i = 0; i < 20 && ar_ring_inflight(r); i++) {
        ar_ring_run(r, AR_RUN_NOWAIT);
        usleep(50 * 1000);
    }
    unsigned left = ar_ring_inflight(r);
    printf("in flight after 1 s: %u%s\n", left, left ? " (stuck; ar_ring_free ends them:)" : "");
    ar_ring_free(r);
    return left ? 1 : 0;
}
