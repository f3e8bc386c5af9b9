/*
 * loadgen.c - echo load generator for libasyncring benchmarks and tests.
 *
 * Opens N TCP connections to an echo server, keeps D messages of S bytes in
 * flight on each one, verifies every echoed byte against a deterministic
 * pattern and measures per-message round-trip latency.
 *
 * Design: one thread, one epoll instance, non-blocking sockets, level
 * triggered.  EPOLLIN is always armed; EPOLLOUT only while a connection has
 * unsent bytes that the kernel did not accept.  Per connection there is a
 * transmit buffer of D*S bytes holding the not-yet-written part of the
 * released messages; received bytes are read into one shared scratch buffer
 * and verified in place.  Nothing is allocated after start-up.
 *
 * Message content: byte `off` of message `seq` on connection `conn` is
 * (pattern_word(seed(conn, seq), off / 8) >> (8 * (off % 8))) & 0xff, where
 * pattern_word is a 64-bit hash; so any lost, duplicated,
 * reordered or corrupted byte is detected, including bytes that cross
 * message boundaries.
 *
 * Latency of a message: from just before the write() that carries its first
 * byte to just after the read() that returns its last byte (CLOCK_MONOTONIC).
 * Stored in a log-linear histogram (< 0.8 % bucket width), so the reported
 * percentiles are exact to within that resolution.
 *
 * Phases: connect -> warm-up (--warmup s, traffic but no statistics) ->
 * measurement (--duration s, or until --messages M messages were echoed
 * during measurement; with both, --duration is a deadline for M) -> report.  Any verification failure, unexpected close,
 * socket error, or a stall (no echoed byte for --stall-timeout s) prints a
 * diagnostic and exits with status 1.
 *
 * Output: one human-readable summary line, then one machine-readable line:
 *   RESULT connections=N size=S depth=D messages=M seconds=T msgs_per_sec=X
 *          p50_us=A p99_us=B p999_us=C server_cpu_ns_per_msg=Z
 * (on one line).  server_cpu_ns_per_msg is -1 unless --server-pid is given.
 *
 * Server CPU time sources, best first (the one used is printed):
 *   1. the process CPU-time clock of PID (clock_getcpuclockid): nanoseconds,
 *      all threads of the process, including threads that exited;
 *   2. sum of the first field of /proc/PID/task/<tid>/schedstat: nanoseconds,
 *      all live threads;
 *   3. utime + stime from /proc/PID/stat: clock ticks (usually 10 ms).
 *
 * Build: gcc -O2 -g -Wall -Wextra -Werror -std=gnu11 -o loadgen loadgen.c -lpthread
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define RX_BUF_SIZE   (256 * 1024) /* shared receive scratch buffer */
#define MAX_EVENTS    1024
#define MAX_SIZE      (64u * 1024 * 1024)
#define MAX_DEPTH     65536

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("loadgen: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Deterministic message pattern                                       */
/* ------------------------------------------------------------------ */

/* splitmix64 finaliser: good avalanche, cheap. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static inline uint64_t msg_seed(uint32_t conn, uint64_t seq)
{
	return mix64(((uint64_t)conn << 40) ^ seq ^ 0x6a09e667f3bcc909ull);
}

static inline uint64_t pattern_word(uint64_t seed, uint64_t word_index)
{
	return mix64(seed + word_index * 0x9e3779b97f4a7c15ull);
}

/* Word k as it appears in memory: byte b of the word is (w >> 8*b). */
static inline uint64_t pattern_word_mem(uint64_t seed, uint64_t k)
{
	uint64_t w = pattern_word(seed, k);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* Write bytes [0, len) of message (conn, seq) to dst. */
static void pattern_fill(uint8_t *dst, uint32_t conn, uint64_t seq, size_t len)
{
	uint64_t seed = msg_seed(conn, seq);
	size_t k = 0;

	for (; (k + 1) * 8 <= len; k++) {
		uint64_t w = pattern_word_mem(seed, k);
		memcpy(dst + k * 8, &w, 8);
	}
	if (k * 8 < len) {
		uint64_t w = pattern_word_mem(seed, k);
		memcpy(dst + k * 8, &w, len - k * 8);
	}
}

/*
 * Check that data[0, len) equals bytes [off, off+len) of message (conn, seq).
 * Returns the index (relative to data) of the first wrong byte, or -1.
 * Works a word at a time; only the first wrong word is examined bytewise.
 */
static long pattern_check(const uint8_t *data, size_t len, uint32_t conn,
			  uint64_t seq, size_t off, uint8_t *expected)
{
	uint64_t seed = msg_seed(conn, seq);
	size_t i = 0;

	while (i < len) {
		size_t pos = off + i;
		size_t in_word = pos % 8;
		size_t n = 8 - in_word;
		uint64_t w = pattern_word_mem(seed, pos / 8);
		uint8_t want[8];

		if (n > len - i)
			n = len - i;
		memcpy(want, &w, 8);
		if (memcmp(data + i, want + in_word, n) != 0) {
			for (size_t b = 0; b < n; b++) {
				if (data[i + b] != want[in_word + b]) {
					*expected = want[in_word + b];
					return (long)(i + b);
				}
			}
		}
		i += n;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Latency histogram (log-linear, HDR-like)                            */
/* ------------------------------------------------------------------ */

/*
 * Values below 2^HIST_SUB_BITS ns get their own bucket; above that, each
 * power of two is split into 2^(HIST_SUB_BITS-1) equal buckets, so a bucket
 * is at most 1/128 of its value wide.  Covers up to 2^HIST_MAX_BITS ns.
 */
#define HIST_SUB_BITS 8
#define HIST_MAX_BITS 42 /* ~73 minutes */
#define HIST_HALF     (1u << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS  ((1u << HIST_SUB_BITS) + (HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_HALF)

static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count;

static unsigned hist_index(uint64_t v)
{
	if (v >= (1ull << HIST_MAX_BITS))
		v = (1ull << HIST_MAX_BITS) - 1;
	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	unsigned msb = 63 - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - (HIST_SUB_BITS - 1);
	unsigned top = (unsigned)(v >> shift); /* in [HIST_HALF, 2*HIST_HALF) */
	return (1u << HIST_SUB_BITS) + (shift - 1) * HIST_HALF + (top - HIST_HALF);
}

/* Midpoint (ns) of bucket idx. */
static double hist_value(unsigned idx)
{
	if (idx < (1u << HIST_SUB_BITS))
		return idx;
	unsigned rel = idx - (1u << HIST_SUB_BITS);
	unsigned shift = rel / HIST_HALF + 1;
	uint64_t top = HIST_HALF + rel % HIST_HALF;
	uint64_t lo = top << shift;
	return (double)lo + (double)(1ull << shift) / 2.0;
}

static void hist_record(uint64_t ns)
{
	hist[hist_index(ns)]++;
	hist_count++;
}

/* Smallest value v such that at least q of the samples are <= v, in us. */
static double hist_percentile_us(double q)
{
	if (hist_count == 0)
		return 0.0;
	double want = q * (double)hist_count;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++; /* ceil() without libm */
	if (rank < 1)
		rank = 1;
	uint64_t cum = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		cum += hist[i];
		if (cum >= rank)
			return hist_value(i) / 1000.0;
	}
	return hist_value(HIST_BUCKETS - 1) / 1000.0;
}

/* ------------------------------------------------------------------ */
/* Server CPU time                                                     */
/* ------------------------------------------------------------------ */

enum cpu_src { CPU_NONE, CPU_CLOCK, CPU_SCHEDSTAT, CPU_STAT };

static const char *cpu_src_name(enum cpu_src s)
{
	switch (s) {
	case CPU_CLOCK: return "process cpu clock";
	case CPU_SCHEDSTAT: return "/proc/PID/task/*/schedstat";
	case CPU_STAT: return "/proc/PID/stat utime+stime";
	default: return "none";
	}
}

static bool read_cpu_clock(pid_t pid, uint64_t *ns)
{
	clockid_t clk;
	struct timespec ts;

	if (clock_getcpuclockid(pid, &clk) != 0)
		return false;
	if (clock_gettime(clk, &ts) != 0)
		return false;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return true;
}

static bool read_schedstat(pid_t pid, uint64_t *ns)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	uint64_t sum = 0;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((de = readdir(d)) != NULL) {
		char p2[320];
		unsigned long long v;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(p2, "r");
		if (!f)
			continue; /* thread exited meanwhile */
		if (fscanf(f, "%llu", &v) == 1) {
			sum += v;
			n++;
		}
		fclose(f);
	}
	closedir(d);
	if (n == 0)
		return false;
	*ns = sum;
	return true;
}

static bool read_stat(pid_t pid, uint64_t *ns)
{
	char path[64], buf[4096];
	FILE *f;
	size_t len;
	char *p;
	unsigned long long utime, stime;
	long tck = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* comm may contain spaces and ')': fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p || tck <= 0)
		return false;
	/* after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &utime, &stime) != 2)
		return false;
	*ns = (utime + stime) * (1000000000ull / (uint64_t)tck);
	return true;
}

static bool read_server_cpu(pid_t pid, enum cpu_src src, uint64_t *ns)
{
	switch (src) {
	case CPU_CLOCK: return read_cpu_clock(pid, ns);
	case CPU_SCHEDSTAT: return read_schedstat(pid, ns);
	case CPU_STAT: return read_stat(pid, ns);
	default: return false;
	}
}

static enum cpu_src pick_cpu_src(pid_t pid)
{
	uint64_t v;

	if (read_cpu_clock(pid, &v))
		return CPU_CLOCK;
	if (read_schedstat(pid, &v))
		return CPU_SCHEDSTAT;
	if (read_stat(pid, &v))
		return CPU_STAT;
	return CPU_NONE;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

struct options {
	const char *host;
	int port;
	uint32_t connections;
	uint32_t size;
	uint32_t depth;
	double duration;
	double warmup;
	uint64_t messages;   /* 0: run for --duration */
	bool duration_given; /* --duration given explicitly */
	int cpu;             /* -1: do not pin */
	pid_t server_pid;    /* 0: none */
	double stall_timeout;
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: loadgen [options]\n"
"  --host ADDR           server IPv4 address (default 127.0.0.1)\n"
"  --port P              server port (required)\n"
"  --connections N       TCP connections (default 16)\n"
"  --size BYTES          message size (default 64)\n"
"  --depth D             messages in flight per connection (default 1)\n"
"  --duration SECONDS    measured time, fractional allowed (default 5)\n"
"  --warmup SECONDS      unmeasured warm-up before measuring (default 0.5)\n"
"  --messages M          stop after M messages echoed during measurement\n"
"                        instead of after --duration; if --duration is also\n"
"                        given, it becomes a deadline (fail if M not reached)\n"
"  --cpu K               pin loadgen to CPU K\n"
"  --server-pid PID      report the server's CPU time per message\n"
"  --stall-timeout SECS  fail if nothing is echoed for this long (default 5)\n"
"  --help                this text\n"
"Exit status: 0 on success, 1 on any error or verification failure.\n");
}

