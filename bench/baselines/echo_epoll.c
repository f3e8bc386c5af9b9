/*
 * echo_epoll.c - baseline TCP echo server: single thread, epoll, non-blocking.
 *
 * Usage: ./echo_epoll PORT [CPU]
 *   Listens on 127.0.0.1:PORT (SO_REUSEADDR); optionally pins itself to CPU.
 *   Prints "listening on 127.0.0.1:PORT" (flushed) once ready.
 *   Exits with status 0 on SIGINT/SIGTERM.
 *
 * Per connection: a 64 KiB buffer.  On readable, read up to 64 KiB and write
 * it straight back.  If the socket does not take everything, keep the rest,
 * stop reading (EPOLLIN off) and wait for EPOLLOUT; resume reading once the
 * buffer is drained.  EOF or any error closes the connection.  Level
 * triggered; one read per readiness event (the next epoll_wait reports the
 * socket again if more is pending).
 *
 * Build: gcc -O2 -g -Wall -Wextra -Werror -std=gnu11 -o echo_epoll echo_epoll.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE   (64 * 1024)
#define MAX_EVENTS 512
#define LISTEN_TAG ((void *)1) /* epoll data.ptr of the listening socket */

struct conn {
	int fd;
	uint32_t off;  /* first unsent byte in buf */
	uint32_t len;  /* bytes in buf */
	char buf[BUF_SIZE];
};

static volatile sig_atomic_t stop;
static struct conn **conns; /* indexed by fd */
static int max_fds;
static int ep;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fatal(const char *what)
{
	fprintf(stderr, "echo_epoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void conn_close(struct conn *c)
{
	conns[c->fd] = NULL;
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

static int conn_watch(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write pending bytes. Returns 0 if drained, 1 if blocked, -1 on error. */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		c->off += (uint32_t)n;
	}
	c->off = c->len = 0;
	return 0;
}

static void on_readable(struct conn *c)
{
	ssize_t n;

	do
		n = recv(c->fd, c->buf, BUF_SIZE, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		conn_close(c);
		return;
	}
	if (n < 0)
		return;
	c->off = 0;
	c->len = (uint32_t)n;
	switch (conn_flush(c)) {
	case 0:
		break;
	case 1: /* wait until writable, stop reading meanwhile */
		if (conn_watch(c, EPOLLOUT) < 0)
			conn_close(c);
		break;
	default:
		conn_close(c);
	}
}

static void on_writable(struct conn *c)
{
	switch (conn_flush(c)) {
	case 0:
		if (conn_watch(c, EPOLLIN) < 0)
			conn_close(c);
		break;
	case 1:
		break;
	default:
		conn_close(c);
	}
}

static void on_accept(int lfd)
{
	for (;;) {
		int one = 1;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		struct epoll_event ev;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "echo_epoll: accept: %s\n", strerror(errno));
			return;
		}
		if (fd >= max_fds || !(c = malloc(sizeof(*c)))) {
			fprintf(stderr, "echo_epoll: dropping connection (fd %d)\n", fd);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->off = c->len = 0;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			fprintf(stderr, "echo_epoll: epoll_ctl: %s\n", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		conns[fd] = c;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sigaction sac;
	struct rlimit rl;
	struct epoll_event ev, events[MAX_EVENTS];
	int lfd, one = 1, port;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [CPU]\n", argv[0]);
		return 1;
	}
	port = atoi(argv[1]);
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "echo_epoll: bad port '%s'\n", argv[1]);
		return 1;
	}
	if (argc == 3) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[2]), &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			fatal("sched_setaffinity");
	}

	/* No SA_RESTART: epoll_wait must return EINTR so we notice `stop`. */
	memset(&sac, 0, sizeof(sac));
	sac.sa_handler = on_signal;
	sigemptyset(&sac.sa_mask);
	sigaction(SIGINT, &sac, NULL);
	sigaction(SIGTERM, &sac, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	max_fds = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576)
		  ? (int)rl.rlim_cur : 1048576;
	conns = calloc((size_t)max_fds, sizeof(*conns));
	if (!conns)
		fatal("calloc");

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		fatal("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fatal("bind");
	if (listen(lfd, 4096) < 0)
		fatal("listen");

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		fatal("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = LISTEN_TAG;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		fatal("epoll_ctl");

	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);

	while (!stop) {
		int n = epoll_wait(ep, events, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			uint32_t e = events[i].events;

			if (events[i].data.ptr == LISTEN_TAG) {
				on_accept(lfd);
				continue;
			}
			/* A connection closed earlier in this batch cannot appear
			 * here: closing removes it from the epoll set, and each
			 * fd is reported at most once per epoll_wait. */
			if (c->len)                /* blocked on a write */
				on_writable(c);
			else if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_readable(c);
		}
	}

	for (int fd = 0; fd < max_fds; fd++)
		if (conns[fd])
			conn_close(conns[fd]);
	free(conns);
	close(lfd);
	close(ep);
	return 0;
}
