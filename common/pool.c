/* pool.c - a process pool with result callbacks: the public calls. The
 * pool's roles each have a file, as lesson 04 draws them:
 *   pool.c                the program's threads: create, submit, wait, close,
 *                         terminate, join and destroy (pool.h's calls);
 *   pool_job.c            a job's bookkeeping, shared by the three threads;
 *   pool_task_handler.c   the parent's task-handler thread: its loop, new
 *                         workers, deaths and shutdown;
 *   pool_chunks.c         the same thread's traffic: chunks out, results in;
 *   pool_result_handler.c the parent's result-handler thread: callbacks;
 *   pool_iter.c           imap's iterators, on the program's threads;
 *   pool_forkserver.c     the fork server process, which forks the workers;
 *   pool_worker.c         the worker process, which runs the tasks;
 *   pool_threads.c        a worker thread, in a pool made with config.threads;
 *   pool_mpi.c            the MPI build's worker ranks, and the link to them;
 *   pool_names.c          how a task message names its task;
 *   pool_value.c          values and their wire format; pool_util.c, small
 *                         helpers every process uses;
 *   pool_trace.c          the trace file, written by the parent's threads.
 * pool_internal.h holds the parent's state and its lock rule; pool_wire.h
 * what all processes share. docs/how-the-pool-works.md follows one
 * pool_map_async() through all of them.
 */
#include "pool_internal.h"

#include <stdatomic.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

const char *pool_strerror(int err)
{
    switch (err) {
    case POOL_OK: return "success";
    case POOL_EINVAL: return "invalid argument";
    case POOL_ERUNNING: return "pool is still running";
    case POOL_ENOTRUNNING: return "pool not running";
    case POOL_ETIMEDOUT: return "timed out";
    case POOL_ETASK: return "task failed";
    case POOL_ECALLBACK: return "callback failed";
    case POOL_ETERMINATED: return "terminated";
    case POOL_EDEADLK: return "would deadlock: called from the result-handler thread";
    case POOL_ESYS: return "system call failed";
    case POOL_ECANCELLED: return "cancelled";
    case POOL_END: return "no more results";
    default: return "unknown error";
    }
}

/* One line to stderr in one write, so it never mixes with other output. */

/* Starts a pool thread with every signal blocked, so signals go to the
 * program's own threads, and a write to a dead worker's pipe gives EPIPE. */
static int start_thread(pthread_t *t, void *(*fn)(void *), pool_t *pool, const char *name)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        pthread_setname_np(*t, name);
    return rc;
}

/* Frees what pool_create() made in this process, once no pool thread runs. */
static void pool_free(pool_t *pool)
{
    if (pool->death_fd >= 0)
        close(pool->death_fd);
    if (pool->wake_fd >= 0)
        close(pool->wake_fd);
    if (pool->reply_wr >= 0)
        close(pool->reply_wr);
    if (pool->death_wr >= 0)
        close(pool->death_wr);
    if (pool->spare >= 0)
        close(pool->spare);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->join_lock);
    pthread_cond_destroy(&pool->result_handler_cv);
    pthread_cond_destroy(&pool->ready_cv);
    if (pool->trace)
        trace_close(pool->trace);
    if (pool->now)
        munmap(pool->now, (size_t)pool->processes * sizeof *pool->now);
    if (pool->counts)
        munmap(pool->counts, (size_t)pool->processes * sizeof *pool->counts);
    free(pool->workers);
    free(pool->pfds);
    free(pool->trace_lines[0].data);
    free(pool->trace_lines[1].data);
    free(pool);
}

/* Undoes a pool_create() that failed: the fork server kills and reaps
 * every worker it made, taken or not, before it exits. Keeps errno. */
static int create_failed(pool_t *pool)
{
    int saved = errno ? errno : EIO; /* no pool thread runs here */
    if (pool->config.threads) /* the workers made so far end at end of file */
        thread_workers_end(pool);
#ifdef POOL_MPI
    if (pool->ranks) /* likewise, once the link tells their ranks */
        rank_workers_end(pool);
#endif
    if (pool->server_fd >= 0 && (pool->config.threads || pool->ranks))
        close(pool->server_fd);
    else if (pool->server_fd >= 0) {
        request quit = {.magic = SERVER_MAGIC, .op = QUIT};
        (void)forkserver_ask(pool->server_fd, &quit, 0); /* if it is gone, so are its workers */
        close(pool->server_fd);
    }
    if (pool->server_pid > 0)
        waitpid_retry(pool->server_pid, NULL, 0);
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid > 0) {
            close(w->task_fd);
            close(w->result_fd);
            if (w->shm_fd >= 0)
                close(w->shm_fd);
        }
    }
    pool_free(pool);
    errno = saved;
    return POOL_ESYS;
}

