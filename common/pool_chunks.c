/* pool_chunks.c - the task-handler thread's traffic with the workers:
 * chunks of items out through the task pipes, results back through the
 * result pipes, and what a dead worker was running. Every function runs on
 * the task-handler thread with pool->lock held, and none of them blocks:
 * the pipes are nonblocking, and poll() waits in pool_task_handler.c. */
#include "pool_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void describe_status(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "died from signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(buf, size, "stopped (wait status %#x)", (unsigned)status);
}

/* An apply has one task, so it needs no number; a map's items have one. */
static void describe_tasks(const chunk *c, char *buf, size_t size)
{
    if (c->job->mode == APPLY)
        snprintf(buf, size, "the task");
    else if (c->count == 1)
        snprintf(buf, size, "task %zu", c->job->index_base + c->first);
    else
        snprintf(buf, size, "tasks %zu-%zu", c->job->index_base + c->first,
                 c->job->index_base + c->first + c->count - 1);
}

/* The live worker with the fewest chunks in flight that can take one more. */
static worker *least_busy(pool_t *pool)
{
    worker *best = NULL;
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid <= 0 || w->inflight >= MAX_INFLIGHT ||
            w->out.len - w->out_off >= OUT_LIMIT ||
            (pool->config.maxtasksperchild && w->sent >= pool->config.maxtasksperchild))
            continue;
        if (!best || w->inflight < best->inflight)
            best = w;
    }
    return best;
}

/* The next chunk to send: one a dead worker never started, else the next
 * run of items of the oldest pending job. */
static chunk *next_chunk(pool_t *pool)
{
    chunk *c = pool->retry;
    if (c) {
        pool->retry = c->next;
        return c;
    }
    struct pool_result *job = pool->pending;
    if (!job)
        return NULL;
    c = xcalloc(1, sizeof *c);
    c->job = job;
    c->first = job->next_item;
    c->count = job->n_items - job->next_item;
    if (c->count > job->chunksize)
        c->count = job->chunksize;
    job->next_item += c->count;
    if (job->next_item == job->n_items) {
        pool->pending = job->next_queued;
        if (!pool->pending)
            pool->pending_tail = NULL;
    }
    return c;
}

/* The worker's side socket, as the encoder and decoder use it. */
static wire_shm side_socket(pool_t *pool, worker *w)
{
    return (wire_shm){.sock = w->shm_fd, .min = shm_min_of(&pool->config),
                      .count = &pool->stats, .spare = &pool->spare};
}

static void send_chunk(pool_t *pool, worker *w, chunk *c)
{
    struct pool_result *job = c->job;
    wire_shm shm = side_socket(pool, w);
    frame_head h = {.magic = FRAME_MAGIC, .count = (uint32_t)c->count,
                    .seq = w->next_seq++, .fn = task_name(job->fn),
                    .mode = job->mode};
    if (w->out_off) {
        buf_consume(&w->out, w->out_off);
        w->out_off = 0;
    }
    size_t at = w->out.len;
    buf_reserve(&w->out, sizeof h);
    w->out.len += sizeof h;
    if (job->mode == APPLY) {
        wire_encode(&w->out, &job->input, &shm);
    } else {
        /* Sized once for a chunk of numbers, the common case; others grow it. */
        buf_reserve(&w->out, 9 * c->count);
        for (size_t i = 0; i < c->count; i++) {
            const pool_value *item = &job->input.as.items[c->first + i];
            if (wire_is_number(item) && w->out.cap - w->out.len >= 9)
                wire_put_number(&w->out, item);
            else
                wire_encode(&w->out, item, &shm);
        }
    }
    h.len = w->out.len - at - sizeof h;
    memcpy(w->out.data + at, &h, sizeof h);

    w->queued += sizeof h + h.len;
    c->end = w->queued;
    c->seq = h.seq;
    c->next = NULL;
    if (w->tail)
        w->tail->next = c;
    else
        w->head = c;
    w->tail = c;
    w->inflight++;
    w->sent++;
    job->inflight++;
}