static double parse_double(const char *name, const char *s, double min)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min)
		die("invalid value for --%s: '%s'", name, s);
	return v;
}

static unsigned long long parse_uint(const char *name, const char *s,
				     unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-')
		die("invalid value for --%s: '%s'", name, s);
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("invalid value for --%s: '%s' (allowed %llu..%llu)", name, s, min, max);
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { O_HOST = 1, O_PORT, O_CONN, O_SIZE, O_DEPTH, O_DUR, O_WARM, O_MSGS,
	       O_CPU, O_SPID, O_STALL, O_HELP };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "connections", required_argument, NULL, O_CONN },
		{ "size", required_argument, NULL, O_SIZE },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "messages", required_argument, NULL, O_MSGS },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "server-pid", required_argument, NULL, O_SPID },
		{ "stall-timeout", required_argument, NULL, O_STALL },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){
		.host = "127.0.0.1", .port = -1, .connections = 16, .size = 64,
		.depth = 1, .duration = 5.0, .warmup = 0.5, .messages = 0,
		.cpu = -1, .server_pid = 0, .stall_timeout = 5.0,
	};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_HOST: o->host = optarg; break;
		case O_PORT: o->port = (int)parse_uint("port", optarg, 1, 65535); break;
		case O_CONN: o->connections = (uint32_t)parse_uint("connections", optarg, 1, 1000000); break;
		case O_SIZE: o->size = (uint32_t)parse_uint("size", optarg, 1, MAX_SIZE); break;
		case O_DEPTH: o->depth = (uint32_t)parse_uint("depth", optarg, 1, MAX_DEPTH); break;
		case O_DUR:
			o->duration = parse_double("duration", optarg, 0.0);
			o->duration_given = true;
			break;
		case O_WARM: o->warmup = parse_double("warmup", optarg, 0.0); break;
		case O_MSGS: o->messages = parse_uint("messages", optarg, 1, UINT64_MAX); break;
		case O_CPU: o->cpu = (int)parse_uint("cpu", optarg, 0, CPU_SETSIZE - 1); break;
		case O_SPID: o->server_pid = (pid_t)parse_uint("server-pid", optarg, 1, INT_MAX); break;
		case O_STALL: o->stall_timeout = parse_double("stall-timeout", optarg, 0.001); break;
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); exit(1);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(1);
	}
	if (o->port < 0) {
		fprintf(stderr, "loadgen: --port is required\n");
		usage(stderr);
		exit(1);
	}
	if ((uint64_t)o->size * o->depth > (256ull << 20))
		die("--size x --depth must not exceed 256 MiB per connection");
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