int pool_create(pool_t **out, const pool_config *config)
{
    pool_config cfg = config ? *config : (pool_config){0};
    if (!out || cfg.processes < 0 || cfg.processes > MAX_PROCESSES || cfg.maxtasksperchild < 0)
        return POOL_EINVAL;
    *out = NULL;

    pool_t *pool = xcalloc(1, sizeof *pool);
    pool->config = cfg;
    pool->processes = cfg.processes ? cfg.processes : sysconf(_SC_NPROCESSORS_ONLN);
    if (pool->processes < 1)
        pool->processes = 1;
#ifdef POOL_MPI
    if (!cfg.threads) { /* the workers are the job's ranks */
        int rc = rank_pool_check(&cfg, &pool->processes);
        if (rc != POOL_OK) {
            free(pool);
            return rc;
        }
        pool->ranks = true;
    }
#endif
    bool piped = cfg.threads || pool->ranks; /* no fork server: answers come on pipes */
    pool->workers = xcalloc((size_t)pool->processes, sizeof *pool->workers);
    for (long i = 0; i < pool->processes; i++) /* no descriptor is 0 */
        pool->workers[i] = (worker){.task_fd = -1, .result_fd = -1, .shm_fd = -1};
    pool->pfds = xcalloc((size_t)(3 + 2 * pool->processes), sizeof *pool->pfds);
    /* The workers learn that they are traced from config.trace. */
    const char *trace = cfg.trace ? cfg.trace : getenv("POOL_TRACE");
    if (trace && trace[0])
        pool->trace = trace_open(trace, &pool->trace_no);
    pool->config.trace = pool->trace ? trace_path(pool->trace) : NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->join_lock, NULL);
    pthread_cond_init(&pool->result_handler_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->ready_cv, &ca);
    pthread_condattr_destroy(&ca);

    /* Every descriptor goes above stdio, even when the program closed it. */
    int sv[2] = {-1, -1}, dp[2] = {-1, -1};
    pool->server_fd = pool->death_fd = -1;
    pool->reply_wr = pool->death_wr = pool->spare = -1;
    errno = 0;
    pool->wake_fd = fd_above_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    /* With threads, the pipe sv stands for the fork server's socket: the
     * new threads' answers come on it. */
    if (pool->wake_fd < 0 || (piped ? pipe2(sv, O_CLOEXEC)
                              : socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) != 0)
        return create_failed(pool);
    pool->server_fd = sv[0] = fd_above_stdio(sv[0]);
    sv[1] = fd_above_stdio(sv[1]);
    if (sv[0] < 0 || sv[1] < 0 || pipe2(dp, O_CLOEXEC) != 0) {
        if (sv[1] >= 0)
            close(sv[1]);
        return create_failed(pool);
    }
    pool->death_fd = dp[0] = fd_above_stdio(dp[0]);
    dp[1] = fd_above_stdio(dp[1]);
    if (dp[0] < 0 || dp[1] < 0) {
        close(sv[1]);
        if (dp[1] >= 0)
            close(dp[1]);
        return create_failed(pool);
    }
    fcntl(pool->death_fd, F_SETFL, O_NONBLOCK);

    /* Made before the fork server, so every worker shares them. */
    pool->counts = mmap(NULL, (size_t)pool->processes * sizeof *pool->counts,
                        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pool->counts == MAP_FAILED) {
        pool->counts = NULL;
        close(sv[1]);
        close(dp[1]);
        return create_failed(pool);
    }
    if (pool->trace) {
        pool->now = mmap(NULL, (size_t)pool->processes * sizeof *pool->now,
                         PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (pool->now == MAP_FAILED) {
            pool->now = NULL;
            close(sv[1]);
            close(dp[1]);
            return create_failed(pool);
        }
    }

    if (piped) { /* no fork server: the pool keeps both write ends */
        pool->reply_wr = sv[1];
        pool->death_wr = dp[1];
        fcntl(pool->server_fd, F_SETFL, O_NONBLOCK);
    }
    fflush(NULL); /* or the server and every worker would print it again */
    pid_t parent = getpid();
    pool->server_pid = piped ? 0 : fork(); /* 0 never reaches waitpid */
    if (pool->server_pid == 0 && !piped) {
        close(sv[0]);
        close(dp[0]);
        /* Only the configuration goes with it: the fork server and its
         * workers never see the parent's state. */
        pool_config config = pool->config;
        task_now *now = pool->now;
        worker_counts *counts = pool->counts;
        long n_now = pool->processes;
        free(pool->workers);
        free(pool->pfds);
        free(pool);
        forkserver_main(&config, now, counts, n_now, sv[1], dp[1], parent);
    }
    int saved = errno;
    if (!piped)
        close(sv[1]);
    if (!piped)
        close(dp[1]);
    errno = saved;
    if (pool->server_pid < 0)
        return create_failed(pool);
    /* After the fork: the fork server and the workers keep their own. */
    pool->spare = shm_spare_open();
    if (pool->trace) {
        char name[32] = "fork server";
        if (pool->trace_no > 1)
            snprintf(name, sizeof name, "fork server (pool %d)", pool->trace_no);
        if (!piped)
            trace_name(pool->trace, pool->server_pid, pool->server_pid, false, name);
        trace_event(pool, 'i', "pool_create", 0, trace_now(), 0, ",\"processes\":%ld",
                    pool->processes);
    }

#ifdef POOL_MPI
    if (pool->ranks && rank_link_open(pool) != 0)
        return create_failed(pool);
#endif
    /* Here the answers are awaited; the task handler takes later ones in
     * its poll loop. */
    for (long i = 0; i < pool->processes; i++)
        if (ask_worker(pool, i, 0) != 0)
            return create_failed(pool);
    for (long i = 0; i < pool->processes; i++)
        if (receive_worker(pool, 0) != 1)
            return create_failed(pool);
    int rc = start_thread(&pool->task_handler_thread, task_handler_main, pool, "task-handler");
    if (rc != 0) {
        errno = rc;
        return create_failed(pool);
    }
    rc = start_thread(&pool->result_handler_thread, result_handler_main, pool, "result-handler");
    if (rc != 0) {
        pool_terminate(pool);
        pthread_join(pool->task_handler_thread, NULL);
        errno = rc;
        return create_failed(pool);
    }
    *out = pool;
    return POOL_OK;
}

