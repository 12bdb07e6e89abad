/* pool_job.c - a job's bookkeeping: its failure, when it is finished,
 * whether its failure is owed a report, and freeing it. Every function
 * runs with pool->lock held, or where no pool thread runs any more. */
#include "pool_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Hands a finished job to the result handler. A job that failed early may
 * still be on the pending queue or have chunks waiting to be retried: those
 * go first, so nothing points at the job once its handle is freed. */
void job_finish(pool_t *pool, struct pool_result *job)
{
    if (job->next_item < job->n_items) {
        struct pool_result **pp = &pool->pending;
        pool->pending_tail = NULL;
        while (*pp) {
            if (*pp == job) {
                *pp = job->next_queued;
            } else {
                pool->pending_tail = *pp;
                pp = &(*pp)->next_queued;
            }
        }
    }
    for (chunk **cp = &pool->retry; *cp && job->status != POOL_OK;) {
        chunk *c = *cp;
        if (c->job == job) {
            *cp = c->next;
            free(c);
        } else {
            cp = &c->next;
        }
    }
    job->done = true;
    job->next_queued = NULL;
    if (pool->done_tail)
        pool->done_tail->next_queued = job;
    else
        pool->done_head = job;
    pool->done_tail = job;
    pthread_cond_signal(&pool->result_handler_cv);
}

/* Records the first failure of a job; later ones add nothing. */
void job_fail(struct pool_result *job, int status, pool_value error)
{
    if (job->status == POOL_OK) {
        job->status = status;
        job->error = error;
    } else {
        pool_value_free(&error);
    }
}

/* A job is finished when nothing is in flight and it failed or got all. */
void job_check(pool_t *pool, struct pool_result *job)
{
    if (!job->done && job->inflight == 0 &&
        (job->status != POOL_OK || job->items_done == job->n_items))
        job_finish(pool, job);
}

/* A task's failure that nobody will ever see: no error callback got it,
 * and neither get nor successful revealed it. A terminated job is the
 * program's own doing, and a failed callback was reported when it failed.
 * Fills line and returns true when one is owed; the caller writes it once
 * the lock is released, since a write to stderr can block. */
bool job_unseen_failure(const struct pool_result *job, char line[UNSEEN_LINE])
{
    if (job->status != POOL_ETASK || job->opts.error_callback || job->retrieved)
        return false;
    const char *what = job->error.type == POOL_ERROR ? job->error.as.s
                                                     : pool_strerror(job->status);
    /* The message is cut, not the end, so the line always says why it is there. */
    snprintf(line, UNSEEN_LINE, "pool: %.400s; its error was never retrieved", what);
    return true;
}

void job_free(pool_t *pool, struct pool_result *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        pool->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    if (!job->in_place) /* else output holds what is left of it */
        pool_value_free(&job->input);
    pool_value_free(&job->output);
    pool_value_free(&job->error);
    free(job->ends);
    while (job->done_cbs) { /* a job finished by terminate or destroy never ran them */
        struct done_cb *d = job->done_cbs;
        job->done_cbs = d->next;
        free(d);
    }
    free(job);
}

/* A job none of whose items was sent: nothing of it is in a worker's pipe,
 * and next_item only grows under pool->lock (pool_chunks.c's next_chunk),
 * so this check and the task handler's send cannot both win. A chunk on the
 * retry list was sent once, so next_item is past it. */
bool job_cancel(pool_t *pool, struct pool_result *job)
{
    bool cancellable = !job->done && job->next_item == 0 && job->inflight == 0;
    if (pool->trace)
        trace_event(pool, 'i', "cancel", 0, trace_now(), 0, ",\"job\":%lu,\"cancelled\":%s",
                    job->trace_job, cancellable ? "true" : "false");
    if (!cancellable)
        return false;
    job_fail(job, POOL_ECANCELLED, pool_error("cancelled"));
    job_finish(pool, job); /* takes it off the pending queue */
    return true;
}
