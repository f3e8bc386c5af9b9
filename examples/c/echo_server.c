/* echo_server: a single-threaded TCP echo server on libasyncring.
 *
 *   echo_server PORT [CPU]     listens on 127.0.0.1:PORT (pinned to CPU if given);
 *                              SIGINT or SIGTERM stops it cleanly (exit status 0)
 *
 * Design, the one the fastest io_uring servers use:
 * - one multishot accept for all connections;
 * - per connection one multishot receive into a shared buffer group, so idle connections
 *   hold no buffer; AR_OP_REARM keeps a receive alive when a burst drains the group;
 * - each received buffer is sent straight back from where the kernel put it, and recycled
 *   when the send completes: no copy, no allocation per message;
 * - one send in flight per connection (buffers queue behind it), because two sends on one
 *   TCP socket can reorder bytes when the first is short.
 */
#define _GNU_SOURCE
#include <asyncring.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF_COUNT = 4096, BUF_SIZE = 4096, MAX_FD = 1 << 16, NO_BUF = 0xffff };

struct conn {
    int fd;
    int64_t recv_id;
    int recv_done;  /* the receive has delivered its final completion */
    int sending;    /* a send is in flight */
    int failed;     /* a send failed: drop data, close when the receive ends */
    uint16_t head, tail; /* queue of received buffers, linked through next_buf[] */
    uint32_t head_sent;  /* bytes of the head buffer already sent */
};

static ar_ring *ring;
static ar_bufgroup *group;
static struct conn *conns[MAX_FD];
static uint16_t next_buf[BUF_COUNT];
static uint32_t buf_len[BUF_COUNT];
static unsigned char *buf_addr[BUF_COUNT];
static int listen_fd;
static volatile sig_atomic_t stopping;

static void on_recv(void *userdata, const ar_completion *c);

static void on_closed(void *userdata, const ar_completion *c) {
    (void)userdata;
    (void)c;
}

static void conn_close(struct conn *conn) {
    conns[conn->fd] = NULL;
    /* Inside ar_ring_free (shutdown) no new operation is accepted: close directly. */
    if (ar_op_close(ring, conn->fd, NULL, NULL, on_closed) < 0) close(conn->fd);
    free(conn);
}

/* Releases every queued buffer (after a failed send). */
static void conn_drop_queue(struct conn *conn) {
    while (conn->head != NO_BUF) {
        uint16_t b = conn->head;
        conn->head = next_buf[b];
        ar_bufgroup_recycle(group, b);
    }
    conn->tail = NO_BUF;
}

static void on_sent(void *userdata, const ar_completion *c);

static void send_head(struct conn *conn) {
    uint16_t b = conn->head;
    int64_t id = ar_op_send(ring, conn->fd, buf_addr[b] + conn->head_sent, buf_len[b] - conn->head_sent,
                            MSG_NOSIGNAL, NULL, conn, on_sent);
    if (id < 0) {
        conn->failed = 1;
        conn_drop_queue(conn);
        return;
    }
    conn->sending = 1;
}

static void on_sent(void *userdata, const ar_completion *c) {
    struct conn *conn = userdata;
    conn->sending = 0;
    if (c->res <= 0) {
        /* The peer is gone: stop receiving; the receive's final completion closes. */
        conn->failed = 1;
        conn_drop_queue(conn);
        if (!conn->recv_done) ar_op_cancel(ring, conn->recv_id, NULL, NULL, on_closed);
    } else {
        uint16_t b = conn->head;
        conn->head_sent += (uint32_t)c->res;
        if (conn->head_sent == buf_len[b]) { /* whole buffer echoed: give it back */
            conn->head = next_buf[b];
            if (conn->head == NO_BUF) conn->tail = NO_BUF;
            conn->head_sent = 0;
            ar_bufgroup_recycle(group, b);
        }
        if (conn->head != NO_BUF) {
            send_head(conn);
            return;
        }
    }
    if (conn->recv_done) conn_close(conn);
}