long pool_processes(const pool_t *pool)
{
    return pool ? pool->processes : POOL_EINVAL;
}

int pool_get_stats(pool_t *pool, pool_stats *stats)
{
    if (!pool || !stats)
        return POOL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    *stats = pool->stats;
    pthread_mutex_unlock(&pool->lock);
    for (long i = 0; i < pool->processes; i++) {
        stats->worker_syscalls += atomic_load(&pool->counts[i].calls);
        stats->worker_writes += atomic_load(&pool->counts[i].writes);
    }
    stats->syscalls += stats->worker_syscalls;
    stats->writes += stats->worker_writes;
    return POOL_OK;
}

/* ---- Submitting -------------------------------------------------------- */

/* Numbers a traced job and records its submission; pool->lock is held. */
static void trace_submit(pool_t *pool, struct pool_result *job)
{
    static const char *const kinds[] = {"apply", "map", "starmap"};
    job->trace_job = ++pool->jobs_made;
    if (job->opts.callback || job->opts.error_callback) {
        job->ends = xcalloc(job->n_items, sizeof *job->ends);
        job->flow_base = trace_flow_ids(pool->trace, job->n_items);
    }
    trace_event(pool, 'i', "submit", 0, trace_now(), 0,
                ",\"job\":%lu,\"kind\":\"%s\",\"items\":%zu", job->trace_job, kinds[job->mode],
                job->n_items);
}

