/* track.c - callbacks that count: one slot per submission, its user_data,
 * so that "exactly one callback, exactly once" can be checked. */
#include <time.h>

#include "internal.h"

void fu_track_init(fu_track *t, int n)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL); /* cannot fail with default attributes */
    pthread_cond_init(&t->cv, NULL);
    t->n = n;
    t->slots = calloc((size_t)(n > 0 ? n : 1), sizeof *t->slots);
    if (!t->slots) {
        perror("calloc");
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        t->slots[i].track = t;
        t->slots[i].index = i;
    }
}

void fu_track_free(fu_track *t)
{
    free(t->slots);
    t->slots = NULL;
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

static void record(fu_slot *s, const pool_value *v, bool ok)
{
    fu_track *t = s->track;
    pthread_mutex_lock(&t->mu);
    if (ok)
        s->ok_calls++, t->ok++;
    else
        s->err_calls++, t->err++;
    s->type = v ? v->type : POOL_NONE;
    s->len = v ? v->len : 0;
    if (v && v->type == POOL_INT)
        s->ival = v->as.i;
    if (v && (v->type == POOL_ERROR || v->type == POOL_STR) && v->as.s)
        snprintf(s->msg, sizeof s->msg, "%s", v->as.s);
    t->calls++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static pool_value on_result(const pool_value *value, void *user_data)
{
    fu_slot *s = user_data;
    pool_value ret = s->track->on_ok ? s->track->on_ok(s, value) : pool_none();
    record(s, value, true);
    return ret;
}

static pool_value on_error(const pool_value *value, void *user_data)
{
    fu_slot *s = user_data;
    pool_value ret = s->track->on_err ? s->track->on_err(s, value) : pool_none();
    record(s, value, false);
    return ret;
}

pool_opts fu_opts(fu_track *t, int slot, long chunksize)
{
    pool_opts o = {.chunksize = chunksize,
                   .callback = on_result,
                   .error_callback = on_error,
                   .user_data = &t->slots[slot]};
    return o;
}

long fu_track_wait(fu_track *t, long calls, double timeout)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl); /* the condition variable's clock */
    dl.tv_sec += (time_t)timeout;
    pthread_mutex_lock(&t->mu);
    while (t->calls < calls)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            break;
    long got = t->calls;
    pthread_mutex_unlock(&t->mu);
    return got;
}

void fu_track_check(fu_track *t, int expect_ok, const char *what)
{
    int bad = 0, first = -1, wrong = 0, first_wrong = -1;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++) {
        fu_slot *s = &t->slots[i];
        if (s->ok_calls + s->err_calls != 1) {
            if (first < 0)
                first = i;
            bad++;
        } else if ((expect_ok == 1 && s->ok_calls != 1) ||
                   (expect_ok == 0 && s->err_calls != 1)) {
            if (first_wrong < 0)
                first_wrong = i;
            wrong++;
        }
    }
    CHECK(bad == 0,
          "%s: %d of %d submissions did not get exactly one callback "
          "(first: #%d with %d result and %d error callbacks)",
          what, bad, t->n, first, first >= 0 ? t->slots[first].ok_calls : 0,
          first >= 0 ? t->slots[first].err_calls : 0);
    CHECK(wrong == 0, "%s: %d of %d submissions got the wrong callback (first: #%d, "
          "message \"%s\")", what, wrong, t->n, first_wrong,
          first_wrong >= 0 ? t->slots[first_wrong].msg : "");
    pthread_mutex_unlock(&t->mu);
}