struct conn {
	int fd;
	uint32_t index;
	bool want_out;       /* EPOLLOUT currently armed */
	uint64_t tx_seq;     /* next message to put into txbuf */
	uint64_t rx_seq;     /* message currently being received */
	uint32_t rx_off;     /* bytes of rx_seq received so far */
	uint32_t tx_len;     /* unsent bytes in txbuf, starting at txbuf[0] */
	uint64_t bytes_out;  /* total bytes written */
	uint64_t bytes_in;   /* total bytes read */
	uint8_t *txbuf;      /* depth * size bytes */
	uint64_t *sent_at;   /* depth entries: when message seq % depth was written */
	uint64_t first_unstamped; /* lowest seq whose first byte is not written yet */
};

struct state {
	struct options opt;
	struct conn *conns;
	int ep;
	uint8_t *rxbuf;
	bool measuring;
	uint64_t measure_start;
	uint64_t measured_msgs;
	uint64_t last_progress;
};

static void conn_set_out(struct state *st, struct conn *c, bool want)
{
	struct epoll_event ev;

	if (c->want_out == want)
		return;
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(st->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl(MOD) on connection %u: %s", c->index, strerror(errno));
	c->want_out = want;
}

/*
 * Append the next message to the connection's transmit buffer.  The caller
 * guarantees that fewer than `depth` messages are outstanding, so txbuf
 * (depth * size bytes) always has room.
 */
static void conn_queue_msg(struct state *st, struct conn *c)
{
	uint32_t size = st->opt.size;

	pattern_fill(c->txbuf + c->tx_len, c->index, c->tx_seq, size);
	c->tx_len += size;
	c->tx_seq++;
}

/*
 * Write as much of txbuf as the socket accepts.  Messages whose first byte
 * goes out in this write get their send timestamp here.
 */
static void conn_flush(struct state *st, struct conn *c)
{
	uint32_t size = st->opt.size;
	uint32_t depth = st->opt.depth;

	while (c->tx_len > 0) {
		uint64_t t = now_ns();
		ssize_t n = send(c->fd, c->txbuf, c->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_set_out(st, c, true);
				return;
			}
			die("connection %u: send failed after %" PRIu64 " messages: %s",
			    c->index, c->rx_seq, strerror(errno));
		}
		/* Stamp every message whose first byte lies in [bytes_out, bytes_out+n). */
		uint64_t end = c->bytes_out + (uint64_t)n;
		while (c->first_unstamped < c->tx_seq &&
		       c->first_unstamped * (uint64_t)size < end) {
			c->sent_at[c->first_unstamped % depth] = t;
			c->first_unstamped++;
		}
		c->bytes_out = end;
		c->tx_len -= (uint32_t)n;
		if (c->tx_len > 0)
			memmove(c->txbuf, c->txbuf + n, c->tx_len);
	}
	conn_set_out(st, c, false);
}

