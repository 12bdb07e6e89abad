/* fault_memory_peak: a big value's round trip costs the parent at most two
 * payloads of memory through the pipes, and one through shared memory. A
 * 256 MiB bytes value goes to a worker by apply and comes back; then a map
 * sends two 128 MiB items, one per chunk, and gets them back. The value is
 * built in place, so before the call the parent holds one payload. Through
 * the pipes (config.shm_min = POOL_SHM_NEVER) the peak resident set
 * (VmHWM) during the call may then grow to two payloads and 16 MiB, not
 * more: the pool keeps no whole copy of its encoded message once it is
 * written, nor of an argument once its worker has read it. In shared
 * memory (the default) it may grow to one payload and 16 MiB: the memfd
 * the parent writes is not its memory, and the argument is freed before
 * the result's mapping is touched. Every byte that comes back is checked. Under
 * Valgrind and the sanitizers, whose memory figures mean nothing, the
 * values are 16 MiB and only the bytes are checked. */
#include "fault/fault.h"

static size_t payload(void)
{
    return fu_instrumented() ? (size_t)16 << 20 : (size_t)256 << 20;
}

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)((i * 2654435761u) >> 13 ^ seed);
}

/* n bytes, written in place: no second copy is ever made here. */
static pool_value big_bytes(size_t n, unsigned seed)
{
    pool_value v = {.type = POOL_BYTES, .len = (uint32_t)n};
    v.as.bytes = malloc(n);
    if (!v.as.bytes) {
        perror("malloc");
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        v.as.bytes[i] = pattern(i, seed);
    return v;
}

static bool intact(const pool_value *v, size_t n, unsigned seed)
{
    if (v->type != POOL_BYTES || v->len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v->as.bytes[i] != pattern(i, seed))
            return false;
    return true;
}

/* The task hands back the argument it got, moved rather than copied, so
 * the worker's memory is not what is measured either. */
static pool_value task_echo(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_BYTES)
        return pool_error("want bytes");
    pool_value *arg = (pool_value *)&args[0];
    pool_value v = *arg;
    *arg = pool_none();
    return v;
}

/* Starts a new peak: VmHWM falls back to the resident set now. */
static bool reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "we");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static void check_peak(long before_kib, const char *what, int payloads)
{
    long peak = fu_status_kib("VmHWM");
    long limit = (long)(payloads * payload() >> 10) + 16 * 1024;
    fprintf(stderr, "fault_memory_peak: %s: peak %ld MiB above the start, %zu MiB payload\n",
            what, (peak - before_kib) >> 10, payload() >> 20);
    if (!fu_instrumented())
        CHECK(peak - before_kib <= limit,
              "%s: the parent's peak grew %ld MiB for a %zu MiB payload; at most %ld MiB "
              "allowed", what, (peak - before_kib) >> 10, payload() >> 20, limit >> 10);
}

/* Both round trips on a pool whose values cross at shm_min, each allowed
 * to grow the peak by payloads payloads and 16 MiB. */
static void round_trips(const char *how, size_t shm_min, int payloads)
{
    char what[64];
    pool_t *pool = fu_pool_open((pool_config){.processes = 2, .shm_min = shm_min});
    if (!pool)
        return;
    fu_check_pool_works(pool, 10, "at the start"); /* the pool's own buffers exist */
    size_t n = payload();

    /* 1. apply: one value there and back. */
    bool reset = reset_peak();
    long before = fu_status_kib(reset ? "VmRSS" : "VmHWM");
    pool_value out = pool_none();
    int rc = pool_apply(pool, task_echo, pool_tuple(1, big_bytes(n, 1)), NULL, &out);
    CHECK(rc == POOL_OK && intact(&out, n, 1), "apply: %d (%s) %s, or the bytes changed", rc,
          pool_strerror(rc), fu_msg(&out));
    snprintf(what, sizeof what, "apply %s", how);
    check_peak(before, what, payloads);
    pool_value_free(&out);

    /* 2. map: two items, one per chunk, so both workers hold one. */
    reset = reset_peak();
    before = fu_status_kib(reset ? "VmRSS" : "VmHWM");
    pool_value items = pool_list(2);
    items.as.items[0] = big_bytes(n / 2, 2);
    items.as.items[1] = big_bytes(n / 2, 3);
    pool_opts one = {.chunksize = 1};
    rc = pool_map(pool, task_echo, items, &one, &out);
    CHECK(rc == POOL_OK && out.type == POOL_LIST && out.len == 2 &&
              intact(&out.as.items[0], n / 2, 2) && intact(&out.as.items[1], n / 2, 3),
          "map: %d (%s) %s, or the bytes changed", rc, pool_strerror(rc), fu_msg(&out));
    snprintf(what, sizeof what, "map %s", how);
    if (reset)
        check_peak(before, what, payloads);
    pool_value_free(&out);

    fu_check_pool_works(pool, 100, "after big values");
    fu_pool_close(pool, "after big values");
}

int main(void)
{
    round_trips("through the pipes", POOL_SHM_NEVER, 2);
    round_trips("in shared memory", 0, 1);
    return check_done("fault_memory_peak");
}