static int submit(pool_t *pool, pool_task_fn fn, enum mode mode, pool_value input,
                  const pool_opts *opts, pool_result **result)
{
    pool_opts o = opts ? *opts : (pool_opts){0};
    if (result)
        *result = NULL;
    bool ok = pool && fn && result && o.chunksize >= 0 && o.chunksize <= MAX_CHUNKSIZE;
    if (mode == APPLY)
        ok = ok && (input.type == POOL_LIST || input.type == POOL_NONE);
    else
        ok = ok && input.type == POOL_LIST;
    for (uint32_t i = 0; ok && mode == STARMAP && i < input.len; i++)
        ok = input.as.items[i].type == POOL_LIST;
    /* What a worker gets must decode: an apply's tuple, or each item. */
    if (ok && mode == APPLY)
        ok = !nests_deeper(&input, POOL_MAX_DEPTH);
    for (uint32_t i = 0; ok && mode != APPLY && i < input.len; i++)
        ok = input.as.items[i].type != POOL_LIST || !nests_deeper(&input.as.items[i], POOL_MAX_DEPTH);
    if (!ok) {
        pool_value_free(&input);
        return POOL_EINVAL;
    }

    struct pool_result *job = xcalloc(1, sizeof *job);
    job->pool = pool;
    job->fn = fn;
    job->mode = mode;
    job->input = input;
    job->opts = o;
    job->n_items = mode == APPLY ? 1 : input.len;
    /* A map's results go into the slots its items leave once a worker has
     * read them: one list, no second one to allocate, fault in and zero. */
    if (mode != APPLY) {
        job->output = input;
        job->in_place = true;
    }
    job->chunksize = (size_t)o.chunksize;
    if (job->chunksize == 0) { /* Python's default: four chunks per worker */
        size_t per = 4 * (size_t)pool->processes;
        job->chunksize = (job->n_items + per - 1) / per;
        if (job->chunksize == 0)
            job->chunksize = 1;
    }

    pthread_mutex_lock(&pool->lock);
    if (pool->state != RUN) {
        pthread_mutex_unlock(&pool->lock);
        if (!job->in_place)
            pool_value_free(&job->input);
        pool_value_free(&job->output);
        free(job);
        return POOL_ENOTRUNNING;
    }
    job->next = pool->jobs;
    if (pool->jobs)
        pool->jobs->prev = job;
    pool->jobs = job;
    if (pool->trace)
        trace_submit(pool, job);
    if (job->n_items == 0) {
        job_finish(pool, job); /* an empty map is done at once */
    } else {
        if (pool->pending_tail)
            pool->pending_tail->next_queued = job;
        else
            pool->pending = job;
        pool->pending_tail = job;
        task_handler_wake(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    trace_unlocked(pool);
    *result = job;
    return POOL_OK;
}

int pool_apply_async(pool_t *pool, pool_task_fn fn, pool_value args,
                     const pool_opts *opts, pool_result **result)
{
    return submit(pool, fn, APPLY, args, opts, result);
}

int pool_map_async(pool_t *pool, pool_task_fn fn, pool_value items,
                   const pool_opts *opts, pool_result **result)
{
    return submit(pool, fn, MAP, items, opts, result);
}

int pool_starmap_async(pool_t *pool, pool_task_fn fn, pool_value items,
                       const pool_opts *opts, pool_result **result)
{
    return submit(pool, fn, STARMAP, items, opts, result);
}

static int wait_for(pool_result *result, double timeout, const char *call);

/* The blocking forms: submit, wait, and move the outcome to the caller. */
static int blocking(pool_t *pool, pool_task_fn fn, enum mode mode, pool_value input,
                    const pool_opts *opts, pool_value *out)
{
    if (out)
        *out = pool_none();
    if (pool && on_result_handler_thread(pool)) {
        pool_value_free(&input);
        return POOL_EDEADLK;
    }
    if (!out) {
        pool_value_free(&input);
        return POOL_EINVAL;
    }
    pool_result *r;
    int rc = submit(pool, fn, mode, input, opts, &r);
    if (rc != POOL_OK)
        return rc;
    wait_for(r, POOL_FOREVER, "get");
    pthread_mutex_lock(&pool->lock);
    rc = r->status;
    r->retrieved = true; /* the caller gets the error in *out */
    if (rc == POOL_OK) {
        *out = r->output;
        r->output = pool_none();
    } else {
        *out = r->error;
        r->error = pool_none();
    }
    pthread_mutex_unlock(&pool->lock);
    pool_result_release(r);
    return rc;
}

int pool_apply(pool_t *pool, pool_task_fn fn, pool_value args,
               const pool_opts *opts, pool_value *out)
{
    return blocking(pool, fn, APPLY, args, opts, out);
}

int pool_map(pool_t *pool, pool_task_fn fn, pool_value items,
             const pool_opts *opts, pool_value *out)
{
    return blocking(pool, fn, MAP, items, opts, out);
}

int pool_starmap(pool_t *pool, pool_task_fn fn, pool_value items,
                 const pool_opts *opts, pool_value *out)
{
    return blocking(pool, fn, STARMAP, items, opts, out);
}

/* ---- Closing, terminating, joining ------------------------------------- */

int pool_close(pool_t *pool)
{
    if (!pool)
        return POOL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    if (pool->state == RUN) {
        pool->state = CLOSE;
        task_handler_wake(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    if (pool->trace)
        trace_event(pool, 'i', "close", 0, trace_now(), 0, NULL);
    return POOL_OK;
}

int pool_terminate(pool_t *pool)
{
    if (!pool)
        return POOL_EINVAL;
    if (pool->trace)
        trace_event(pool, 'i', "terminate", 0, trace_now(), 0, NULL);
    pthread_mutex_lock(&pool->lock);
    pool->state = TERMINATE;
    task_handler_wake(pool);
    while (!pool->task_handler_done) /* workers are gone when this returns */
        pthread_cond_wait(&pool->ready_cv, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    return POOL_OK;
}

int pool_shutdown(pool_t *pool, bool wait, bool cancel_pending)
{
    if (!pool)
        return POOL_EINVAL;
    if (wait && on_result_handler_thread(pool))
        return POOL_EDEADLK;
    /* One hold: no job is sent between the cancelling and the closing. */
    pthread_mutex_lock(&pool->lock);
    if (cancel_pending) {
        struct pool_result *job = pool->pending;
        while (job) {
            struct pool_result *next = job->next_queued; /* job_cancel requeues it */
            job_cancel(pool, job);
            job = next;
        }
    }
    bool closing = pool->state == RUN;
    if (closing) {
        pool->state = CLOSE;
        task_handler_wake(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    if (pool->trace && closing)
        trace_event(pool, 'i', "close", 0, trace_now(), 0, NULL);
    trace_unlocked(pool);
    return wait ? pool_join(pool) : POOL_OK;
}

int pool_join(pool_t *pool)
{
    if (!pool)
        return POOL_EINVAL;
    if (on_result_handler_thread(pool))
        return POOL_EDEADLK;
    pthread_mutex_lock(&pool->lock);
    enum state state = pool->state;
    pthread_mutex_unlock(&pool->lock);
    if (state == RUN)
        return POOL_ERUNNING;

    long long start = pool->trace ? trace_now() : 0;
    pthread_mutex_lock(&pool->join_lock);
    if (!pool->joined) {
        pthread_join(pool->task_handler_thread, NULL);
        pthread_join(pool->result_handler_thread, NULL);
        while (pool->server_pid > 0 && waitpid(pool->server_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        pool->joined = true;
    }
    pthread_mutex_unlock(&pool->join_lock);
    if (pool->trace) {
        trace_event(pool, 'X', "join", 0, start, trace_now() - start, NULL);
        trace_flush(pool->trace);
    }
    return POOL_OK;
}

void pool_destroy(pool_t *pool)
{
    if (!pool)
        return;
    if (on_result_handler_thread(pool)) {
        report("pool: pool_destroy called from a callback; ignored");
        return;
    }
    if (!pool->joined) {
        pool_terminate(pool);
        pool_join(pool);
    }
    /* No pool thread is left, so the lock is not needed. */
    while (pool->jobs) {
        char line[UNSEEN_LINE];
        if (job_unseen_failure(pool->jobs, line))
            report("%s", line);
        job_free(pool, pool->jobs);
    }
    pool_free(pool);
}

/* ---- Handles ----------------------------------------------------------- */

/* Sets *deadline timeout seconds from now on ready_cv's clock; see
 * pool_internal.h. */
double deadline_after(double timeout, struct timespec *deadline)
{
    if (timeout > 1e9) /* about 30 years: the same as forever */
        timeout = POOL_FOREVER;
    clock_gettime(CLOCK_MONOTONIC, deadline);
    if (timeout >= 0) {
        long long ns = deadline->tv_nsec + (long long)((timeout - (long long)timeout) * 1e9);
        deadline->tv_sec += (time_t)timeout + ns / 1000000000;
        deadline->tv_nsec = ns % 1000000000;
    }
    return timeout;
}

/* pool_result_wait(), traced as call: "wait", or "get" for get and the
 * blocking forms. */
static int wait_for(pool_result *result, double timeout, const char *call)
{
    pool_t *pool = result->pool;
    long long start = pool->trace ? trace_now() : 0;
    pthread_mutex_lock(&pool->lock);
    if (!result->ready && on_result_handler_thread(pool)) {
        pthread_mutex_unlock(&pool->lock);
        return POOL_EDEADLK;
    }
    struct timespec deadline;
    timeout = deadline_after(timeout, &deadline);
    int rc = 0;
    while (!result->ready && rc != ETIMEDOUT) {
        if (timeout < 0)
            pthread_cond_wait(&pool->ready_cv, &pool->lock);
        else
            rc = pthread_cond_timedwait(&pool->ready_cv, &pool->lock, &deadline);
    }
    bool ready = result->ready;
    pthread_mutex_unlock(&pool->lock);
    rc = ready ? POOL_OK : POOL_ETIMEDOUT;
    if (pool->trace) /* rc: for get, the outcome's code; for wait, the wait's */
        trace_event(pool, 'X', "wait", 0, start, trace_now() - start,
                    ",\"job\":%lu,\"call\":\"%s\",\"rc\":%d", result->trace_job, call,
                    ready && strcmp(call, "get") == 0 ? result->status : rc);
    trace_unlocked(pool);
    return rc;
}

int pool_result_wait(pool_result *result, double timeout)
{
    return result ? wait_for(result, timeout, "wait") : POOL_EINVAL;
}

int pool_result_get(pool_result *result, double timeout, const pool_value **value)
{
    if (!result || !value)
        return POOL_EINVAL;
    int rc = wait_for(result, timeout, "get");
    if (rc != POOL_OK)
        return rc;
    pthread_mutex_lock(&result->pool->lock);
    rc = result->status;
    *value = rc == POOL_OK ? &result->output : &result->error;
    result->retrieved = true;
    pthread_mutex_unlock(&result->pool->lock);
    return rc;
}

bool pool_result_ready(pool_result *result)
{
    if (!result)
        return false;
    pthread_mutex_lock(&result->pool->lock);
    bool ready = result->ready;
    pthread_mutex_unlock(&result->pool->lock);
    return ready;
}

bool pool_result_successful(pool_result *result)
{
    if (!result)
        return false;
    pthread_mutex_lock(&result->pool->lock);
    bool ok = result->ready && result->status == POOL_OK;
    if (result->ready) /* before then, false says nothing about the outcome */
        result->retrieved = true;
    pthread_mutex_unlock(&result->pool->lock);
    return ok;
}

void pool_result_release(pool_result *result)
{
    if (!result)
        return;
    pool_t *pool = result->pool;
    char line[UNSEEN_LINE];
    bool unseen = false;
    pthread_mutex_lock(&pool->lock);
    result->released = true;
    if (result->ready && !result->in_done_callbacks) { /* else the result handler frees it */
        unseen = job_unseen_failure(result, line);
        job_free(pool, result);
    }
    pthread_mutex_unlock(&pool->lock);
    if (unseen)
        report("%s", line);
}

int pool_result_add_done_callback(pool_result *result, pool_done_fn fn, void *user_data)
{
    if (!result || !fn)
        return POOL_EINVAL;
    pool_t *pool = result->pool;
    struct done_cb *d = xcalloc(1, sizeof *d);
    d->fn = fn;
    d->user_data = user_data;
    pthread_mutex_lock(&pool->lock);
    if (result->released) {
        pthread_mutex_unlock(&pool->lock);
        free(d);
        return POOL_EINVAL;
    }
    if (!result->ready) {
        if (result->done_cbs_tail)
            result->done_cbs_tail->next = d;
        else
            result->done_cbs = d;
        result->done_cbs_tail = d;
        pthread_mutex_unlock(&pool->lock);
        return POOL_OK;
    }
    pthread_mutex_unlock(&pool->lock);
    free(d);
    /* Ready: at once, on this thread, with no lock held; fn may release
     * the handle, so nothing here touches it afterwards. */
    long long start = pool->trace ? trace_now() : 0;
    unsigned long trace_job = result->trace_job;
    fn(result, user_data);
    if (pool->trace) {
        trace_event(pool, 'X', "done_callback", 0, start, trace_now() - start,
                    ",\"job\":%lu", trace_job);
        trace_unlocked(pool);
    }
    return POOL_OK;
}

bool pool_result_cancel(pool_result *result)
{
    if (!result)
        return false;
    pool_t *pool = result->pool;
    pthread_mutex_lock(&pool->lock);
    bool cancelled = !result->released && job_cancel(pool, result);
    pthread_mutex_unlock(&pool->lock);
    trace_unlocked(pool);
    return cancelled;
}
