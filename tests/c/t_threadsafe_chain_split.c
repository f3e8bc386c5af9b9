#define _GNU_SOURCE
/* Regression (found while fuzzing, fixed): on an AR_RING_THREADSAFE ring the submitter thread
 * could hand the kernel the head of a chain before the operation linked to it is queued,
 * which split the chain; an open chain now waits in the backlog until it is closed. Before: here a write linked behind a read of an empty pipe completes while the
 * read is still waiting (about 1 to 3 tries in 100). Exits 1 when any chain split.
 *
 *   cc -Ibuild/prefix/include tests/fuzz/known/threadsafe-chain-split.c \
 *      -Lbuild/prefix/lib -lasyncring -Wl,-rpath,$PWD/build/prefix/lib -o /tmp/split
 *   /tmp/split 300 */
#include <asyncring.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int done[2];

static void cb(void *userdata, const ar_completion *c) {
    done[(long)userdata] = 1;
    (void)c;
}

int main(int argc, char **argv) {
    int tries = argc > 1 ? atoi(argv[1]) : 300, split = 0;
    for (int t = 0; t < tries; t++) {
        ar_ring_config cfg = {.flags = AR_RING_THREADSAFE};
        ar_ring *r;
        if (ar_ring_new(&cfg, &r) != 0) return 77;
        int p[2];
        if (pipe(p) != 0) return 2;
        int devnull = open("/dev/null", O_WRONLY);
        static char buf[8];
        done[0] = done[1] = 0;
        ar_op_opts link = {.flags = AR_OP_LINK};
        if (ar_op_read(r, p[0], buf, sizeof buf, UINT64_MAX, &link, (void *)0, cb) <= 0) return 3;
        if (ar_op_write(r, devnull, "x", 1, UINT64_MAX, NULL, (void *)1, cb) <= 0) return 4;
        usleep(2000);
        ar_ring_run(r, AR_RUN_NOWAIT);
        if (done[1] && !done[0]) {
            split++;
            printf("try %d: the write ran before the read it is linked behind\n", t);
        }
        if (write(p[1], "y", 1) != 1) return 5; /* ends the read (short: the link breaks) */
        ar_ring_run(r, AR_RUN_UNTIL_DONE);
        ar_ring_free(r);
        close(p[0]);
        close(p[1]);
        close(devnull);
    }
    printf("%d of %d chains split\n", split, tries);
    return split != 0;
}
