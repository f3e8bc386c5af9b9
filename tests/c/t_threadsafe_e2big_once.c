#define _GNU_SOURCE
/* Regression (found while fuzzing, fixed: the ring now wakes its runner when it ends
 * operations without the kernel): on an AR_RING_THREADSAFE ring, a linked chain longer than
 * the submission queue sometimes left ar_ring_run(AR_RUN_ONCE) blocked for good: the
 * -E2BIG completions the library makes for it never wake the run. On a default or SQPOLL ring
 * the three -E2BIG callbacks come at once. Fails (exit 1 after 10 s) in about half the runs.
 *
 *   cc -Ibuild/prefix/include tests/fuzz/known/threadsafe-e2big-once-hang.c \
 *      -Lbuild/prefix/lib -lasyncring -Wl,-rpath,$PWD/build/prefix/lib -o /tmp/e2big
 *   for i in 1 2 3 4 5; do /tmp/e2big; done */
#include <asyncring.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void cb(void *userdata, const ar_completion *c) {
    (void)userdata;
    printf("  op %lld res %d\n", (long long)c->op, c->res);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: ar_ring_run(AR_RUN_ONCE) blocked for 10 s\n";
    if (write(2, msg, sizeof msg - 1)) {
    }
    _exit(1);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    ar_ring_config cfg = {0};
    cfg.sq_entries = 2;
    cfg.flags = argc > 1 ? (uint32_t)atoi(argv[1]) : AR_RING_THREADSAFE;
    ar_ring *r;
    if (ar_ring_new(&cfg, &r) != 0) return 77;
    ar_op_opts link = {.flags = AR_OP_LINK};
    for (int i = 0; i < 3; i++) printf("nop %lld\n", (long long)ar_op_nop(r, &link, NULL, cb));
    printf("submit %d\n", ar_ring_submit(r));
    signal(SIGALRM, on_alarm);
    alarm(10);
    printf("run %d\n", ar_ring_run(r, AR_RUN_ONCE));
    ar_ring_free(r);
    return 0;
}
