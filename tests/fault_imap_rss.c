/* fault_imap_rss: a 10,000,000-item pool_imap_unordered() runs in bounded
 * memory. The input is made one item at a time by next(), 1000 items a
 * chunk, and the task is trivial; the parent's peak resident set (VmHWM)
 * may grow by at most 64 MiB over the run, where holding every item and
 * result at once would take 320 MB (16 bytes per pool_value each way).
 * Every index must come exactly once (a bitmap) with its right value.
 * Prints the measured peak and time. POOL_NO_RSS_CHECK=1 (memcheck and the
 * sanitizers) skips the peak's bound; under Valgrind and the sanitizers
 * the run has 200,000 items. */
#include "fault/fault.h"

#define GROWTH_BOUND_KIB (64L * 1024)

typedef struct counter {
    long long n, reads;
} counter;

static bool next_int(void *state, pool_value *item)
{
    counter *c = state;
    if (c->reads >= c->n)
        return false;
    *item = pool_int(c->reads++);
    return true;
}

static pool_value plus_one(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i + 1);
}

int main(void)
{
    const long long n = fu_under_valgrind() || fu_under_sanitizer() ? 200000 : 10000000;
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_imap_rss");
    unsigned char *seen = calloc((size_t)n / 8 + 1, 1); /* made before the baseline */
    if (!seen) {
        perror("calloc");
        return 2;
    }
    long before = fu_status_kib("VmHWM");
    double t0 = fu_now();

    counter in = {.n = n};
    pool_iter *it;
    CHECK_OK(pool_imap_unordered(pool, plus_one, next_int, &in, 1000, &it));
    long long got = 0, twice = 0, wrong = 0;
    pool_value v;
    int rc;
    while ((rc = pool_iter_next(it, FU_TIMEOUT, &v)) == POOL_OK) {
        size_t i = pool_iter_index(it);
        if (i >= (size_t)n || v.type != POOL_INT || v.as.i != (long long)i + 1)
            wrong++;
        else if (seen[i / 8] & (1u << (i % 8)))
            twice++;
        else
            seen[i / 8] |= (unsigned char)(1u << (i % 8));
        got++;
    }
    CHECK_EQ_INT(POOL_END, rc);
    pool_iter_destroy(it);
    double took = fu_now() - t0;
    long peak = fu_status_kib("VmHWM");

    long long missing = 0;
    for (long long i = 0; i < n; i++)
        missing += !(seen[i / 8] & (1u << (i % 8)));
    CHECK_EQ_INT(n, got);
    CHECK_EQ_INT(0, wrong);
    CHECK_EQ_INT(0, twice);
    CHECK_EQ_INT(0, missing);
    free(seen);
    fprintf(stderr, "fault_imap_rss: %lld items in %.2f s; parent's peak RSS %ld MiB, "
                    "%ld MiB above the start (bound %ld MiB%s)\n",
            n, took, peak >> 10, (peak - before) >> 10, GROWTH_BOUND_KIB >> 10,
            fu_instrumented() ? ", not checked here" : "");
    if (!fu_instrumented())
        CHECK(peak - before <= GROWTH_BOUND_KIB,
              "the parent's peak grew %ld MiB over %lld items; at most %ld MiB allowed",
              (peak - before) >> 10, n, GROWTH_BOUND_KIB >> 10);
    fu_pool_close(pool, "after a 10M-item imap_unordered");
    return check_done("fault_imap_rss");
}