static void on_recv(void *userdata, const ar_completion *c) {
    struct conn *conn = userdata;
    if (c->flags & AR_COMPLETION_BUFFER) {
        if (conn->failed || c->res <= 0) {
            ar_bufgroup_recycle(group, c->buf_id);
        } else { /* queue it behind any send in flight */
            buf_len[c->buf_id] = (uint32_t)c->res;
            buf_addr[c->buf_id] = c->buf;
            next_buf[c->buf_id] = NO_BUF;
            if (conn->tail == NO_BUF) conn->head = c->buf_id;
            else next_buf[conn->tail] = c->buf_id;
            conn->tail = c->buf_id;
            if (!conn->sending) send_head(conn);
        }
    }
    if (!(c->flags & AR_COMPLETION_MORE)) { /* end of stream, error, or cancel */
        conn->recv_done = 1;
        if (!conn->sending) conn_close(conn);
    }
}

static void on_accept(void *userdata, const ar_completion *c);
static void on_accept_backoff(void *userdata, const ar_completion *c);
/* How long to wait before accepting again when the process is out of descriptors. */
#define ACCEPT_BACKOFF_NS 50000000ull

static void arm_accept(void) {
    if (ar_op_accept_multishot(ring, listen_fd, SOCK_CLOEXEC, NULL, NULL, on_accept) < 0) stopping = 1;
}

static void on_accept(void *userdata, const ar_completion *c) {
    (void)userdata;
    if (c->res >= 0) {
        int fd = c->res;
        struct conn *conn = fd < MAX_FD ? calloc(1, sizeof *conn) : NULL;
        if (!conn) {
            close(fd);
        } else {
            *conn = (struct conn){.fd = fd, .head = NO_BUF, .tail = NO_BUF};
            conns[fd] = conn;
            ar_op_opts rearm = {.flags = AR_OP_REARM};
            conn->recv_id = ar_op_recv_multishot(ring, fd, group, 0, &rearm, conn, on_recv);
            if (conn->recv_id < 0) conn_close(conn);
        }
    }
    if (c->flags & AR_COMPLETION_MORE || c->res == -ECANCELED || stopping) return;
    /* The stream ended with an error (the library re-arms it itself when the kernel merely
     * stopped it). Out of file descriptors (EMFILE/ENFILE) or memory, a new accept would
     * fail at once and spin: back off while connections close, then accept again. */
    if (c->res == -EMFILE || c->res == -ENFILE || c->res == -ENOBUFS || c->res == -ENOMEM) {
        if (ar_op_timeout(ring, ACCEPT_BACKOFF_NS, NULL, NULL, on_accept_backoff) < 0) stopping = 1;
        return;
    }
    arm_accept();
}

static void on_accept_backoff(void *userdata, const ar_completion *c) {
    (void)userdata;
    if (c->res == 0 && !stopping) arm_accept();
}

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [CPU]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    if (argc > 2) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(argv[2]), &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0) perror("sched_setaffinity");
    }
    /* No SA_RESTART: the signal interrupts ar_ring_run, which returns -EINTR. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }

    ar_ring_config config;
    ar_ring_config_default(&config);
    config.sq_entries = 1024;
    config.flags = AR_RING_SINGLE_THREAD; /* one thread: cheaper completions (DEFER_TASKRUN) */
    int rc = ar_ring_new(&config, &ring);
    if (rc < 0 || (rc = ar_bufgroup_new(ring, BUF_COUNT, BUF_SIZE, &group)) < 0) {
        ar_probe probe;
        ar_ring_probe(&probe);
        fprintf(stderr, "echo_server: %s (%s)\n", ar_strerror(rc), probe.message);
        return 1;
    }
    arm_accept();
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    while (!stopping) {
        rc = ar_ring_run(ring, AR_RUN_ONCE);
        if (rc < 0 && rc != -EINTR) {
            fprintf(stderr, "ar_ring_run: %s\n", ar_strerror(rc));
            break;
        }
    }
    /* Teardown: cancels the accept and every receive and send, delivers their final
     * callbacks (which close the connections), then frees. */
    ar_ring_free(ring);
    ar_bufgroup_free(group);
    close(listen_fd);
    for (int fd = 0; fd < MAX_FD; fd++)
        if (conns[fd]) {
            close(fd);
            free(conns[fd]);
        }
    return rc < 0 && rc != -EINTR ? 1 : 0;
}
