/* A splice blocked in a kernel worker (into a full pipe) and then cancelled must complete
 * with -ECANCELED (or -EINTR), never with the kernel's internal -ERESTARTSYS (-512), which
 * the kernel reports there. Found by the torture test. */
#include "harness.h"
#include <fcntl.h>

static struct log log;

int main(void) {
    alarm(20);
    ar_ring *r = ring_or_skip(NULL);
    char path[] = "/tmp/asyncring-splice-XXXXXX";
    int f = mkstemp(path);
    CHECK(f >= 0);
    unlink(path);
    static char data[65536];
    CHECK_EQ(write(f, data, sizeof data), (ssize_t)sizeof data);
    for (int round = 0; round < 3; round++) {
        int p[2];
        CHECK(pipe(p) == 0);
        CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
        while (write(p[1], data, sizeof data) > 0) {} /* fill the pipe */
        CHECK(fcntl(p[1], F_SETFL, 0) == 0);
        log.n = 0;
        int64_t id = ar_op_splice(r, f, 0, p[1], -1, 4096, 0, NULL, &log, log_cb);
        CHECK(id > 0);
        CHECK(ar_ring_submit(r) >= 0);
        usleep(50 * 1000); /* the splice now blocks in an io-wq worker */
        int64_t c = ar_op_cancel(r, id, NULL, &log, log_cb);
        CHECK(c > 0);
        CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 2);
        int32_t res = log_res(&log, id);
        if (res != -ECANCELED && res != -EINTR) {
            fprintf(stderr, "splice completed with %d (%s)\n", res, ar_strerror(res));
            exit(1);
        }
        close(p[0]);
        close(p[1]);
    }
    close(f);
    ar_ring_free(r);
    return 0;
}
