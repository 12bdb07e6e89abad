/* pool_result_handler.c - the parent's result-handler thread. It takes
 * finished jobs from the done queue in the order they finished, runs each
 * job's callback (or its error callback) outside the lock, then marks the
 * handle ready and wakes whoever waits on it, then runs the done callbacks
 * added before it was ready. Callbacks therefore always
 * run in the parent, on this one thread, one at a time. */
#include "pool_internal.h"

#include <stdlib.h>
#include <string.h>

/* A callback's slice in the trace, with what it got, and an arrow from
 * the end of each task whose result it got. */
static void trace_callback(struct pool_result *job, const char *what, const pool_value *arg,
                           long long start)
{
    pool_t *pool = job->pool;
    char value[2 * TRACE_REPR_MAX + 8];
    trace_repr(arg, TRACE_REPR_MAX, value, sizeof value);
    trace_event(pool, 'X', what, 0, start, trace_now() - start, ",\"job\":%lu,\"value\":%s",
                job->trace_job, value);
    for (size_t i = 0; job->ends && i < job->n_items; i++)
        if (job->ends[i].pid)
            trace_flow(pool, job->flow_base + i, job->ends[i].pid, job->ends[i].ns, start);
}

/* Runs a callback outside the lock; a failure is reported and kept. */
static void run_callback(struct pool_result *job, pool_callback_fn cb,
                         const pool_value *arg, const char *which)
{
    long long start = job->pool->trace ? trace_now() : 0;
    pool_value r = cb(arg, job->opts.user_data);
    if (job->pool->trace)
        trace_callback(job, strcmp(which, "callback") == 0 ? "callback" : "error_callback", arg,
                       start);
    if (r.type == POOL_ERROR) {
        report("pool: %s failed: %s", which, r.as.s);
        pool_value_free(&job->error);
        job->error = r;
        job->status = POOL_ECALLBACK;
    } else {
        pool_value_free(&r);
    }
}

/* Runs a job's done callbacks in the order added, without the lock, and
 * frees the list; each may release the job, which stays until we return. */
static void run_done_callbacks(struct pool_result *job, struct done_cb *list)
{
    pool_t *pool = job->pool;
    while (list) {
        struct done_cb *d = list;
        list = d->next;
        long long start = pool->trace ? trace_now() : 0;
        d->fn(job, d->user_data);
        if (pool->trace)
            trace_event(pool, 'X', "done_callback", 0, start, trace_now() - start,
                        ",\"job\":%lu", job->trace_job);
        free(d);
    }
    trace_unlocked(pool);
}

/* The thread a pool's result handler runs on knows its pool: a thread id
 * is not enough, since glibc gives a joined thread's id to the next thread
 * made, and that thread would then be taken for the handler. */
static _Thread_local const pool_t *result_handler_of;

void *result_handler_main(void *arg)
{
    pool_t *pool = arg;
    result_handler_of = pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->done_head && !pool->task_handler_done)
            pthread_cond_wait(&pool->result_handler_cv, &pool->lock);
        struct pool_result *job = pool->done_head;
        if (!job)
            break;
        pool->done_head = job->next_queued;
        if (!pool->done_head)
            pool->done_tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        /* Until ready is set, only this thread touches the job. */
        if (job->status == POOL_OK && job->opts.callback)
            run_callback(job, job->opts.callback, &job->output, "callback");
        else if (job->status != POOL_OK && job->opts.error_callback)
            run_callback(job, job->opts.error_callback, &job->error, "error callback");
        trace_unlocked(pool);

        char line[UNSEEN_LINE];
        bool unseen = false;
        pthread_mutex_lock(&pool->lock);
        job->ready = true;
        job->ready_seq = ++pool->ready_count; /* imap_unordered takes the earliest */
        if (pool->trace)
            trace_event(pool, 'i', "ready", 0, trace_now(), 0, ",\"job\":%lu,\"ok\":%s",
                        job->trace_job, job->status == POOL_OK ? "true" : "false");
        pthread_cond_broadcast(&pool->ready_cv);
        if (job->done_cbs) {
            /* Taken off the job in the same hold that set ready: a callback
             * added from now on runs at once on its caller's thread. */
            struct done_cb *list = job->done_cbs;
            job->done_cbs = job->done_cbs_tail = NULL;
            job->in_done_callbacks = true; /* release leaves the job to us */
            pthread_mutex_unlock(&pool->lock);
            run_done_callbacks(job, list);
            pthread_mutex_lock(&pool->lock);
            job->in_done_callbacks = false;
        }
        if (job->released) {
            unseen = job_unseen_failure(job, line);
            job_free(pool, job);
        }
        if (unseen) {
            pthread_mutex_unlock(&pool->lock);
            report("%s", line);
            pthread_mutex_lock(&pool->lock);
        }
    }
    pthread_cond_broadcast(&pool->ready_cv);
    pthread_mutex_unlock(&pool->lock);
    trace_unlocked(pool); /* this thread's last events */
    return NULL;
}

bool on_result_handler_thread(const pool_t *pool)
{
    return result_handler_of == pool;
}
