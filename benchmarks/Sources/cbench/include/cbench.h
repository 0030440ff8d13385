/*
 * cbench.h -- the load engine behind `echo-bench load` and `echo-bench suite`.
 *
 * One thread drives every connection through epoll (poll elsewhere), so that the client does
 * no more work per message than the server it measures. Every byte that comes back is checked
 * against what was sent; latencies go into a log-linear histogram.
 */
#ifndef CBENCH_H
#define CBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Latency histogram ------------------------------------------------------------------ */

/* Log-linear, like HdrHistogram: values below 256 are exact, above that each power of two is
 * cut into 128 buckets, so a reported value is at most 0.8 % above the true one. */
enum { CB_HIST_SUB_BITS = 7, CB_HIST_BUCKETS = (64 - CB_HIST_SUB_BITS + 1) << CB_HIST_SUB_BITS };

typedef struct cb_histogram {
    uint64_t counts[CB_HIST_BUCKETS];
    uint64_t total;
    uint64_t min;
    uint64_t max;
    uint64_t sum;      /* of every value, for the mean */
} cb_histogram;

void cb_histogram_reset(cb_histogram *h);
void cb_histogram_record(cb_histogram *h, uint64_t value);
/* The value at `quantile` (0...1): the upper edge of its bucket, never above the max seen.
 * 0 when empty. */
uint64_t cb_histogram_quantile(const cb_histogram *h, double quantile);
size_t cb_histogram_bucket(uint64_t value);
uint64_t cb_histogram_bucket_upper(size_t bucket);

/* ---- Workload --------------------------------------------------------------------------- */

typedef enum cb_mode {
    CB_MODE_PINGPONG = 0, /* up to `depth` messages in flight per connection */
    CB_MODE_STREAM,       /* up to `window` bytes in flight per connection */
} cb_mode;

typedef enum cb_framing {
    CB_FRAMING_RAW = 0,   /* SIZE bytes per message */
    CB_FRAMING_LINE,      /* SIZE bytes without a newline, then "\n" */
    CB_FRAMING_LENGTH,    /* a 4-byte big-endian length, then SIZE bytes */
} cb_framing;

typedef enum cb_expect {
    CB_EXPECT_ECHO = 0,   /* the reply is the message */
    CB_EXPECT_UPPER,      /* payloads are lower-case letters; the reply is them upper-cased */
} cb_expect;

typedef enum cb_phase {
    CB_PHASE_CONNECT = 0,
    CB_PHASE_WARMUP,
    CB_PHASE_MEASURE,
    CB_PHASE_DRAIN,
    CB_PHASE_DONE,
} cb_phase;

/* Called on the engine's thread when a phase begins (so the caller can sample the server's
 * CPU time exactly at the edges of the measured window) and about every 250 ms in between,
 * with the round trips completed so far in the current phase. */
typedef void (*cb_progress_fn)(void *ctx, cb_phase phase, int phase_started, double elapsed_s,
                               uint64_t round_trips);

typedef struct cb_load_config {
    const char *host;          /* numeric IPv4 or IPv6 address, or a name to resolve */
    int port;
    int conns;
    size_t size;               /* payload bytes per message */
    int depth;                 /* ping-pong: messages in flight per connection */
    size_t window;             /* stream: bytes in flight per connection */
    cb_mode mode;
    cb_framing framing;
    cb_expect expect;
    double warmup_s;
    double duration_s;
    double connect_timeout_s;  /* for every connection to get its first echo */
    int connect_concurrency;   /* connects in progress at once; 0 = all at once */
    double drain_s;            /* after the window: how long to wait for echoes in flight */
    uint64_t seed;
    cb_progress_fn progress;
    void *progress_ctx;
} cb_load_config;

/* Fills in the defaults: 127.0.0.1, 100 connections, 1 KiB ping-pong at depth 1, raw,
 * 1 s warm-up, 5 s measured, 10 s connect timeout, 2 s drain, window 4 x size. */
void cb_load_config_init(cb_load_config *config);

typedef struct cb_load_result {
    int ready;                  /* connections that got their first echo */
    int connect_failures;
    int connect_error;          /* errno of the first connect that failed (ECONNREFUSED, …), or 0 */
    double connect_s;           /* how long the connect phase took */
    double measured_s;          /* the measured window, as it really ran */
    uint64_t round_trips;       /* messages fully echoed inside the window */
    uint64_t bytes_sent;        /* wire bytes sent inside the window */
    uint64_t bytes_received;    /* wire bytes received inside the window */
    uint64_t verify_errors;     /* messages with at least one wrong byte */
    uint64_t mismatched_bytes;
    uint64_t overflow_errors;   /* connections that got more bytes than they sent */
    uint64_t disconnects;       /* EOF or reset while running */
    uint64_t timeouts;          /* an echo still incomplete and silent at the end of the drain */
    double cpu_s;               /* this process's CPU time (user + system) over the window */
    int interrupted;            /* the signal that ended the run early (cb_catch_interrupts), or 0;
                                   a window cut short is measured up to the signal */
    cb_histogram latency;       /* ns from a message's first byte sent to its last byte back */
} cb_load_result;

/* Runs one load. Returns 0, or -1 with `error` filled ("what: why") when the run could not
 * start (bad address, out of memory). A run where connections fail still returns 0: the
 * result counts them. Raises RLIMIT_NOFILE as far as the hard limit allows. */
int cb_load_run(const cb_load_config *config, cb_load_result *result, char *error, size_t error_len);

/* ---- Helpers for the suite ------------------------------------------------------------- */

/* Pins the calling thread (and what it spawns from now on) to one CPU. -1 where the platform
 * has no affinity call, or the CPU is not allowed. */
int cb_pin_to_cpu(int cpu);
/* CPUs this process may run on; 0 when unknown. */
int cb_allowed_cpus(void);

/* Makes SIGINT, SIGTERM and SIGHUP record themselves instead of ending the process, so that
 * the caller can stop what it started and report. 0, or -1 with errno. */
int cb_catch_interrupts(void);
/* The first of those signals caught so far, or 0. A load run in progress ends soon after one
 * (within its 250 ms tick), and cb_idle_open stops opening. */
int cb_interrupted(void);

/* Linux: orphaned descendants are re-parented to this process instead of init, so that they
 * can be found, stopped and reaped. 0, or -1 with errno (ENOSYS elsewhere). */
int cb_become_subreaper(void);

/* Opens `count` connections and makes one 1-byte round trip on each, so that the server has
 * accepted and served every one; they stay open in `fds` for the caller to measure, then
 * cb_idle_close(). Returns how many are open; on a failure `error` says why. */
int cb_idle_open(const char *host, int port, int count, int *fds, char *error, size_t error_len);
void cb_idle_close(int *fds, int count);

#ifdef __cplusplus
}
#endif

#endif
