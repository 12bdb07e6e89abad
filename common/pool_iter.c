/* pool_iter.c - pool_imap() and pool_imap_unordered(): iterators that run
 * on the program's threads. An iterator reads items from the caller's
 * next() only on the caller's thread, packs chunksize of them into one map
 * job (a "chunk job", one message to one worker), and keeps at most
 * POOL_IMAP_AHEAD chunk jobs per worker submitted and not yet handed over,
 * so the input is read only that far ahead and memory stays bounded.
 *
 * A chunk job is marked per_item_errors: a failed item keeps its own error
 * in its slot (pool_chunks.c) and the job stays successful, so the other
 * items of its chunk still come. pool_iter_next() waits on pool->ready_cv,
 * as pool_result_wait() does, and takes the oldest chunk job (imap) or the
 * one that became ready first (imap_unordered: the smallest ready_seq). No
 * callback is involved, so destroying an iterator only releases its jobs.
 */
#include "pool_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pool_iter {
    pool_t *pool;
    pool_task_fn fn;
    pool_next_fn next;
    void *state;
    size_t chunksize;
    bool ordered;
    bool input_ended;  /* next() returned false */
    bool input_cut;    /* the pool stopped taking work before the input ended */
    size_t read;       /* items read: the next item's index in the input */
    struct pool_result **jobs; /* chunk jobs submitted, not yet handed over, oldest first */
    size_t n_jobs, max_jobs;
    struct pool_result *cur;   /* the chunk job being handed over, item by item */
    size_t cur_pos;
    size_t last_index;
};

/* Submits items, the input's index_base onward, as one chunk job; it takes
 * the list over. With failed an error value (which it takes over) the job
 * is one item that no worker could decode: it is ready at once, with that
 * error in its slot, and never sent. POOL_ENOTRUNNING once the pool
 * stopped taking work. */
static int submit_chunk(pool_iter *it, pool_value items, size_t index_base, pool_value failed)
{
    pool_t *pool = it->pool;
    struct pool_result *job = xcalloc(1, sizeof *job);
    job->pool = pool;
    job->fn = it->fn;
    job->mode = MAP;
    job->input = items;
    job->n_items = items.len;
    job->output = pool_list(job->n_items);
    job->chunksize = job->n_items; /* one message */
    job->per_item_errors = true;
    job->index_base = index_base;

    pthread_mutex_lock(&pool->lock);
    if (pool->state != RUN) {
        pthread_mutex_unlock(&pool->lock);
        pool_value_free(&job->input);
        pool_value_free(&job->output);
        pool_value_free(&failed);
        free(job);
        return POOL_ENOTRUNNING;
    }
    job->next = pool->jobs;
    if (pool->jobs)
        pool->jobs->prev = job;
    pool->jobs = job;
    if (pool->trace) {
        job->trace_job = ++pool->jobs_made;
        trace_event(pool, 'i', "submit", 0, trace_now(), 0,
                    ",\"job\":%lu,\"kind\":\"%s\",\"items\":%zu,\"first\":%zu", job->trace_job,
                    it->ordered ? "imap" : "imap_unordered", job->n_items, index_base);
    }
    if (failed.type == POOL_ERROR) { /* nothing to send: ready now */
        job->output.as.items[0] = failed;
        job->next_item = job->items_done = job->n_items;
        job->done = job->ready = true;
        job->ready_seq = ++pool->ready_count;
    } else {
        if (pool->pending_tail)
            pool->pending_tail->next_queued = job;
        else
            pool->pending = job;
        pool->pending_tail = job;
        task_handler_wake(pool);
    }
    it->jobs[it->n_jobs++] = job;
    pthread_mutex_unlock(&pool->lock);
    trace_unlocked(pool);
    return POOL_OK;
}

/* Reads and submits chunks until the bound is reached or the input ends;
 * on the caller's thread, without pool->lock, since next() is the
 * caller's code. Only the iterator's own thread changes jobs and n_jobs. */
