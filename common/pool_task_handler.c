/* pool_task_handler.c - the parent's task-handler thread: its loop polls
 * the wake eventfd, the fork server's socket and death pipe, and every
 * worker's pipes; it asks the fork server for workers and replaces the
 * dead; it shuts the workers down on close or terminate. The traffic on
 * the workers' pipes is in pool_chunks.c. It holds pool->lock except while
 * it waits in poll(). */
#include "pool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void task_handler_wake(pool_t *pool)
{
    if (!pool->wake_pending) {
        pool->wake_pending = true;
        uint64_t one = 1;
        ssize_t n = write(pool->wake_fd, &one, sizeof one);
        pool->stats.syscalls++;
        pool->stats.writes++;
        (void)n; /* an eventfd only fails when full, and full wakes it too */
    }
}

/* ---- Workers from the fork server ------------------------------------- */

int ask_worker(pool_t *pool, long i, int flags)
{
    if (pool->config.threads) /* its thread answers on server_fd's pipe */
        return thread_worker_start(pool, i, ++pool->next_number);
#ifdef POOL_MPI
    if (pool->ranks) /* its rank answers on server_fd's pipe, through the link */
        return rank_worker_start(pool, i, ++pool->next_number);
#endif
    request req = {.magic = SERVER_MAGIC, .op = SPAWN, .number = ++pool->next_number,
                   .slot = (int)i};
    if (forkserver_ask(pool->server_fd, &req, flags) != 0)
        return -1;
    worker *w = &pool->workers[i];
    *w = (worker){.number = req.number, .spawning = true, .task_fd = -1, .result_fd = -1,
                  .shm_fd = -1,
                  .replaces = w->replaces, .replaces_number = w->replaces_number};
    return 0;
}

/* A new worker's lane, and what it replaces, in the trace. */
static void trace_start(pool_t *pool, worker *w)
{
    char name[48];
    if (pool->trace_no > 1)
        snprintf(name, sizeof name, "PoolWorker-%d (pool %d)", w->number, pool->trace_no);
    else
        snprintf(name, sizeof name, "PoolWorker-%d", w->number);
    if (pool->config.threads) /* a lane among the process's threads */
        trace_name(pool->trace, getpid(), w->pid, true, name);
    if (!pool->config.threads)
        trace_name(pool->trace, w->pid, w->pid, false, name);
    if (!pool->config.threads)
        trace_name(pool->trace, w->pid, w->pid, true, name);
    long long now = trace_now();
    trace_event(pool, 'i', "worker_started", w->pid, now, 0, ",\"worker\":%d,\"pid\":%d",
                w->number, (int)w->pid);
    if (w->replaces)
        trace_event(pool, 'i', "worker_replaced", 0, now, 0,
                    ",\"worker\":%d,\"pid\":%d,\"new_worker\":%d,\"new_pid\":%d",
                    w->replaces_number, (int)w->replaces, w->number, (int)w->pid);
}

/* A request the socket has no room for is sent again by the loop. */
static void send_kill(pool_t *pool, pid_t pid, bool *pending)
{
    request req = {.magic = SERVER_MAGIC, .op = KILL, .pid = pid};
    *pending = forkserver_ask(pool->server_fd, &req, MSG_DONTWAIT) != 0;
}

void kill_worker(pool_t *pool, worker *w, const char *why)
{
    if (pool->config.threads) /* its death notice follows its running task's end */
        thread_worker_kill(w);
#ifdef POOL_MPI
    else if (pool->ranks) /* likewise */
        rank_worker_kill(w);
#endif
    else
        send_kill(pool, w->pid, &w->kill_pending);
    if (!w->why)
        w->why = why;
    w->ignored = true; /* nothing it sends from now on counts */
}

int receive_worker(pool_t *pool, int flags)
{
    reply rep;
    int fds[3];
    bool piped = pool->config.threads || pool->ranks; /* answers come on a pipe */
    int rc = piped ? thread_worker_receive(pool, flags, &rep, fds)
                   : forkserver_receive(pool->server_fd, flags, &rep, fds);
    if (rc == 0)
        return 0;
    if (rc == -2) { /* the death pipe's end of file says the rest */
        pool->server_gone = true;
        return -1;
    }
    worker *w = rep.slot >= 0 && rep.slot < pool->processes ? &pool->workers[rep.slot] : NULL;
    bool asked = w && w->spawning && w->number == rep.number;
    if (rc == 1 && asked) {
        *w = (worker){.pid = rep.pid, .number = rep.number, .task_fd = fds[0],
                      .result_fd = fds[1], .shm_fd = fds[2], .replaces = w->replaces, .thread = w->thread,
                      .replaces_number = w->replaces_number};
        fcntl(w->task_fd, F_SETFL, O_NONBLOCK);
        fcntl(w->result_fd, F_SETFL, O_NONBLOCK);
        if (pool->trace)
            trace_start(pool, w);
        w->replaces = 0;
        return 1;
    }
    int err = rc == 1 ? EPROTO : errno;
    if (rc == 1 && !piped) {
        close(fds[0]);
        close(fds[1]);
        if (fds[2] >= 0)
            close(fds[2]);
    }
    /* A half-made worker needs no KILL: nobody holds the other end of its
     * task pipe, so it exits at end of file, and the server reaps it. */
    if (asked)
        w->spawning = false;
    errno = err;
    return -1;
}

