/* host_loop: the ring driven from a program's own epoll loop, through the notification fd.
 * The same pattern fits libdispatch (a read source), GLib (g_unix_fd_add), libuv (uv_poll).
 * It reads standard input through the ring while a timer ticks, until EOF or 5 ticks. */
#define _GNU_SOURCE
#include <asyncring.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static char line[256];
static int ticks, done;

static void on_tick(void *userdata, const ar_completion *c) {
    ar_ring *ring = userdata;
    if (c->res < 0) return;
    printf("tick %d\n", ++ticks);
    if (ticks < 5) ar_op_timeout(ring, 200 * 1000000ull, NULL, ring, on_tick);
    else done = 1;
}

static void on_input(void *userdata, const ar_completion *c) {
    ar_ring *ring = userdata;
    if (c->res <= 0) {
        done = 1;
        return;
    }
    printf("read %d bytes: %.*s", c->res, c->res, line);
    ar_op_read(ring, 0, line, sizeof line, UINT64_MAX, NULL, ring, on_input);
}

int main(void) {
    ar_ring *ring;
    int rc = ar_ring_new(NULL, &ring);
    if (rc < 0) {
        fprintf(stderr, "ar_ring_new: %s\n", ar_strerror(rc));
        return 1;
    }
    ar_op_timeout(ring, 200 * 1000000ull, NULL, ring, on_tick);
    ar_op_read(ring, 0, line, sizeof line, UINT64_MAX, NULL, ring, on_input);
    ar_ring_submit(ring);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, ar_ring_notify_fd(ring), &ev);
    while (!done) {
        int n = epoll_wait(ep, &ev, 1, -1); /* ... and the host's other fds */
        if (n < 0 && errno != EINTR) break;  /* completions may interrupt the wait: retry */
        ar_ring_run(ring, AR_RUN_NOWAIT);    /* never blocks; drains the notification fd */
    }
    close(ep);
    ar_ring_free(ring); /* cancels the pending read, delivers its callback, then frees */
    return 0;
}