/* The chunk's send, traced on the task handler. */
static void trace_send(pool_t *pool, worker *w, const chunk *c)
{
    if (pool->trace)
        trace_event(pool, 'i', "send", 0, trace_now(), 0,
                    ",\"job\":%lu,\"first\":%zu,\"count\":%zu,\"worker\":%d",
                    c->job->trace_job, c->first, c->count, w->number);
}

void dispatch(pool_t *pool)
{
    worker *w;
    while ((pool->retry || pool->pending) && (w = least_busy(pool))) {
        chunk *c = next_chunk(pool);
        if (c->job->status != POOL_OK) { /* a failed job gets no more work */
            struct pool_result *job = c->job;
            free(c);
            job_check(pool, job);
            continue;
        }
        send_chunk(pool, w, c);
        trace_send(pool, w, c);
    }
}


/* Whether the worker can have started chunk c: only if it read all of it.
 * Bytes still in the pipe were never read; a worker killed while idle has
 * read nothing we sent after its death, so those chunks are not its fault. */
static bool maybe_started(worker *w, const chunk *c)
{
    int unread = 0;
    if (ioctl(w->task_fd, FIONREAD, &unread) != 0)
        unread = 0;
    return c->end <= w->written - (uint64_t)unread;
}

/* Puts chunks back at the front of the retry list, oldest first. */
static void requeue(pool_t *pool, chunk *list)
{
    if (!list)
        return;
    chunk *last = list;
    for (chunk *c = list; c; c = c->next) {
        c->job->inflight--;
        last = c;
    }
    last->next = pool->retry;
    pool->retry = list;
}

/* A worker's end, traced on its lane: the task it died in, then its death
 * or, after a STOP or its last chunk, its exit. */
static void trace_end(pool_t *pool, worker *w, int status)
{
    long long now = trace_now();
    const task_now *running = &pool->now[w - pool->workers];
    chunk *c = w->head;
    char at[64] = "";
    /* The worker is gone, so what it left in running stays as it is. */
    bool mid_task = running->pid == w->pid && atomic_load(&running->running) && c &&
                    running->seq == c->seq && running->item < c->count;
    if (mid_task) {
        snprintf(at, sizeof at, ",\"job\":%lu,\"index\":%zu", c->job->trace_job,
                 c->first + running->item);
        trace_event(pool, 'X', "task", w->pid, running->ns, now - running->ns,
                    "%s,\"died\":true", at);
    }
    bool died = w->why || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || mid_task;
    if (WIFSIGNALED(status))
        trace_event(pool, 'i', "worker_died", w->pid, now, 0,
                    ",\"worker\":%d,\"pid\":%d,\"signal\":%d%s", w->number, (int)w->pid,
                    WTERMSIG(status), at);
    else
        trace_event(pool, 'i', died ? "worker_died" : "worker_exited", w->pid, now, 0,
                    ",\"worker\":%d,\"pid\":%d,\"status\":%d%s", w->number, (int)w->pid,
                    WIFEXITED(status) ? WEXITSTATUS(status) : status, at);
}

