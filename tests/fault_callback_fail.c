/* fault_callback_fail: result callbacks and error callbacks that fail.
 * The handle becomes ready and unsuccessful with POOL_ECALLBACK and the
 * callback's message, the failure is reported on stderr in one line, and
 * the pool keeps working: later submissions, their callbacks, close and
 * join all complete. (Python's Pool loses its result-handler thread to a
 * raising callback, and wait() and join() hang.) */
#include "fault/fault.h"

enum { N = 60 };

static pool_value task_fail(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_error("the task failed");
}

/* Every third submission's callback fails, naming its slot. */
static pool_value failing_ok(fu_slot *slot, const pool_value *value)
{
    (void)value;
    if (slot->index % 3 == 0)
        return pool_error("callback boom %d", slot->index);
    return pool_none();
}

static pool_value failing_err(fu_slot *slot, const pool_value *value)
{
    (void)value;
    return pool_error("error callback boom %d", slot->index);
}

int main(void)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_callback_fail");

    fu_track t;
    fu_track_init(&t, N + 2);
    t.on_ok = failing_ok;
    t.on_err = failing_err;
    pool_result *h[N + 2] = {0};

    fu_capture cap;
    fu_capture_begin(&cap);
    /* N applies (every third callback fails), a map whose callback fails,
     * and a failing task whose error callback fails. */
    for (int i = 0; i < N; i++) {
        pool_opts o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o,
                                  &h[i]));
    }
    pool_opts om = fu_opts(&t, N, 0); /* slot N: N % 3 == 0, so it fails */
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(500), &om, &h[N]));
    pool_opts oe = fu_opts(&t, N + 1, 0);
    CHECK_OK(pool_apply_async(pool, task_fail, pool_tuple(0), &oe, &h[N + 1]));

    int rcs[N + 2];
    char msgs[N + 2][128];
    for (int i = 0; i < N + 2; i++) {
        const pool_value *v = NULL;
        rcs[i] = fu_get(h[i], &v, "a submission with a failing callback");
        snprintf(msgs[i], sizeof msgs[i], "%s", fu_msg(v));
        CHECK(pool_result_ready(h[i]), "handle %d not ready", i);
    }
    /* The pool still works after all those failures. */
    fu_check_pool_works(pool, 300, "after failing callbacks");
    CHECK_EQ_INT(N + 2, fu_track_wait(&t, N + 2, FU_TIMEOUT));
    char *err = fu_capture_end(&cap);

    for (int i = 0; i < N; i++) {
        char want[64];
        if (i % 3 == 0) {
            snprintf(want, sizeof want, "callback boom %d", i);
            CHECK(rcs[i] == POOL_ECALLBACK, "#%d: a failing callback gave %d (%s)", i,
                  rcs[i], pool_strerror(rcs[i]));
            CHECK_STR_CONTAINS(msgs[i], want);
            CHECK(!pool_result_successful(h[i]), "#%d: successful after its callback failed",
                  i);
            /* "callback boom 3" is also in "callback boom 30": count whole
             * words by adding the line's end. */
            char line_end[72];
            snprintf(line_end, sizeof line_end, "%s\n", want);
            CHECK(fu_count_lines_with(err, want) >= 1 && strstr(err, line_end),
                  "#%d: stderr has no line ending in \"%s\":\n%s", i, want, err);
        } else {
            CHECK(rcs[i] == POOL_OK, "#%d: %d (%s) %s", i, rcs[i], pool_strerror(rcs[i]),
                  msgs[i]);
            CHECK(pool_result_successful(h[i]), "#%d: not successful", i);
        }
    }
    CHECK(rcs[N] == POOL_ECALLBACK, "the map's failing callback gave %d (%s)", rcs[N],
          pool_strerror(rcs[N]));
    char want[64];
    snprintf(want, sizeof want, "callback boom %d", N);
    CHECK_STR_CONTAINS(msgs[N], want);
    /* The error callback failed: the handle reports the callback's failure. */
    CHECK(rcs[N + 1] == POOL_ECALLBACK, "a failing error callback gave %d (%s)", rcs[N + 1],
          pool_strerror(rcs[N + 1]));
    snprintf(want, sizeof want, "error callback boom %d", N + 1);
    CHECK_STR_CONTAINS(msgs[N + 1], want);
    CHECK(!pool_result_successful(h[N + 1]), "successful after a failing error callback");
    CHECK_EQ_INT(1, fu_count_lines_with(err, want));

    /* One line per failure, no more. */
    int failures = 0;
    for (int i = 0; i <= N; i += 3)
        failures++;
    failures++; /* the error callback */
    CHECK(fu_count_lines_with(err, "boom") == failures,
          "expected %d lines about failed callbacks on stderr, got %d:\n%s", failures,
          fu_count_lines_with(err, "boom"), err);
    free(err);

    fu_track_check(&t, -1, "failing callbacks");
    CHECK_EQ_INT(N + 1, t.ok);  /* result callbacks: N applies and the map */
    CHECK_EQ_INT(1, t.err);     /* error callbacks: the failing task */
    for (int i = 0; i < N + 2; i++)
        pool_result_release(h[i]);

    fu_pool_close(pool, "after pool_destroy");
    fu_track_free(&t);
    return check_done("fault_callback_fail");
}
