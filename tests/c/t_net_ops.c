/* Socket operations through the ring: socket, connect (address copied), accept, send,
 * recv, sendmsg (header copied), recvmsg, poll, splice, shutdown, close; and a connect
 * deadline. */
#include "net.h"
#include <fcntl.h>

static struct log log_;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    struct sockaddr_in addr;
    int l = listener(&addr);

    int fd = run_one(r, &log_, ar_op_socket(r, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, NULL, &log_, log_cb));
    CHECK(fd >= 0);
    /* connect and accept in one batch; the address is copied, so a temporary is fine. */
    int64_t conn;
    {
        struct sockaddr_in tmp = addr;
        conn = ar_op_connect(r, fd, (struct sockaddr *)&tmp, sizeof tmp, NULL, &log_, log_cb);
        memset(&tmp, 0, sizeof tmp);
    }
    int64_t acc = ar_op_accept(r, l, SOCK_CLOEXEC, NULL, &log_, log_cb);
    CHECK(conn > 0 && acc > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 2);
    CHECK_EQ(log_res(&log_, conn), 0);
    int srv = log_res(&log_, acc);
    CHECK(srv >= 0);

    /* send / recv */
    char buf[64];
    CHECK_EQ(run_one(r, &log_, ar_op_send(r, fd, "ping", 4, 0, NULL, &log_, log_cb)), 4);
    CHECK_EQ(run_one(r, &log_, ar_op_recv(r, srv, buf, sizeof buf, 0, NULL, &log_, log_cb)), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);

    /* sendmsg with a temporary header and iovec array, recvmsg into ours */
    {
        char a[] = "scatter-", b[] = "gather";
        struct iovec iov[2] = {{a, 8}, {b, 6}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
        int64_t id = ar_op_sendmsg(r, fd, &msg, 0, NULL, &log_, log_cb);
        memset(iov, 0, sizeof iov);
        memset(&msg, 0, sizeof msg);
        CHECK_EQ(run_one(r, &log_, id), 14);
    }
    char in[32] = {0};
    struct iovec riov = {in, sizeof in};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1};
    CHECK_EQ(run_one(r, &log_, ar_op_recvmsg(r, srv, &rmsg, 0, NULL, &log_, log_cb)), 14);
    CHECK(memcmp(in, "scatter-gather", 14) == 0);

    /* poll: writable at once; readable after data arrives */
    CHECK(run_one(r, &log_, ar_op_poll(r, fd, POLLOUT, NULL, &log_, log_cb)) & POLLOUT);
    int64_t pin = ar_op_poll(r, srv, POLLIN, NULL, &log_, log_cb);
    CHECK(ar_ring_submit(r) >= 0);
    CHECK(write(fd, "!", 1) == 1);
    CHECK(run_one(r, &log_, pin) & POLLIN);
    CHECK_EQ(read(srv, buf, 1), 1);

    /* splice: pipe -> socket */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "spliced", 7) == 7);
    CHECK_EQ(run_one(r, &log_, ar_op_splice(r, p[0], -1, fd, -1, 7, 0, NULL, &log_, log_cb)), 7);
    read_exact(srv, buf, 7);
    CHECK(memcmp(buf, "spliced", 7) == 0);

    /* shutdown, then the peer sees EOF */
    CHECK_EQ(run_one(r, &log_, ar_op_shutdown(r, fd, SHUT_WR, NULL, &log_, log_cb)), 0);
    CHECK_EQ(run_one(r, &log_, ar_op_recv(r, srv, buf, sizeof buf, 0, NULL, &log_, log_cb)), 0);
    CHECK_EQ(ar_op_shutdown(r, fd, 42, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_connect(r, fd, NULL, 16, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_connect(r, fd, (struct sockaddr *)&addr, 4096, NULL, &log_, log_cb), -EINVAL);

    /* A recv with a deadline and no data times out. */
    ar_op_opts deadline = {.timeout_ns = 20 * 1000000ull};
    CHECK_EQ(run_one(r, &log_, ar_op_recv(r, fd, buf, sizeof buf, 0, &deadline, &log_, log_cb)), -ETIMEDOUT);

    CHECK_EQ(run_one(r, &log_, ar_op_close(r, fd, NULL, &log_, log_cb)), 0);
    CHECK_EQ(run_one(r, &log_, ar_op_close(r, srv, NULL, &log_, log_cb)), 0);
    close(p[0]);
    close(p[1]);
    close(l);
    ar_ring_free(r);
    return 0;
}
