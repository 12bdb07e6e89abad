/* fault_threads: 8 threads each submit 10,000 tasks at once.
 * The threads start together at a barrier and submit with apply_async, then
 * one blocking pool_map each; every handle is waited on and released.
 * Nothing is lost or doubled: each of the 80,000 submissions gets exactly
 * one result callback with its own right value. Under Valgrind each thread
 * submits 500. */
#include "fault/fault.h"

enum { THREADS = 8 };

static pool_t *pool;
static fu_track track;
static int per_thread;
static pthread_barrier_t barrier;

typedef struct job {
    int id;
    int refused, wrong, map_failed;
} job;

static void *submitter(void *arg)
{
    job *j = arg;
    pool_result **h = calloc((size_t)per_thread, sizeof *h);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < per_thread; i++) {
        int slot = j->id * per_thread + i;
        pool_opts o = fu_opts(&track, slot, 0);
        if (pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(slot)), &o,
                             &h[i]) != POOL_OK)
            j->refused++;
    }
    pool_value out = pool_none();
    if (pool_map(pool, fu_task_double, pool_range(1000), NULL, &out) != POOL_OK ||
        out.type != POOL_LIST || out.len != 1000 || out.as.items[999].as.i != 1998)
        j->map_failed++;
    pool_value_free(&out);
    for (int i = 0; i < per_thread; i++) {
        if (!h[i])
            continue;
        const pool_value *v = NULL;
        int slot = j->id * per_thread + i;
        int rc = pool_result_get(h[i], FU_TIMEOUT, &v);
        if (rc != POOL_OK || v->type != POOL_INT || v->as.i != 2LL * slot)
            j->wrong++;
        pool_result_release(h[i]);
    }
    free(h);
    return NULL;
}

/* The callback's value must be twice its slot. */
static pool_value check_value(fu_slot *slot, const pool_value *value)
{
    if (value->type != POOL_INT || value->as.i != 2LL * slot->index)
        return pool_error("slot %d got the wrong value", slot->index);
    return pool_none();
}

int main(void)
{
    per_thread = fu_under_valgrind() ? 500 : 10000;
    int total = THREADS * per_thread;
    pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_threads");
    fu_track_init(&track, total);
    track.on_ok = check_value;
    pthread_barrier_init(&barrier, NULL, THREADS);

    pthread_t th[THREADS];
    job jobs[THREADS] = {{0}};
    for (int i = 0; i < THREADS; i++) {
        jobs[i].id = i;
        CHECK(pthread_create(&th[i], NULL, submitter, &jobs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        CHECK(jobs[i].refused == 0, "thread %d: %d submissions refused", i, jobs[i].refused);
        CHECK(jobs[i].wrong == 0, "thread %d: %d handles wrong or not ready", i, jobs[i].wrong);
        CHECK(jobs[i].map_failed == 0, "thread %d: its pool_map failed", i);
    }
    CHECK_EQ_INT(total, fu_track_wait(&track, total, FU_TIMEOUT));
    fu_track_check(&track, 1, "8 threads submitting at once");
    CHECK_EQ_INT(total, track.ok);

    fu_pool_close(pool, "after pool_destroy");
    pthread_barrier_destroy(&barrier);
    fu_track_free(&track);
    return check_done("fault_threads");
}
