/* Known defect (found by the fuzzer): a deadline on ar_op_poll_multishot of an always-ready
 * fd never ends the stream; the callbacks (AR_COMPLETION_MORE) go on forever, so
 * ar_ring_run(AR_RUN_UNTIL_DONE) never returns (on every kind of ring: pass the flags as argv[1]).
 *
 *   cc -Ibuild/prefix/include tests/fuzz/known/poll-multishot-deadline.c \
 *      -Lbuild/prefix/lib -lasyncring -Wl,-rpath,$PWD/build/prefix/lib -o /tmp/pollms && /tmp/pollms */
#include <asyncring.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static long n;
static int final_res = 1;
static void cb(void *u, const ar_completion *c) { (void)u; n++; if (!(c->flags & AR_COMPLETION_MORE)) final_res = c->res; }
static void on_alarm(int s) { (void)s; static const char m[] = "FAIL: 3 s after a 1 ms deadline the multishot poll still runs\n"; if (write(2, m, sizeof m - 1)) {} _exit(1); }
int main(int argc, char **argv) {
    ar_ring_config cfg = {0};
    cfg.flags = argc > 1 ? (uint32_t)atoi(argv[1]) : 0;
    ar_ring *r;
    if (ar_ring_new(&cfg, &r) != 0) return 77;
    int fd = open("/dev/null", O_WRONLY);
    ar_op_opts o = {.timeout_ns = 1000000};
    if (ar_op_poll_multishot(r, fd, POLLOUT, &o, NULL, cb) <= 0) return 2;
    signal(SIGALRM, on_alarm);
    alarm(3);
    ar_ring_run(r, AR_RUN_UNTIL_DONE);
    printf("ended with %d after %ld callbacks\n", final_res, n);
    ar_ring_free(r);
    return 0;
}
