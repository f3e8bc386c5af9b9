/* The harness-owned world of the C API fuzzer: the input reader, file descriptors at fixed
 * high numbers, a scratch directory, retired memory, and the watchdog thread. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int fuzz_trace;

void fuzz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: INVARIANT BROKEN: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

/* --- input bytes ------------------------------------------------------------------------ */
uint8_t src_u8(struct src *s) {
    if (s->n == 0) return 0;
    s->n--;
    return *s->p++;
}
uint16_t src_u16(struct src *s) { return (uint16_t)(src_u8(s) | (uint16_t)src_u8(s) << 8); }
uint32_t src_u32(struct src *s) { return src_u16(s) | (uint32_t)src_u16(s) << 16; }
uint64_t src_u64(struct src *s) { return src_u32(s) | (uint64_t)src_u32(s) << 32; }
uint32_t src_pick(struct src *s, uint32_t n) {
    if (n <= 256) return src_u8(s) % n;
    return src_u32(s) % n;
}
int src_chance(struct src *s, uint8_t num) { return src_u8(s) < num; }

/* --- file descriptors ---------------------------------------------------------------------- */
const char *slot_names[NSLOTS] = {
    "pipe_r", "pipe_w", "pipe2_r", "pipe2_w", "unix_a", "unix_b", "dgram_a", "dgram_b", "tcp_c",
    "tcp_s", "tcp_listen", "unix_listen", "tcp_fresh", "file", "file_ro", "dir", "devnull",
    "eventfd", "closed",
};
char fuzz_dir[256];
uint8_t tcp_addr[128];
uint32_t tcp_addrlen;
uint8_t unix_addr[128];
uint32_t unix_addrlen;
uint8_t unix_refused[128];
uint32_t unix_refused_addrlen;
static unsigned generation; /* a fresh abstract address per input */

int slot_fd(int slot) { return FD_BASE + slot; }

/* Moves `fd` to slot number `at` (close-on-exec), closing the original. */
static void place(int fd, int at) {
    if (fd < 0) return; /* the slot stays a closed number */
    if (fd != at) {
        if (dup3(fd, at, O_CLOEXEC) < 0) FAIL("dup3 to %d: %s", at, strerror(errno));
        close(fd);
    }
}

/* An abortive close leaves no TIME_WAIT behind: thousands of inputs a second must not run
 * the loopback out of ports. */
static void no_linger(int fd) {
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)type;
    if (ftw->level > 0) remove(path);
    return 0;
}

static void empty_dir(void) {
    if (fuzz_dir[0]) nftw(fuzz_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_dir(void) {
    empty_dir();
    if (fuzz_dir[0]) rmdir(fuzz_dir);
}

void world_init(void) {
    signal(SIGPIPE, SIG_IGN); /* io_uring writes to a broken pipe raise it */
    signal(SIGXFSZ, SIG_IGN);
    fuzz_trace = getenv("FUZZ_TRACE") != NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/asyncring-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir)) FAIL("mkdtemp %s: %s", fuzz_dir, strerror(errno));
    atexit(remove_dir);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    int n = snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "asyncring-fuzz-%d-refused", (int)getpid());
    memcpy(unix_refused, &un, sizeof un);
    unix_refused_addrlen = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    watchdog_init();
}

static int tcp_listener(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    memcpy(tcp_addr, &a, sizeof a);
    tcp_addrlen = sizeof a;
    return fd;
}

static int unix_listener(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    int n = snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "asyncring-fuzz-%d-%u", (int)getpid(), generation++);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (bind(fd, (struct sockaddr *)&un, len) < 0 || listen(fd, 64) < 0) {
        close(fd);
        return -1;
    }
    memcpy(unix_addr, &un, sizeof un);
    unix_addrlen = len;
    return fd;
}

