/*
 * echo_uring_raw.c - hand-written io_uring TCP echo server (liburing >= 2.3).
 *
 * This is the "strongest baseline" libasyncring is compared against.
 *
 * Usage: ./echo_uring_raw PORT [CPU]
 *   Listens on 127.0.0.1:PORT (SO_REUSEADDR); optionally pins itself to CPU.
 *   Prints "listening on 127.0.0.1:PORT" (flushed) once ready.
 *   Exits with status 0 on SIGINT/SIGTERM.
 *
 * Design (single thread, one ring):
 *   - Ring: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (falls
 *     back to IORING_SETUP_COOP_TASKRUN, then to no flags, when the kernel
 *     rejects them with -EINVAL), SUBMIT_ALL, SQ 4096 / CQ 16384 entries,
 *     ring fd registered.
 *   - One multishot accept on the listening socket (re-armed if it ends).
 *   - Per connection one multishot recv selecting from a provided-buffer
 *     ring (group 0): NBUFS = 4096 buffers x BUF_SIZE = 16 KiB = 64 MiB of
 *     address space (pages are only touched as far as data is received, so
 *     small messages use little RSS).  16 KiB lets one CQE carry several
 *     4 KiB messages; in (noisy) A/B runs it beat 4 KiB buffers for 4 KiB
 *     and 64 KiB messages and was on par for 64 B ones; 4096 buffers
 *     cover 1000 connections with several buffers queued each.  Running out
 *     is handled (-ENOBUFS below), it only costs throughput.
 *   - Every received buffer is appended to its connection's send queue (a
 *     FIFO linked through buf_next[], so no allocation per message).  At the
 *     end of each completion batch every connection with queued data and no
 *     send in flight gets ONE send: IORING_OP_SEND for one buffer, or
 *     IORING_OP_SENDMSG gathering up to SEND_IOV_MAX queued buffers.  One
 *     send in flight per connection keeps the byte order intact even when a
 *     send is short; a short send simply leaves the rest queued and the next
 *     send starts where it stopped.  Buffers go back to the buffer ring as
 *     soon as the send that carried their last byte completes.
 *   - A multishot recv that ends (no IORING_CQE_F_MORE) is re-armed; if it
 *     ended with -ENOBUFS the connection waits on a "starved" list and is
 *     re-armed once buffers have been returned.
 *   - EOF: finish echoing what is queued, then close.  Error: stop sending,
 *     shutdown() the socket so the armed recv terminates, close once no
 *     request refers to the connection any more.
 *   - Main loop: io_uring_submit_and_wait(1), drain all CQEs, return buffers
 *     with one buffer-ring tail update, issue sends and re-arms.  The only
 *     syscall per loop iteration is that io_uring_enter; per connection
 *     there are setsockopt(TCP_NODELAY) and close().
 *   - SIGINT/SIGTERM (installed without SA_RESTART) make io_uring_enter
 *     return -EINTR; the loop then tears everything down and exits 0.
 *
 * liburing 2.3 (Debian 12) has io_uring_register_buf_ring,
 * io_uring_buf_ring_add/advance, io_uring_prep_recv_multishot and
 * io_uring_prep_multishot_accept; it lacks io_uring_setup_buf_ring (2.4), so
 * the buffer ring memory is mmap()ed and registered by hand here.
 *
 * Build: gcc -O2 -g -Wall -Wextra -Werror -std=gnu11 -o echo_uring_raw echo_uring_raw.c -luring
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define SQ_ENTRIES    4096
#define CQ_ENTRIES    16384
/* Provided buffers; override with -DNBUFS=... -DBUF_SIZE=... (see header). */
#ifndef NBUFS
#define NBUFS         4096          /* power of two, <= 32768 */
#endif
#ifndef BUF_SIZE
#define BUF_SIZE      16384
#endif
#define BGID          0
#define SEND_IOV_MAX  16
#define BID_NONE      0xffffu

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

enum op { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };

static inline uint64_t ud_make(enum op op, int fd)
{
	return ((uint64_t)op << 32) | (uint32_t)fd;
}

struct conn {
	uint16_t qhead, qtail;   /* send queue of buffer ids, BID_NONE if empty */
	uint32_t head_off;       /* bytes of the head buffer already sent */
	bool open;
	bool recv_armed;         /* multishot recv outstanding */
	bool send_busy;          /* a send is outstanding */
	bool eof;                /* peer closed: close after queue drained */
	bool error;              /* fatal error: drop data, close asap */
	bool starved;            /* on the starved list (recv ended -ENOBUFS) */
	bool dirty;              /* on the dirty list (may need a send) */
	struct msghdr msg;       /* for SENDMSG; must live until completion */
	struct iovec iov[SEND_IOV_MAX];
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static uint8_t *buf_base;
static uint16_t buf_next[NBUFS];   /* send-queue links */
static uint32_t buf_len[NBUFS];    /* valid bytes in buffer */
static unsigned buf_returned;      /* buffers added since last advance */
static unsigned buf_free = NBUFS;  /* buffers currently owned by the kernel */

static struct conn *conns;         /* indexed by fd */
static int max_fds;
static int *dirty_list, ndirty;
static int *starved_list, nstarved;
static int listen_fd;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fatal(const char *what, int err)
{
	fprintf(stderr, "echo_uring_raw: %s: %s\n", what, strerror(err));
	exit(1);
}

static inline uint8_t *buf_addr(unsigned bid)
{
	return buf_base + (size_t)bid * BUF_SIZE;
}

/* Hand a buffer back to the kernel (published by buf_publish()). */
static inline void buf_recycle(unsigned bid)
{
	io_uring_buf_ring_add(br, buf_addr(bid), BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(NBUFS), (int)buf_returned);
	buf_returned++;
}

static inline void buf_publish(void)
{
	if (buf_returned) {
		io_uring_buf_ring_advance(br, (int)buf_returned);
		buf_free += buf_returned;
		buf_returned = 0;
	}
}

/* Get an SQE, flushing the SQ to the kernel if it is full. */
static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	while (!sqe) {
		buf_publish();
		int ret = io_uring_submit(&ring);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			fatal("io_uring_submit", -ret);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ud_make(OP_ACCEPT, listen_fd));
}

static void arm_recv(int fd, bool poll_first)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	if (poll_first) /* fresh connection: nothing to read yet */
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_make(OP_RECV, fd));
	conns[fd].recv_armed = true;
}

static void mark_dirty(int fd)
{
	if (!conns[fd].dirty) {
		conns[fd].dirty = true;
		dirty_list[ndirty++] = fd;
	}
}

/* Start one send carrying as much of the queue as fits in SEND_IOV_MAX. */
static void start_send(int fd)
{
	struct conn *c = &conns[fd];
	struct io_uring_sqe *sqe;
	unsigned bid = c->qhead;

	if (buf_next[bid] == BID_NONE) {
		sqe = get_sqe();
		io_uring_prep_send(sqe, fd, buf_addr(bid) + c->head_off,
				   buf_len[bid] - c->head_off, MSG_NOSIGNAL);
	} else {
		int n = 0;
		uint32_t off = c->head_off;

		for (; bid != BID_NONE && n < SEND_IOV_MAX; bid = buf_next[bid], n++) {
			c->iov[n].iov_base = buf_addr(bid) + off;
			c->iov[n].iov_len = buf_len[bid] - off;
			off = 0;
		}
		memset(&c->msg, 0, sizeof(c->msg));
		c->msg.msg_iov = c->iov;
		c->msg.msg_iovlen = (size_t)n;
		sqe = get_sqe();
		io_uring_prep_sendmsg(sqe, fd, &c->msg, MSG_NOSIGNAL);
	}
	io_uring_sqe_set_data64(sqe, ud_make(OP_SEND, fd));
	c->send_busy = true;
}

