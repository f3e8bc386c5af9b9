/* ar_ring_free from inside a callback is a documented abort with a message (docs/DESIGN.md, guarantee 6):
 * freeing would pull the ring out from under the ar_ring_run that is delivering. */
#include "harness.h"
#include <signal.h>
#include <sys/wait.h>

static ar_ring *ring_;

static void free_here(void *userdata, const ar_completion *c) {
    (void)userdata;
    (void)c;
    ar_ring_free(ring_);
}

int main(void) {
    ar_ring *probe_ring = ring_or_skip(NULL);
    ar_ring_free(probe_ring);
    int errpipe[2];
    CHECK(pipe(errpipe) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(errpipe[1], 2);
        ar_ring *r = NULL;
        if (ar_ring_new(NULL, &r) < 0) _exit(3);
        ring_ = r;
        ar_op_nop(r, NULL, NULL, free_here);
        ar_ring_run(r, AR_RUN_UNTIL_DONE);
        _exit(0); /* not reached */
    }
    close(errpipe[1]);
    char msg[512] = {0};
    ssize_t n, off = 0;
    while ((n = read(errpipe[0], msg + off, sizeof msg - 1 - (size_t)off)) > 0) off += n;
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(msg, "ar_ring_free") != NULL);
    return 0;
}