static void refill(pool_iter *it)
{
    while (!it->input_ended && !it->input_cut &&
           it->n_jobs + (it->cur != NULL) < it->max_jobs) {
        pool_t *pool = it->pool;
        pthread_mutex_lock(&pool->lock);
        bool running = pool->state == RUN;
        pthread_mutex_unlock(&pool->lock);
        if (!running) { /* close() ends the input: read no further */
            it->input_cut = true;
            return;
        }
        pool_value items = pool_list(it->chunksize);
        pool_value deep = pool_none();
        size_t n = 0;
        while (n < it->chunksize) {
            pool_value v = pool_none();
            if (!it->next(it->state, &v)) {
                pool_value_free(&v);
                it->input_ended = true;
                break;
            }
            if (nests_deeper(&v, POOL_MAX_DEPTH)) { /* no worker could decode it */
                pool_value_free(&v);
                deep = pool_error("task %zu failed: its item nests lists deeper than %d",
                                  it->read + n, POOL_MAX_DEPTH);
                break; /* the chunk ends before it */
            }
            items.as.items[n++] = v;
        }
        items.len = (uint32_t)n;
        size_t base = it->read;
        it->read += n;
        int rc = POOL_OK;
        if (n > 0)
            rc = submit_chunk(it, items, base, pool_none());
        else
            pool_value_free(&items);
        if (deep.type == POOL_ERROR) { /* one job more than the bound, at most */
            if (rc == POOL_OK)
                rc = submit_chunk(it, pool_list(1), it->read++, deep);
            else
                pool_value_free(&deep);
        }
        if (rc != POOL_OK) {
            /* Items read but never run: they are lost with the input's end. */
            it->input_cut = true;
            return;
        }
        if (n == 0 && deep.type == POOL_NONE)
            return;
    }
}

static int make_iter(pool_t *pool, pool_task_fn fn, pool_next_fn next, void *state,
                     long chunksize, bool ordered, pool_iter **out)
{
    if (out)
        *out = NULL;
    if (!pool || !fn || !next || !out || chunksize < 0 || chunksize > MAX_CHUNKSIZE)
        return POOL_EINVAL;
    if (on_result_handler_thread(pool))
        return POOL_EDEADLK;
    pthread_mutex_lock(&pool->lock);
    bool running = pool->state == RUN;
    pthread_mutex_unlock(&pool->lock);
    if (!running)
        return POOL_ENOTRUNNING;
    pool_iter *it = xcalloc(1, sizeof *it);
    it->pool = pool;
    it->fn = fn;
    it->next = next;
    it->state = state;
    it->chunksize = chunksize ? (size_t)chunksize : 1;
    it->ordered = ordered;
    it->max_jobs = POOL_IMAP_AHEAD * (size_t)pool->processes;
    it->jobs = xcalloc(it->max_jobs + 1, sizeof *it->jobs); /* + 1: an undecodable item */
    refill(it);
    *out = it;
    return POOL_OK;
}

int pool_imap(pool_t *pool, pool_task_fn fn, pool_next_fn next, void *state,
              long chunksize, pool_iter **it)
{
    return make_iter(pool, fn, next, state, chunksize, true, it);
}

int pool_imap_unordered(pool_t *pool, pool_task_fn fn, pool_next_fn next, void *state,
                        long chunksize, pool_iter **it)
{
    return make_iter(pool, fn, next, state, chunksize, false, it);
}

/* Gives a chunk job back to the pool; pool->lock is held. Its failure was
 * handed over item by item, so it is owed no report. */
static void release_locked(pool_t *pool, struct pool_result *job)
{
    job->released = true;
    job->retrieved = true;
    if (job->ready)
        job_free(pool, job);
}

/* The chunk job to hand over next, taken off the list, or NULL if none is
 * ready; pool->lock is held. */