static bool work_left(pool_t *pool)
{
    if (pool->pending || pool->retry)
        return true;
    for (long i = 0; i < pool->processes; i++)
        if (pool->workers[i].inflight)
            return true;
    return false;
}

/* Writes the line left for later, if any; called without the lock. The
 * task-handler thread alone sets late_report and calls this. */
static void write_late_report(pool_t *pool)
{
    const char *line = pool->late_report;
    pool->late_report = NULL;
    if (line)
        report("%s", line);
}

/* Takes the fork server's death notices that have come; never blocks.
 * What a worker wrote before it died is read before its death counts. */
static void collect_deaths(pool_t *pool)
{
    death d;
    ssize_t n;
    while ((n = read(pool->death_fd, &d, sizeof d)) == (ssize_t)sizeof d ||
           (n < 0 && errno == EINTR)) {
        for (long i = 0; n > 0 && i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            if (w->pid == d.pid) {
                struct thread_worker *t = w->thread;
                read_worker(pool, w);
                worker_lost(pool, w, d.status);
                if (t)
                    thread_worker_join(t);
            }
        }
    }
    if (n != 0)
        return;
    /* End of file: something killed the fork server. Its workers die with
     * it and none can be replaced, so the pool ends as if terminated. */
    if (pool->state != TERMINATE)
        pool->late_report = "pool: the fork server died; the pool is terminated";
    pool->state = TERMINATE;
    for (long i = 0; i < pool->processes; i++)
        if (pool->workers[i].pid > 0)
            worker_lost(pool, &pool->workers[i], 0);
}

static long live_workers(pool_t *pool)
{
    long n = 0;
    for (long i = 0; i < pool->processes; i++)
        n += pool->workers[i].pid > 0;
    return n;
}

/* Sends again the KILL requests that found the socket full. */
static void resend_kills(pool_t *pool)
{
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid > 0 && w->kill_pending)
            send_kill(pool, w->pid, &w->kill_pending);
    }
}

/* Waits until every worker's death notice is taken. The lock is released
 * while it waits, so no other thread waits on a stopped or slow worker. */
static void await_deaths(pool_t *pool)
{
    while (live_workers(pool)) {
        resend_kills(pool);
        struct pollfd p = {.fd = pool->death_fd, .events = POLLIN};
        pthread_mutex_unlock(&pool->lock);
        write_late_report(pool);
        trace_unlocked(pool);
        poll(&p, 1, SPAWN_RETRY_MS); /* EINTR or a timeout: look again */
        pthread_mutex_lock(&pool->lock);
        collect_deaths(pool);
    }
}

/* Kills every worker and fails every unfinished job with "terminated". */
static void terminate_all(pool_t *pool)
{
    for (long i = 0; i < pool->processes; i++)
        if (pool->workers[i].pid > 0)
            kill_worker(pool, &pool->workers[i], "was terminated");
    await_deaths(pool);
    for (struct pool_result *job = pool->jobs; job; job = job->next) {
        if (!job->done) {
            job_fail(job, POOL_ETERMINATED, pool_error("terminated"));
            job->inflight = 0;
            job_check(pool, job);
        }
    }
    for (chunk *c = pool->retry, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pool->retry = NULL;
    pool->pending = pool->pending_tail = NULL;
}

/* Sends every worker a STOP message, so they exit side by side, then waits
 * for their death notices. Nothing is queued for them: no work is left.
 * A worker whose pipe has no room for it is killed instead. */
static void stop_workers(pool_t *pool)
{
    frame_head stop = {.magic = FRAME_MAGIC, .mode = STOP};
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid > 0 && !w->ignored) {
            ssize_t n;
            while ((n = write(w->task_fd, &stop, sizeof stop)) < 0 && errno == EINTR)
                ;
            if (n != (ssize_t)sizeof stop)
                kill_worker(pool, w, "was stopped");
        }
    }
    await_deaths(pool);
}

/* Whether the time ts has come; with a nonzero ms, sets ts that far ahead. */
static bool time_reached(struct timespec *ts, long ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    bool reached = now.tv_sec > ts->tv_sec ||
                   (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
    if (ms) {
        long long ns = now.tv_nsec + ms * 1000000LL;
        ts->tv_sec = now.tv_sec + (time_t)(ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
    }
    return reached;
}

/* Asks for a worker for every empty slot. The answers come through the
 * poll loop, so the lock is never held while the server forks. */
static int ask_for_workers(pool_t *pool)
{
    bool failed = false;
    if (!time_reached(&pool->spawn_retry_at, 0))
        return SPAWN_RETRY_MS;
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid <= 0 && !w->spawning && ask_worker(pool, i, MSG_DONTWAIT) != 0)
            failed = true;
    }
    if (failed)
        time_reached(&pool->spawn_retry_at, SPAWN_RETRY_MS);
    return failed ? SPAWN_RETRY_MS : -1;
}