static void queue_drop_all(struct conn *c)
{
	while (c->qhead != BID_NONE) {
		unsigned bid = c->qhead;

		c->qhead = buf_next[bid];
		buf_recycle(bid);
	}
	c->qtail = BID_NONE;
	c->head_off = 0;
}

/* Close the connection once nothing refers to it any more. */
static void conn_maybe_finish(int fd)
{
	struct conn *c = &conns[fd];

	if (!c->open || c->recv_armed || c->send_busy)
		return;
	if (!c->error && !(c->eof && c->qhead == BID_NONE))
		return;
	queue_drop_all(c);
	close(fd);
	c->open = false; /* list entries for it are skipped in finish_batch() */
}

static void conn_fail(int fd)
{
	struct conn *c = &conns[fd];

	if (c->error)
		return;
	c->error = true;
	if (c->recv_armed)
		shutdown(fd, SHUT_RDWR); /* makes the multishot recv terminate */
	conn_maybe_finish(fd);
}

static void handle_accept(struct io_uring_cqe *cqe)
{
	int fd = cqe->res;

	if (!(cqe->flags & IORING_CQE_F_MORE) && !stop)
		arm_accept();
	if (fd < 0) {
		if (fd != -EINTR && fd != -ECANCELED)
			fprintf(stderr, "echo_uring_raw: accept: %s\n", strerror(-fd));
		return;
	}
	if (fd >= max_fds) {
		fprintf(stderr, "echo_uring_raw: dropping connection (fd %d)\n", fd);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	/* A previous connection on this fd may still sit on the dirty or
	 * starved list (entries are dropped lazily); keep those flags so the
	 * fd is never listed twice. */
	struct conn *c = &conns[fd];
	bool dirty = c->dirty, starved = c->starved;
	memset(c, 0, sizeof(*c));
	c->dirty = dirty;
	c->starved = starved;
	c->qhead = c->qtail = BID_NONE;
	c->open = true;
	arm_recv(fd, true);
}

static void handle_recv(struct io_uring_cqe *cqe)
{
	int fd = (int)(uint32_t)cqe->user_data;
	struct conn *c = &conns[fd];
	int res = cqe->res;

	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		buf_free--;
		if (res <= 0 || c->error) {
			buf_recycle(bid); /* 0-byte / error completion with a buffer */
		} else {
			buf_len[bid] = (uint32_t)res;
			buf_next[bid] = BID_NONE;
			if (c->qtail == BID_NONE)
				c->qhead = (uint16_t)bid;
			else
				buf_next[c->qtail] = (uint16_t)bid;
			c->qtail = (uint16_t)bid;
			mark_dirty(fd);
		}
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;

	/* The multishot recv has ended. */
	c->recv_armed = false;
	if (res > 0 && !c->error && !c->eof) {
		arm_recv(fd, false);
	} else if (res == -ENOBUFS && !c->error) {
		if (!c->starved) {
			c->starved = true;
			starved_list[nstarved++] = fd;
		}
	} else if (res == 0) {
		c->eof = true;
		conn_maybe_finish(fd);
	} else {
		conn_fail(fd);
		conn_maybe_finish(fd);
	}
}

static void handle_send(struct io_uring_cqe *cqe)
{
	int fd = (int)(uint32_t)cqe->user_data;
	struct conn *c = &conns[fd];
	int res = cqe->res;

	c->send_busy = false;
	if (res < 0) {
		conn_fail(fd);
		conn_maybe_finish(fd);
		return;
	}
	/* Retire the bytes that went out, buffer by buffer. */
	uint32_t left = (uint32_t)res;
	while (left > 0 && c->qhead != BID_NONE) {
		unsigned bid = c->qhead;
		uint32_t rest = buf_len[bid] - c->head_off;

		if (left < rest) {
			c->head_off += left;
			break;
		}
		left -= rest;
		c->head_off = 0;
		c->qhead = buf_next[bid];
		if (c->qhead == BID_NONE)
			c->qtail = BID_NONE;
		buf_recycle(bid);
	}
	if (c->error || c->qhead == BID_NONE)
		conn_maybe_finish(fd);
	else
		mark_dirty(fd);
}

/* End of a completion batch: publish buffers, issue sends and re-arms. */
static void finish_batch(void)
{
	buf_publish();

	for (int i = 0; i < ndirty; i++) {
		int fd = dirty_list[i];
		struct conn *c = &conns[fd];

		c->dirty = false;
		if (c->open && !c->error && !c->send_busy && c->qhead != BID_NONE)
			start_send(fd);
	}
	ndirty = 0;

	if (nstarved && buf_free > 0) {
		for (int i = 0; i < nstarved; i++) {
			int fd = starved_list[i];
			struct conn *c = &conns[fd];

			c->starved = false;
			if (c->open && !c->error && !c->eof && !c->recv_armed)
				arm_recv(fd, false);
		}
		nstarved = 0;
	}
}

static void setup_ring(void)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_params p;
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flag_sets[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
		p.cq_entries = CQ_ENTRIES;
		ret = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0)
		fatal("io_uring_queue_init_params", -ret);
	io_uring_register_ring_fd(&ring); /* optional: saves an fdget per enter */

	/* Provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring). */
	size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
	br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED)
		fatal("mmap(buffer ring)", errno);
	buf_base = mmap(NULL, (size_t)NBUFS * BUF_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf_base == MAP_FAILED)
		fatal("mmap(buffers)", errno);

	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = NBUFS;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&ring, &reg, 0);
	if (ret < 0)
		fatal("io_uring_register_buf_ring", -ret);
	io_uring_buf_ring_init(br);
	for (unsigned bid = 0; bid < NBUFS; bid++)
		buf_recycle(bid);
	buf_free = 0;
	buf_publish(); /* buf_free = NBUFS */
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sigaction sac;
	struct rlimit rl;
	int one = 1, port;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [CPU]\n", argv[0]);
		return 1;
	}
	port = atoi(argv[1]);
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "echo_uring_raw: bad port '%s'\n", argv[1]);
		return 1;
	}
	if (argc == 3) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[2]), &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			fatal("sched_setaffinity", errno);
	}

	/* No SA_RESTART: io_uring_enter must return -EINTR so we notice `stop`. */
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
	max_fds = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		  ? (int)rl.rlim_cur : 65536;
	conns = calloc((size_t)max_fds, sizeof(*conns));
	dirty_list = calloc((size_t)max_fds, sizeof(*dirty_list));
	starved_list = calloc((size_t)max_fds, sizeof(*starved_list));
	if (!conns || !dirty_list || !starved_list)
		fatal("calloc", ENOMEM);

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		fatal("socket", errno);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fatal("bind", errno);
	if (listen(listen_fd, 4096) < 0)
		fatal("listen", errno);

	setup_ring();
	arm_accept();

	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);

	while (!stop) {
		struct io_uring_cqe *cqe;
		unsigned head, count = 0;
		int ret = io_uring_submit_and_wait(&ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
		    ret != -ETIME)
			fatal("io_uring_submit_and_wait", -ret);

		io_uring_for_each_cqe(&ring, head, cqe) {
			switch (cqe->user_data >> 32) {
			case OP_ACCEPT: handle_accept(cqe); break;
			case OP_RECV:   handle_recv(cqe); break;
			case OP_SEND:   handle_send(cqe); break;
			}
			count++;
		}
		io_uring_cq_advance(&ring, count);
		finish_batch();
	}

	/* Tear down: the ring owns in-flight requests; exiting it cancels them. */
	io_uring_queue_exit(&ring);
	for (int fd = 0; fd < max_fds; fd++)
		if (conns[fd].open)
			close(fd);
	close(listen_fd);
	munmap(buf_base, (size_t)NBUFS * BUF_SIZE);
	munmap(br, NBUFS * sizeof(struct io_uring_buf));
	free(conns);
	free(dirty_list);
	free(starved_list);
	return 0;
}
