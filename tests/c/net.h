/* Loopback TCP helpers for the networking tests (127.0.0.1 only). */
#ifndef NET_H
#define NET_H

#include "harness.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

/* A listening socket on 127.0.0.1 and an ephemeral port, written to *addr. */
static inline int listener(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)addr, sizeof *addr) == 0);
    CHECK(listen(fd, 1024) == 0);
    socklen_t len = sizeof *addr;
    CHECK(getsockname(fd, (struct sockaddr *)addr, &len) == 0);
    return fd;
}

static inline int dial(const struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK(connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* A connected pair: *client and *server. */
static inline void tcp_pair(int *client, int *server) {
    struct sockaddr_in addr;
    int l = listener(&addr);
    *client = dial(&addr);
    *server = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    CHECK(*server >= 0);
    close(l);
}

/* Reads exactly n bytes (blocking), or fails the test. */
static inline void read_exact(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
}

/* A recognisable byte for position i of stream `seed`. */
static inline unsigned char pattern(unsigned seed, size_t i) {
    return (unsigned char)(i * 31 + seed * 7 + (i >> 8));
}

#endif