/* Read once from the socket and verify/account the received bytes. */
static void conn_read(struct state *st, struct conn *c)
{
	const uint32_t size = st->opt.size;
	const uint32_t depth = st->opt.depth;
	ssize_t n;
	uint64_t t;
	bool released = false;

	for (;;) {
		n = recv(c->fd, st->rxbuf, RX_BUF_SIZE, MSG_DONTWAIT);
		if (n >= 0 || errno != EINTR)
			break;
	}
	t = now_ns();
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		die("connection %u: recv failed after %" PRIu64 " complete messages "
		    "(%" PRIu64 " bytes received): %s",
		    c->index, c->rx_seq, c->bytes_in, strerror(errno));
	}
	if (n == 0)
		die("connection %u: closed by server after %" PRIu64 " complete messages "
		    "(%" PRIu64 " of %" PRIu64 " written bytes echoed)",
		    c->index, c->rx_seq, c->bytes_in, c->bytes_out);
	if (c->bytes_in + (uint64_t)n > c->bytes_out)
		die("connection %u: server sent %" PRIu64 " bytes but only %" PRIu64
		    " were written", c->index, c->bytes_in + (uint64_t)n, c->bytes_out);
	c->bytes_in += (uint64_t)n;
	st->last_progress = t;

	const uint8_t *p = st->rxbuf;
	size_t left = (size_t)n;
	while (left > 0) {
		size_t chunk = size - c->rx_off;
		uint8_t expected = 0;
		long bad;

		if (chunk > left)
			chunk = left;
		bad = pattern_check(p, chunk, c->index, c->rx_seq, c->rx_off, &expected);
		if (bad >= 0)
			die("connection %u: data mismatch in message %" PRIu64 " at byte %" PRIu64
			    " of %u: expected 0x%02x, got 0x%02x (stream offset %" PRIu64 ")",
			    c->index, c->rx_seq, (uint64_t)c->rx_off + (uint64_t)bad, size,
			    expected, p[bad],
			    c->rx_seq * (uint64_t)size + c->rx_off + (uint64_t)bad);
		p += chunk;
		left -= chunk;
		c->rx_off += (uint32_t)chunk;
		if (c->rx_off == size) {
			/* Message complete. */
			if (st->measuring) {
				hist_record(t - c->sent_at[c->rx_seq % depth]);
				st->measured_msgs++;
			}
			c->rx_seq++;
			c->rx_off = 0;
			conn_queue_msg(st, c);
			released = true;
		}
	}
	if (released && !c->want_out)
		conn_flush(st, c);
}