void worker_lost(pool_t *pool, worker *w, int status)
{
    if (pool->trace)
        trace_end(pool, w, status);
    pid_t was = w->pid;
    int was_number = w->number;
    chunk *c = w->head;
    if (c && maybe_started(w, c)) {
        char how[160], tasks[64];
        if (w->why)
            snprintf(how, sizeof how, "%s", w->why);
        else
            describe_status(status, how, sizeof how);
        describe_tasks(c, tasks, sizeof tasks);
        if (pool->state == TERMINATE && c->job->mode == APPLY)
            job_fail(c->job, POOL_ETERMINATED, pool_error("terminated"));
        else if (pool->state == TERMINATE)
            job_fail(c->job, POOL_ETERMINATED, pool_error("%s terminated", tasks));
        else
            job_fail(c->job, POOL_ETASK, pool_error("PoolWorker-%d (pid %d) %s while running %s",
                                                    w->number, (int)w->pid, how, tasks));
        c->job->inflight--;
        job_check(pool, c->job);
        w->head = c->next;
        free(c);
    }
    requeue(pool, w->head);
    if (w->task_fd >= 0)
        close(w->task_fd);
    if (w->result_fd >= 0) /* a killed thread worker's are closed already */
        close(w->result_fd);
    if (w->shm_fd >= 0) /* memfds still queued on it are freed with it */
        close(w->shm_fd);
    free(w->out.data);
    free(w->in.data);
    *w = (worker){.task_fd = -1, .result_fd = -1, .shm_fd = -1, .replaces = was,
                  .replaces_number = was_number};
}

/* A result's header means that its worker read the whole chunk: it will
 * never be sent again, so its items are freed now, before the result
 * arrives, and a big value is not held twice. */
static void drop_items(chunk *c)
{
    struct pool_result *job = c->job;
    if (c->items_dropped)
        return;
    c->items_dropped = true;
    if (job->mode == APPLY)
        pool_value_free(&job->input);
    else
        for (size_t i = 0; i < c->count; i++) {
            pool_value *item = &job->input.as.items[c->first + i];
            if (item->type >= POOL_STR) /* a number owns nothing, and its slot is */
                pool_value_free(item);  /* overwritten by its result */
        }
}

/* Takes one result message: checks it, stores the values, and returns
 * false if it is malformed. */
static bool store_results(pool_t *pool, worker *w, const frame_head *h, const unsigned char *body)
{
    chunk *c = w->head;
    if (!c || h->seq != c->seq || h->count != c->count)
        return false;
    struct pool_result *job = c->job;

    /* Decode straight into the chunk's slots of the output, which are NONE
     * until now; a bad message puts them back, so it changes nothing. */
    pool_value *slots = job->mode == APPLY ? &job->output : job->output.as.items + c->first;
    wire_shm shm = side_socket(pool, w);
    size_t used = 0, n = 0;
    for (; n < c->count; n++) {
        size_t k = wire_take_number(body + used, h->len - used, &slots[n]);
        if (k == 0)
            k = wire_decode(body + used, h->len - used, &slots[n], &shm);
        if (k == 0)
            break;
        used += k;
    }
    if (n < c->count || used != h->len) {
        for (size_t i = 0; i < n; i++)
            pool_value_free(&slots[i]);
        return false;
    }

    for (size_t i = 0; i < c->count; i++) {
        if (slots[i].type != POOL_ERROR && job->status == POOL_OK)
            continue; /* the common case: nothing to name */
        char task[32] = "the task";
        if (job->mode != APPLY)
            snprintf(task, sizeof task, "task %zu", job->index_base + c->first + i);
        if (slots[i].type == POOL_ERROR && job->per_item_errors) { /* an iterator's item */
            pool_value msg = pool_error("%s failed in PoolWorker-%d (pid %d): %s", task,
                                        w->number, (int)w->pid, slots[i].as.s);
            pool_value_free(&slots[i]);
            slots[i] = msg;
            continue;
        }
        if (slots[i].type == POOL_ERROR)
            job_fail(job, POOL_ETASK, pool_error("%s failed in PoolWorker-%d (pid %d): %s", task,
                                                 w->number, (int)w->pid, slots[i].as.s));
        if (job->status != POOL_OK) /* a failed job keeps no more results */
            pool_value_free(&slots[i]);
    }
    if (pool->trace)
        trace_event(pool, 'i', "result", 0, trace_now(), 0,
                    ",\"job\":%lu,\"first\":%zu,\"count\":%zu,\"worker\":%d",
                    job->trace_job, c->first, c->count, w->number);
    job->items_done += c->count;
    job->inflight--;
    w->head = c->next;
    if (!w->head)
        w->tail = NULL;
    w->inflight--;
    free(c);
    job_check(pool, job);
    return true;
}

