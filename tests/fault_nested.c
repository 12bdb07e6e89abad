/* fault_nested: callbacks that submit follow-up work, three levels deep.
 * 10 roots; each callback (result or error) below level 3 submits 3
 * follow-ups, one each by apply_async, map_async and starmap_async, and
 * releases their handles at once; one follow-up in every three fails, and
 * its error callback goes on submitting. All 400 submissions get exactly
 * one callback with the right value, and close and join then end cleanly. */
#include "fault/fault.h"

enum { ROOTS = 10, FAN = 3, DEPTH = 3 };
/* ROOTS * (1 + 3 + 9 + 27) */
#define TOTAL (ROOTS * (1 + FAN + FAN * FAN + FAN * FAN * FAN))

static pool_t *pool;
static fu_track track;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_slot, refused, wrong_value, per_level[DEPTH + 1];
static int level_of[TOTAL], form_of[TOTAL];
static long long arg_of[TOTAL];

/* (x) -> 2x, or an error for x % 3 == 2 */
static pool_value task(const pool_value *args, size_t nargs)
{
    if (nargs < 1 || args[0].type != POOL_INT)
        return pool_error("want an int");
    if (args[0].as.i % 3 == 2)
        return pool_error("refusing %lld", args[0].as.i);
    return pool_int(args[0].as.i * 2);
}

static int take_slot(int level, int form, long long arg)
{
    pthread_mutex_lock(&mu);
    int s = next_slot < TOTAL ? next_slot++ : -1;
    if (s >= 0) {
        level_of[s] = level;
        form_of[s] = form;
        arg_of[s] = arg;
        per_level[level]++;
    }
    pthread_mutex_unlock(&mu);
    return s;
}

static void submit(int level, int form, long long arg)
{
    int s = take_slot(level, form, arg);
    if (s < 0) {
        pthread_mutex_lock(&mu);
        refused++;
        pthread_mutex_unlock(&mu);
        return;
    }
    pool_opts o = fu_opts(&track, s, 0);
    pool_result *r = NULL;
    int rc;
    if (form == 0) {
        rc = pool_apply_async(pool, task, pool_tuple(1, pool_int(arg)), &o, &r);
    } else if (form == 1) {
        pool_value items = pool_list(1);
        items.as.items[0] = pool_int(arg);
        rc = pool_map_async(pool, task, items, &o, &r);
    } else {
        pool_value items = pool_list(1);
        items.as.items[0] = pool_tuple(1, pool_int(arg));
        rc = pool_starmap_async(pool, task, items, &o, &r);
    }
    if (rc != POOL_OK) {
        pthread_mutex_lock(&mu);
        refused++;
        pthread_mutex_unlock(&mu);
        return;
    }
    pool_result_release(r);
}

static void follow_up(fu_slot *slot)
{
    pthread_mutex_lock(&mu);
    int level = level_of[slot->index];
    long long arg = arg_of[slot->index];
    pthread_mutex_unlock(&mu);
    if (level < DEPTH)
        for (int f = 0; f < FAN; f++)
            submit(level + 1, f, arg * FAN + f);
}

static pool_value on_ok(fu_slot *slot, const pool_value *value)
{
    pthread_mutex_lock(&mu);
    long long want = 2 * arg_of[slot->index];
    int form = form_of[slot->index];
    pthread_mutex_unlock(&mu);
    const pool_value *got = value;
    if (form != 0 && value->type == POOL_LIST && value->len == 1)
        got = &value->as.items[0];
    if (got->type != POOL_INT || got->as.i != want) {
        pthread_mutex_lock(&mu);
        wrong_value++;
        pthread_mutex_unlock(&mu);
    }
    follow_up(slot);
    return pool_none();
}

static pool_value on_err(fu_slot *slot, const pool_value *value)
{
    pthread_mutex_lock(&mu);
    bool expected = arg_of[slot->index] % 3 == 2;
    pthread_mutex_unlock(&mu);
    if (!expected || value->type != POOL_ERROR || !strstr(value->as.s, "refusing")) {
        pthread_mutex_lock(&mu);
        wrong_value++;
        pthread_mutex_unlock(&mu);
    }
    follow_up(slot);
    return pool_none();
}

int main(void)
{
    pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_nested");
    fu_track_init(&track, TOTAL);
    track.on_ok = on_ok;
    track.on_err = on_err;

    for (int i = 0; i < ROOTS; i++)
        submit(0, 0, 3 * i); /* roots never fail */
    long calls = fu_track_wait(&track, TOTAL, FU_TIMEOUT);
    CHECK(calls == TOTAL, "%ld of %d callbacks ran", calls, TOTAL);

    pthread_mutex_lock(&mu);
    CHECK_EQ_INT(0, refused);
    CHECK_EQ_INT(0, wrong_value);
    CHECK_EQ_INT(TOTAL, next_slot);
    int expect = ROOTS;
    for (int l = 0; l <= DEPTH; l++, expect *= FAN)
        CHECK(per_level[l] == expect, "level %d: %d submissions, not %d", l, per_level[l],
              expect);
    pthread_mutex_unlock(&mu);
    fu_track_check(&track, -1, "follow-ups from callbacks");
    int failed = 0;
    for (int i = 0; i < TOTAL; i++)
        if (arg_of[i] % 3 == 2)
            failed++;
    CHECK(failed > 0, "no follow-up failed, so the error path went untested");
    CHECK_EQ_INT(failed, track.err);
    CHECK_EQ_INT(TOTAL - failed, track.ok);

    fu_pool_close(pool, "after pool_destroy");
    CHECK_EQ_INT(TOTAL, track.calls); /* none late */
    fu_track_free(&track);
    return check_done("fault_nested");
}