static void receive_workers(pool_t *pool)
{
    int rc;
    while (!pool->server_gone && (rc = receive_worker(pool, MSG_DONTWAIT)) != 0)
        if (rc < 0) /* no worker this time: ask again a little later */
            time_reached(&pool->spawn_retry_at, SPAWN_RETRY_MS);
}

/* The thread a pool's task handler runs on knows its pool, for the trace. */
static _Thread_local const pool_t *task_handler_of;

bool on_task_handler_thread(const pool_t *pool)
{
    return task_handler_of == pool;
}

void *task_handler_main(void *arg)
{
    pool_t *pool = arg;
    task_handler_of = pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->state == TERMINATE) {
            terminate_all(pool);
            break;
        }
        if (pool->state == CLOSE && !work_left(pool)) {
            stop_workers(pool);
            break;
        }
        int timeout = ask_for_workers(pool);
        resend_kills(pool);
        dispatch(pool);
        /* dispatch() may have dropped a failed job's last chunks: a closed
         * pool is then done, and no event would wake the poll below. */
        if (pool->state == CLOSE && !work_left(pool))
            continue;

        pthread_mutex_unlock(&pool->lock);
        write_late_report(pool);
        trace_unlocked(pool);

        /* The pipes are read and written without the lock (see pool_chunks.c):
         * what dispatch() queued goes now, and a full pipe is polled. */
        pool_stats io = {0};
        for (long i = 0; i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            if (w->pid > 0 && !w->ignored && w->out_off < w->out.len)
                write_worker(w, &io);
        }
        /* p[0] wakes us, p[1] brings deaths, p[2] new workers, then two per
         * worker. */
        struct pollfd *p = pool->pfds;
        p[0] = (struct pollfd){.fd = pool->wake_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = pool->death_fd, .events = POLLIN};
        p[2] = (struct pollfd){.fd = pool->server_gone ? -1 : pool->server_fd, .events = POLLIN};
        for (long i = 0; i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            bool reading = w->pid > 0 && !w->ignored;
            bool writing = w->pid > 0 && w->out_off < w->out.len;
            p[3 + 2 * i] = (struct pollfd){.fd = reading ? w->result_fd : -1, .events = POLLIN};
            p[4 + 2 * i] = (struct pollfd){.fd = writing ? w->task_fd : -1, .events = POLLOUT};
        }
        int polled = poll(p, (nfds_t)(3 + 2 * pool->processes), timeout);
        io.syscalls++;
        if (polled < 0) {
            /* EINTR: nothing to take; loop again. Any other error comes back
             * at once, every time: EINVAL when the program lowered
             * RLIMIT_NOFILE below our count of entries. Then, after a short
             * sleep, every descriptor is looked at, since nothing below
             * blocks, so deaths are still taken and workers asked for. */
            bool look = errno != EINTR;
            if (look)
                poll(NULL, 0, 10);
            for (long i = 0; i < 3 + 2 * pool->processes; i++)
                p[i].revents = look && p[i].fd >= 0 ? p[i].events : 0;
        }
        if (p[0].revents) {
            uint64_t n;
            ssize_t r = read(pool->wake_fd, &n, sizeof n);
            io.syscalls++;
            (void)r; /* nonblocking: empty or not, the wakeup is taken */
        }
        /* One read each: what a worker sends meanwhile wakes the next poll. */
        for (long i = 0; i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            if (p[3 + 2 * i].revents && w->pid > 0 && !w->ignored)
                read_some(w, &io);
        }

        pthread_mutex_lock(&pool->lock);
        pool->stats.syscalls += io.syscalls;
        pool->stats.writes += io.writes;
        pool->stats.pipe_bytes += io.pipe_bytes;
        if (p[0].revents)
            pool->wake_pending = false; /* after the read: a later wake writes again */
        for (long i = 0; i < pool->processes; i++) /* where read_some() read */
            if (p[3 + 2 * i].revents && pool->workers[i].pid > 0)
                take_frames(pool, &pool->workers[i]);
        if (p[2].revents)
            receive_workers(pool);
        if (p[1].revents)
            collect_deaths(pool);
    }
    /* Every worker is gone: the fork server may exit now, while the
     * callbacks finish, rather than in pool_join(). QUIT, not end of file,
     * since a child the program forked may hold a copy of our socket. */
    pool->task_handler_done = true;
    pthread_cond_signal(&pool->result_handler_cv);
    pthread_cond_broadcast(&pool->ready_cv);
    pthread_mutex_unlock(&pool->lock);
    write_late_report(pool);
    trace_unlocked(pool); /* this thread's last events */
    /* Only this thread uses server_fd, so no lock is held while it waits. */
    request quit = {.magic = SERVER_MAGIC, .op = QUIT};
    if (pool->config.threads) /* threads asked for and not yet answered end here */
        thread_workers_end(pool);
#ifdef POOL_MPI
    else if (pool->ranks) /* and ranks */
        rank_workers_end(pool);
#endif
    else
        (void)forkserver_ask(pool->server_fd, &quit, 0); /* if it is gone, so are its workers */
    close(pool->server_fd);
    pool->server_fd = -1;
    return NULL;
}
