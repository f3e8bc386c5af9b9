/* A cancelled splice into a full pipe completes with -512 (-ERESTARTSYS, a kernel-internal
 * errno) instead of -ECANCELED/-EINTR. */
#define _GNU_SOURCE
#include <asyncring.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int32_t res_splice = 1, res_cancel = 1;
static void cb(void *ud, const ar_completion *c) { *(int32_t *)ud = c->res; }
int main(void) {
    ar_ring *r;
    if (ar_ring_new(NULL, &r)) return 1;
    char path[] = "/tmp/splice-XXXXXX";
    int f = mkstemp(path);
    unlink(path);
    static char data[65536];
    write(f, data, sizeof data);
    int p[2];
    pipe(p);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    while (write(p[1], data, sizeof data) > 0) {} /* fill the pipe */
    fcntl(p[1], F_SETFL, 0);
    int64_t id = ar_op_splice(r, f, 0, p[1], -1, 4096, 0, NULL, &res_splice, cb);
    ar_ring_submit(r);
    usleep(100 * 1000); /* the splice now blocks in an io-wq worker */
    ar_op_cancel(r, id, NULL, &res_cancel, cb);
    ar_ring_run(r, AR_RUN_UNTIL_DONE);
    printf("splice: %d (%s), cancel: %d\n", res_splice, ar_strerror(res_splice), res_cancel);
    ar_ring_free(r);
    return res_splice == -512;
}