/* Takes a traced worker's note on a task it ran, a slice on its lane;
 * false if it is malformed. */
static bool take_note(pool_t *pool, worker *w, const frame_head *h, const unsigned char *body)
{
    chunk *c = w->head;
    task_note n;
    if (!pool->trace || !c || h->seq != c->seq || h->len < sizeof n ||
        h->len > sizeof n + TRACE_RESULT_MAX)
        return false;
    memcpy(&n, body, sizeof n);
    if (n.item >= c->count)
        return false;
    size_t index = c->first + n.item;
    char text[TRACE_RESULT_MAX + 1], quoted[2 * TRACE_RESULT_MAX + 8];
    memcpy(text, body + sizeof n, h->len - sizeof n);
    text[h->len - sizeof n] = '\0';
    trace_quote(text, quoted, sizeof quoted);
    bool failed = strncmp(text, "Error(", 6) == 0;
    trace_event(pool, 'X', "task", w->pid, n.start_ns, n.end_ns - n.start_ns,
                ",\"job\":%lu,\"index\":%zu,\"%s\":%s", c->job->trace_job, index,
                failed ? "error" : "result", quoted);
    if (c->job->ends)
        c->job->ends[index] = (struct task_end){w->pid, n.end_ns};
    return true;
}

bool read_some(worker *w, pool_stats *count)
{
    for (;;) {
        buf_reserve(&w->in, 65536);
        ssize_t n = read(w->result_fd, w->in.data + w->in.len, w->in.cap - w->in.len);
        count->syscalls++;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return false;
        if (n <= 0) { /* see read_worker */
            w->ignored = true;
            return false;
        }
        count->pipe_bytes += (size_t)n;
        w->in.len += (size_t)n;
        return true;
    }
}

void take_frames(pool_t *pool, worker *w)
{
    size_t used = 0;
    frame_head h;
    while (!w->ignored && w->in.len - used >= sizeof h) {
        memcpy(&h, w->in.data + used, sizeof h);
        bool whole = h.magic == FRAME_MAGIC && h.len <= MAX_FRAME &&
                     w->in.len - used - sizeof h >= h.len;
        if (h.magic == FRAME_MAGIC && h.len <= MAX_FRAME && w->head && h.seq == w->head->seq)
            drop_items(w->head);
        if (h.magic == FRAME_MAGIC && h.len <= MAX_FRAME && !whole) {
            buf_reserve(&w->in, sizeof h + h.len); /* room for the rest */
            break;
        }
        bool ok = whole && (h.mode == NOTE ? take_note(pool, w, &h, w->in.data + used + sizeof h)
                                           : store_results(pool, w, &h, w->in.data + used + sizeof h));
        if (!ok) {
            kill_worker(pool, w, "sent a malformed result");
            return;
        }
        used += sizeof h + h.len;
    }
    buf_consume(&w->in, used);
}

/* End of file is not the end of the worker: a process a task started may
 * hold the pipe open, so only the fork server's death notice counts. */
void read_worker(pool_t *pool, worker *w)
{
    while (!w->ignored && read_some(w, &pool->stats))
        take_frames(pool, w);
}

void write_worker(worker *w, pool_stats *count)
{
    while (w->out_off < w->out.len) {
        ssize_t n = write(w->task_fd, w->out.data + w->out_off, w->out.len - w->out_off);
        count->syscalls++;
        count->writes++;
        if (n > 0)
            count->pipe_bytes += (size_t)n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* full, or the worker died: poll tells us which */
        w->out_off += (size_t)n;
        w->written += (size_t)n;
    }
    w->out.len = w->out_off = 0;
    if (w->out.cap > BUF_KEEP) { /* a big message's copy is not kept */
        free(w->out.data);
        w->out = (pool_buf){0};
    }
}