static void raise_nofile_limit(uint32_t needed)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			die("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)needed + 16)
		die("RLIMIT_NOFILE is %llu, need about %u for %u connections",
		    (unsigned long long)rl.rlim_cur, needed + 16, needed);
}

static void open_connections(struct state *st)
{
	const struct options *o = &st->opt;
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		die("--host must be an IPv4 address, got '%s'", o->host);

	st->conns = calloc(o->connections, sizeof(*st->conns));
	if (!st->conns)
		die("out of memory");
	for (uint32_t i = 0; i < o->connections; i++) {
		struct conn *c = &st->conns[i];
		struct epoll_event ev;
		int one = 1;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket(): %s", strerror(errno));
		/* Blocking connect: on loopback it completes as soon as the SYN
		 * is queued, even if the server has not accepted yet. */
		while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (errno == EINTR)
				continue;
			die("connect to %s:%d (connection %u of %u): %s",
			    o->host, o->port, i, o->connections, strerror(errno));
		}
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			die("setsockopt(TCP_NODELAY): %s", strerror(errno));
		c->fd = fd;
		c->index = i;
		c->txbuf = malloc((size_t)o->size * o->depth);
		c->sent_at = calloc(o->depth, sizeof(*c->sent_at));
		if (!c->txbuf || !c->sent_at)
			die("out of memory for connection buffers");
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(st->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl(ADD): %s", strerror(errno));
	}
}