void world_open(void) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) == 0) place(p[0], slot_fd(S_PIPE_R)), place(p[1], slot_fd(S_PIPE_W));
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) place(p[0], slot_fd(S_PIPE2_R)), place(p[1], slot_fd(S_PIPE2_W));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0)
        place(p[0], slot_fd(S_UNIX_A)), place(p[1], slot_fd(S_UNIX_B));
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p) == 0)
        place(p[0], slot_fd(S_DGRAM_A)), place(p[1], slot_fd(S_DGRAM_B));
    int l = tcp_listener();
    if (l >= 0) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c >= 0 && connect(c, (struct sockaddr *)tcp_addr, tcp_addrlen) == 0) {
            int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            no_linger(c);
            no_linger(s);
            place(c, slot_fd(S_TCP_C));
            place(s, slot_fd(S_TCP_S));
        } else if (c >= 0) {
            close(c);
        }
        place(l, slot_fd(S_TCP_LISTEN));
    }
    place(unix_listener(), slot_fd(S_UNIX_LISTEN));
    int f = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f >= 0) no_linger(f);
    place(f, slot_fd(S_TCP_FRESH));
    char path[300];
    snprintf(path, sizeof path, "%s/data", fuzz_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        static uint8_t content[8192];
        for (size_t i = 0; i < sizeof content; i++) content[i] = (uint8_t)(i * 7 + 1);
        if (write(fd, content, sizeof content) < 0) { /* reads then see an empty file */
        }
    }
    place(fd, slot_fd(S_FILE));
    place(open(path, O_RDONLY | O_CLOEXEC), slot_fd(S_FILE_RO));
    place(open(fuzz_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), slot_fd(S_DIR));
    place(open("/dev/null", O_RDWR | O_CLOEXEC), slot_fd(S_DEVNULL));
    place(eventfd(0, EFD_CLOEXEC), slot_fd(S_EVENTFD));
    close(slot_fd(S_CLOSED));
}

void world_close(void) {
    for (int i = 0; i < NSLOTS; i++) close(slot_fd(i));
    for (int i = 0; i < NCLIENTS; i++) close(FD_CLIENT0 + i);
    empty_dir();
}

int count_low_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (atoi(e->d_name) < FD_BASE) n++;
    }
    closedir(d);
    return n;
}

static int is_socket_slot(int slot) {
    return slot == S_UNIX_A || slot == S_UNIX_B || slot == S_DGRAM_A || slot == S_DGRAM_B ||
           slot == S_TCP_C || slot == S_TCP_S;
}

