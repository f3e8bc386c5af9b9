/* The C API fuzzer's shared pieces: the byte reader that turns input into arguments, the
 * harness-owned world (file descriptors, a scratch directory, memory the kernel may touch)
 * and the watchdog that bounds AR_RUN_ONCE. See fuzz_api.c for the design. */
#ifndef FUZZ_H
#define FUZZ_H

#define _GNU_SOURCE
#include <asyncring.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant broke: say which, then abort so libFuzzer saves the input. */
__attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...);
#define FAIL(...) fuzz_fail(__VA_ARGS__)

/* Verbose tracing of every call (FUZZ_TRACE=1 in the environment): for reading a reproducer. */
extern int fuzz_trace;
#define TRACE(...)                                                                         \
    do {                                                                                   \
        if (fuzz_trace) fprintf(stderr, __VA_ARGS__);                                      \
    } while (0)

/* --- input bytes ------------------------------------------------------------------------ */
struct src {
    const uint8_t *p;
    size_t n;
};
uint8_t src_u8(struct src *s);
uint16_t src_u16(struct src *s);
uint32_t src_u32(struct src *s);
uint64_t src_u64(struct src *s);
/* A value in [0, n). */
uint32_t src_pick(struct src *s, uint32_t n);
/* True with probability about num/256. */
int src_chance(struct src *s, uint8_t num);

/* --- the world: file descriptors the harness owns ------------------------------------------ */
/* Every harness fd lives at a fixed high number (FD_BASE + slot), far above what the library
 * or the kernel allocate (lowest free number), so a fuzzed "close" can only ever close a
 * harness fd, and a "closed fd" is a number the harness closed itself. */
#define FD_BASE 700
enum slot {
    S_PIPE_R,      /* pipe A, blocking */
    S_PIPE_W,
    S_PIPE2_R,     /* pipe B, O_NONBLOCK */
    S_PIPE2_W,
    S_UNIX_A,      /* AF_UNIX stream socketpair */
    S_UNIX_B,
    S_DGRAM_A,     /* AF_UNIX datagram socketpair */
    S_DGRAM_B,
    S_TCP_C,       /* a loopback TCP connection: client side */
    S_TCP_S,       /* and the server side */
    S_TCP_LISTEN,  /* a TCP listener on 127.0.0.1 */
    S_UNIX_LISTEN, /* an AF_UNIX listener (abstract address) */
    S_TCP_FRESH,   /* an unconnected TCP socket (for connect) */
    S_FILE,        /* a regular file in the scratch directory, O_RDWR */
    S_FILE_RO,     /* the same file, O_RDONLY */
    S_DIR,         /* the scratch directory */
    S_DEVNULL,     /* /dev/null */
    S_EVENTFD,     /* an eventfd */
    S_CLOSED,      /* a number the harness opened and closed */
    NSLOTS
};
#define FD_NEVER (FD_BASE + 60) /* a number never opened */
#define FD_CLIENT0 (FD_BASE + 40)
#define NCLIENTS 8 /* clients the harness connects to the listeners */

extern const char *slot_names[NSLOTS];
extern char fuzz_dir[256];       /* the scratch directory (absolute) */
extern uint8_t tcp_addr[128];    /* the TCP listener's address */
extern uint32_t tcp_addrlen;
extern uint8_t unix_addr[128];   /* the AF_UNIX listener's address */
extern uint32_t unix_addrlen;
extern uint8_t unix_refused[128]; /* an AF_UNIX address nobody listens on */
extern uint32_t unix_refused_addrlen;

void world_init(void);   /* once per process */
void world_open(void);   /* at the start of every input */
void world_close(void);  /* at the end: closes every harness fd, empties the directory */
int slot_fd(int slot);
/* Fds the library may hold besides the harness's: counted after each input to find leaks. */
int count_low_fds(void);
/* Harness-side I/O on its own fds (data arriving, a peer closing, a client connecting). */
void world_poke(struct src *s);

/* --- memory the kernel may touch ------------------------------------------------------------ */
/* Buffers handed to an operation are retired when its final callback runs (or when the call
 * was refused): they are filled with a pattern and checked at the end of the input, so a
 * kernel write after the final callback (or for a refused call) is caught. */
void *mem_new(size_t len);       /* malloc'ed, filled with arbitrary bytes */
void mem_retire(void *p, size_t len);
void mem_check_retired(void);    /* checks the patterns and frees */

/* Registered-buffer memory: static, never freed (the kernel pins it). */
#define REG_POOL_SIZE (256 * 1024)
extern uint8_t reg_pool[REG_POOL_SIZE];

/* --- the watchdog: a thread that wakes a blocked ar_ring_run by ar_ring_post ---------------- */
void watchdog_init(void);
/* Arms it for `ring`: after `ms` milliseconds it calls ar_ring_post(ring, userdata, fn). */
void watchdog_arm(ar_ring *ring, int ms, void *userdata, ar_post_fn fn);
/* Disarms it (waiting out a post in progress); returns 1 if it posted. */
int watchdog_disarm(void);

#endif