static void close_connections(struct state *st)
{
	for (uint32_t i = 0; i < st->opt.connections; i++) {
		struct conn *c = &st->conns[i];

		if (c->fd >= 0)
			close(c->fd);
		free(c->txbuf);
		free(c->sent_at);
	}
	free(st->conns);
	st->conns = NULL;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct state st;
	struct epoll_event *events;
	enum cpu_src src = CPU_NONE;
	uint64_t srv_cpu0 = 0, srv_cpu1 = 0, self_cpu0 = 0, self_cpu1 = 0;
	uint64_t start, warmup_end, measure_end = 0;

	memset(&st, 0, sizeof(st));
	parse_options(argc, argv, &st.opt);
	const struct options *o = &st.opt;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (o->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			die("sched_setaffinity(cpu %d): %s", o->cpu, strerror(errno));
	}
	raise_nofile_limit(o->connections);

	if (o->server_pid) {
		src = pick_cpu_src(o->server_pid);
		if (src == CPU_NONE)
			die("cannot read CPU time of server pid %d (no such process?)",
			    (int)o->server_pid);
	}

	st.ep = epoll_create1(EPOLL_CLOEXEC);
	if (st.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	st.rxbuf = malloc(RX_BUF_SIZE);
	events = calloc(MAX_EVENTS, sizeof(*events));
	if (!st.rxbuf || !events)
		die("out of memory");

	open_connections(&st);

	/* Prime every connection with `depth` messages. */
	start = now_ns();
	st.last_progress = start;
	for (uint32_t i = 0; i < o->connections; i++) {
		struct conn *c = &st.conns[i];

		for (uint32_t d = 0; d < o->depth; d++)
			conn_queue_msg(&st, c);
		conn_flush(&st, c);
	}

	warmup_end = start + (uint64_t)(o->warmup * 1e9);
	const uint64_t duration_ns = (uint64_t)(o->duration * 1e9);
	const uint64_t stall_ns = (uint64_t)(o->stall_timeout * 1e9);

	for (;;) {
		uint64_t t = now_ns();
		int timeout_ms;

		if (!st.measuring && t >= warmup_end) {
			if (o->server_pid && !read_server_cpu(o->server_pid, src, &srv_cpu0))
				die("server pid %d disappeared", (int)o->server_pid);
			self_cpu0 = self_cpu_ns();
			st.measuring = true;
			st.measure_start = now_ns();
			t = st.measure_start;
		}
		if (st.measuring) {
			bool timeup = t - st.measure_start >= duration_ns;
			bool done = o->messages ? st.measured_msgs >= o->messages : timeup;
			if (done) {
				measure_end = t;
				break;
			}
			if (o->messages && o->duration_given && timeup)
				die("only %" PRIu64 " of %" PRIu64 " messages echoed within "
				    "--duration %.3f s", st.measured_msgs, o->messages, o->duration);
		}
		if (t - st.last_progress > stall_ns) {
			uint64_t outstanding = 0;
			for (uint32_t i = 0; i < o->connections; i++)
				outstanding += st.conns[i].bytes_out - st.conns[i].bytes_in;
			die("stalled: nothing echoed for %.1f s (%" PRIu64
			    " bytes outstanding over %u connections)",
			    o->stall_timeout, outstanding, o->connections);
		}

		/* Wake up in time for the next phase change or stall check. */
		uint64_t next = st.last_progress + stall_ns + 1000000;
		if (!st.measuring && warmup_end < next)
			next = warmup_end;
		if (st.measuring && (!o->messages || o->duration_given) &&
		    st.measure_start + duration_ns < next)
			next = st.measure_start + duration_ns;
		timeout_ms = next > t ? (int)((next - t + 999999) / 1000000) : 0;
		if (timeout_ms > 100)
			timeout_ms = 100;

		int n = epoll_wait(st.ep, events, MAX_EVENTS, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			uint32_t ev = events[i].events;

			if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(&st, c);
			if ((ev & EPOLLOUT) && c->want_out)
				conn_flush(&st, c);
		}
	}

	if (o->server_pid && !read_server_cpu(o->server_pid, src, &srv_cpu1))
		die("server pid %d disappeared during the run", (int)o->server_pid);
	self_cpu1 = self_cpu_ns();

	double secs = (double)(measure_end - st.measure_start) / 1e9;
	uint64_t msgs = st.measured_msgs;
	double rate = secs > 0 ? (double)msgs / secs : 0.0;
	double p50 = hist_percentile_us(0.50);
	double p99 = hist_percentile_us(0.99);
	double p999 = hist_percentile_us(0.999);
	double srv_ns = -1.0;
	double self_ns = msgs ? (double)(self_cpu1 - self_cpu0) / (double)msgs : 0.0;

	if (msgs == 0)
		die("no messages were echoed during the measured interval");
	if (o->server_pid)
		srv_ns = (double)(srv_cpu1 - srv_cpu0) / (double)msgs;

	printf("loadgen: %u conns x depth %u x %u B: %" PRIu64 " msgs in %.3f s = %.0f msgs/s, "
	       "%.1f MB/s each way; latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us; "
	       "loadgen cpu %.0f ns/msg",
	       o->connections, o->depth, o->size, msgs, secs, rate,
	       rate * o->size / 1e6, p50, p99, p999, self_ns);
	if (o->server_pid)
		printf("; server cpu %.0f ns/msg (%s)", srv_ns, cpu_src_name(src));
	printf("; all bytes verified\n");
	printf("RESULT connections=%u size=%u depth=%u messages=%" PRIu64 " seconds=%.3f "
	       "msgs_per_sec=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "server_cpu_ns_per_msg=%.0f\n",
	       o->connections, o->size, o->depth, msgs, secs, rate, p50, p99, p999, srv_ns);

	close_connections(&st);
	free(events);
	free(st.rxbuf);
	close(st.ep);
	return 0;
}