void world_poke(struct src *s) {
    static uint8_t data[65536];
    static const uint32_t sizes[] = {1, 7, 64, 512, 4096, 65536};
    int what = (int)src_pick(s, 8);
    int slot = (int)src_pick(s, NSLOTS);
    int fd = slot_fd(slot);
    size_t len = sizes[src_pick(s, 6)];
    ssize_t rc = 0;
    switch (what) {
    case 0: /* data arrives: never blocks (RWF_NOWAIT on pipes, MSG_DONTWAIT on sockets) */
        if (is_socket_slot(slot)) {
            rc = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else if (slot == S_EVENTFD) {
            uint64_t one = 1;
            rc = write(fd, &one, sizeof one);
        } else if (slot == S_FILE) {
            rc = pwrite(fd, data, len, (off_t)src_pick(s, 16384));
        } else if (slot == S_PIPE_W || slot == S_PIPE2_W) {
            struct iovec v = {data, len};
            rc = pwritev2(fd, &v, 1, -1, RWF_NOWAIT);
        }
        break;
    case 1: /* a reader drains what is there */
        if (is_socket_slot(slot)) {
            rc = recv(fd, data, len, MSG_DONTWAIT);
        } else if (slot == S_PIPE_R || slot == S_PIPE2_R) {
            struct iovec v = {data, len};
            rc = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
        }
        break;
    case 2: /* a peer shuts down */
        if (is_socket_slot(slot)) rc = shutdown(fd, (int)src_pick(s, 3));
        break;
    case 3: /* the harness closes one of its fds: the number is closed from now on */
        rc = close(fd);
        break;
    case 4: { /* a client connects to a listener */
        int i = (int)src_pick(s, NCLIENTS);
        int tcp = src_chance(s, 128);
        int c = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c < 0) break;
        if (tcp) no_linger(c);
        rc = connect(c, (struct sockaddr *)(tcp ? tcp_addr : unix_addr), tcp ? tcp_addrlen : unix_addrlen);
        place(c, FD_CLIENT0 + i); /* replaces (closes) an earlier client there */
        break;
    }
    case 5: /* a client sends, or goes away */
        if (src_chance(s, 128)) rc = send(FD_CLIENT0 + (int)src_pick(s, NCLIENTS), data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        else rc = close(FD_CLIENT0 + (int)src_pick(s, NCLIENTS));
        break;
    case 6: /* a writer fills a socket or pipe until it would block (a peer that does not read) */
        for (int i = 0; i < 64; i++) {
            if (is_socket_slot(slot)) rc = send(fd, data, sizeof data, MSG_DONTWAIT | MSG_NOSIGNAL);
            else if (slot == S_PIPE_W || slot == S_PIPE2_W) {
                struct iovec v = {data, sizeof data};
                rc = pwritev2(fd, &v, 1, -1, RWF_NOWAIT);
            } else break;
            if (rc <= 0) break;
        }
        break;
    default: /* nothing happens */
        break;
    }
    TRACE("  poke %d on %s: %zd\n", what, slot_names[slot], rc);
}

/* --- retired memory ------------------------------------------------------------------------- */
#define RETIRED_BYTE 0xA5
struct retired {
    uint8_t *p;
    size_t len;
};
static struct retired *retired;
static size_t nretired, capretired;

void *mem_new(size_t len) {
    uint8_t *p = malloc(len ? len : 1);
    if (!p) FAIL("out of memory (%zu bytes)", len);
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(i * 13 + 5);
    return p;
}

void mem_retire(void *p, size_t len) {
    if (!p) return;
    memset(p, RETIRED_BYTE, len);
    if (nretired == capretired) {
        capretired = capretired ? capretired * 2 : 256;
        retired = realloc(retired, capretired * sizeof *retired);
        if (!retired) FAIL("out of memory");
    }
    retired[nretired++] = (struct retired){p, len};
}

void mem_check_retired(void) {
    for (size_t i = 0; i < nretired; i++) {
        for (size_t j = 0; j < retired[i].len; j++)
            if (retired[i].p[j] != RETIRED_BYTE)
                FAIL("memory of an operation changed after its final callback (or after its call was "
                     "refused): byte %zu of %zu is 0x%02x",
                     j, retired[i].len, retired[i].p[j]);
        free(retired[i].p);
    }
    nretired = 0;
}

uint8_t reg_pool[REG_POOL_SIZE] __attribute__((aligned(4096)));

/* --- the watchdog ---------------------------------------------------------------------------- */
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static struct {
    ar_ring *ring;
    struct timespec deadline;
    void *userdata;
    ar_post_fn fn;
    int armed, fired;
} wd;

static void *watchdog_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&wd_lock);
    for (;;) {
        if (!wd.armed) {
            pthread_cond_wait(&wd_cond, &wd_lock);
            continue;
        }
        (void)pthread_cond_timedwait(&wd_cond, &wd_lock, &wd.deadline);
        /* The arming may have changed while this thread waited for the lock: judge the
         * deadline that is armed now. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int due = now.tv_sec > wd.deadline.tv_sec || (now.tv_sec == wd.deadline.tv_sec && now.tv_nsec >= wd.deadline.tv_nsec);
        if (due && wd.armed && !wd.fired) {
            if (!wd.ring) { /* a hang detector: report and abort */
                wd.fn(wd.userdata);
                abort();
            }
            /* Under the lock, so a disarm waits until the post is done. */
            int prc = ar_ring_post(wd.ring, wd.userdata, wd.fn);
            if (prc != 0) FAIL("watchdog: ar_ring_post returned %d (%s)", prc, ar_strerror(prc));
            wd.fired = 1;
        }
    }
    return NULL;
}

void watchdog_init(void) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&wd_cond, &a);
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog_main, NULL) != 0) FAIL("pthread_create");
    pthread_detach(t);
}

void watchdog_arm(ar_ring *ring, int ms, void *userdata, ar_post_fn fn) {
    pthread_mutex_lock(&wd_lock);
    clock_gettime(CLOCK_MONOTONIC, &wd.deadline);
    wd.deadline.tv_sec += ms / 1000;
    wd.deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (wd.deadline.tv_nsec >= 1000000000L) wd.deadline.tv_sec++, wd.deadline.tv_nsec -= 1000000000L;
    wd.ring = ring;
    wd.userdata = userdata;
    wd.fn = fn;
    wd.armed = 1;
    wd.fired = 0;
    pthread_cond_signal(&wd_cond);
    pthread_mutex_unlock(&wd_lock);
}

int watchdog_disarm(void) {
    pthread_mutex_lock(&wd_lock);
    int fired = wd.fired;
    wd.armed = 0;
    wd.fired = 0;
    wd.ring = NULL;
    pthread_cond_signal(&wd_cond);
    pthread_mutex_unlock(&wd_lock);
    return fired;
}