static struct pool_result *take_ready(pool_iter *it)
{
    size_t pick = it->n_jobs;
    if (it->ordered) {
        if (it->n_jobs && it->jobs[0]->ready)
            pick = 0;
    } else {
        for (size_t i = 0; i < it->n_jobs; i++)
            if (it->jobs[i]->ready &&
                (pick == it->n_jobs || it->jobs[i]->ready_seq < it->jobs[pick]->ready_seq))
                pick = i;
    }
    if (pick == it->n_jobs)
        return NULL;
    struct pool_result *job = it->jobs[pick];
    memmove(&it->jobs[pick], &it->jobs[pick + 1], (it->n_jobs - pick - 1) * sizeof *it->jobs);
    it->n_jobs--;
    return job;
}

int pool_iter_next(pool_iter *it, double timeout, pool_value *value)
{
    if (value)
        *value = pool_none();
    if (!it || !value)
        return POOL_EINVAL;
    pool_t *pool = it->pool;
    if (on_result_handler_thread(pool))
        return POOL_EDEADLK;
    long long start = pool->trace ? trace_now() : 0;
    struct timespec deadline;
    timeout = deadline_after(timeout, &deadline);

    for (;;) {
        refill(it); /* next() runs here, on the caller's thread, unlocked */
        pthread_mutex_lock(&pool->lock);
        if (it->cur && it->cur_pos == it->cur->n_items) {
            release_locked(pool, it->cur);
            it->cur = NULL;
            pthread_mutex_unlock(&pool->lock);
            continue; /* room for one more chunk */
        }
        if (!it->cur) {
            it->cur = take_ready(it);
            it->cur_pos = 0;
        }
        if (it->cur) {
            struct pool_result *job = it->cur;
            size_t i = it->cur_pos++;
            it->last_index = job->index_base + i;
            int rc = job->status;
            if (rc == POOL_OK) { /* each item: its value, or its own error */
                *value = job->output.as.items[i];
                job->output.as.items[i] = pool_none();
                if (value->type == POOL_ERROR)
                    rc = POOL_ETASK;
            } else { /* its worker died, or terminate: every item gets it */
                *value = pool_value_copy(&job->error);
            }
            unsigned long traced_job = job->trace_job;
            pthread_mutex_unlock(&pool->lock);
            if (pool->trace) /* main's wait for this item, as a wait for its chunk job */
                trace_event(pool, 'X', "wait", 0, start, trace_now() - start,
                            ",\"job\":%lu,\"call\":\"next\",\"rc\":%d,\"index\":%zu",
                            traced_job, rc, job->index_base + i);
            trace_unlocked(pool);
            return rc;
        }
        if (it->n_jobs == 0) {
            pthread_mutex_unlock(&pool->lock);
            if (it->input_ended)
                return POOL_END;
            if (it->input_cut)
                return POOL_ENOTRUNNING;
            continue; /* refill submits; it cannot stall with an open input */
        }
        int rc = 0;
        if (timeout < 0)
            pthread_cond_wait(&pool->ready_cv, &pool->lock);
        else
            rc = pthread_cond_timedwait(&pool->ready_cv, &pool->lock, &deadline);
        pthread_mutex_unlock(&pool->lock);
        if (rc == ETIMEDOUT) {
            pthread_mutex_lock(&pool->lock);
            bool any = it->ordered ? it->jobs[0]->ready : false;
            for (size_t k = 0; !it->ordered && k < it->n_jobs; k++)
                any = any || it->jobs[k]->ready;
            pthread_mutex_unlock(&pool->lock);
            if (!any)
                return POOL_ETIMEDOUT;
        }
    }
}

size_t pool_iter_index(const pool_iter *it)
{
    return it ? it->last_index : 0;
}

void pool_iter_destroy(pool_iter *it)
{
    if (!it)
        return;
    pool_t *pool = it->pool;
    pthread_mutex_lock(&pool->lock);
    if (it->cur)
        release_locked(pool, it->cur);
    for (size_t i = 0; i < it->n_jobs; i++)
        release_locked(pool, it->jobs[i]);
    pthread_mutex_unlock(&pool->lock);
    free(it->jobs);
    free(it);
}
