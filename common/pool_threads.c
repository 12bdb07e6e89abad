/* pool_threads.c - a worker thread's role, for a pool made with
 * config.threads: it starts a worker thread, runs its body (the same loop
 * a worker process runs, on the same two pipes), and sends its death
 * notice. The task handler alone calls these, and pool_create() and
 * create_failed() before it starts or once it ended. The thread shares
 * nothing with the pool but the pipes, the slot's task_now when traced,
 * and its stop flag. */
#include "pool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct thread_worker {
    pthread_t thread;
    _Atomic bool stop;     /* kill_worker: start no further item */
    pool_config config;    /* a copy: the thread never reads the pool */
    int number, slot;
    task_now *now;         /* traced: the slot's, else NULL */
    worker_counts *counts; /* the slot's */
    int task_fd, result_fd; /* the thread's ends of its two pipes */
    int shm_fd;             /* and of its side socket */
    int reply_fd, death_fd; /* the pool's write ends, shared by its threads */
};

static void *thread_worker_main(void *arg)
{
    struct thread_worker *t = arg;
    char name[32]; /* the kernel keeps the first 15 bytes */
    snprintf(name, sizeof name, "PoolWorker-%d", t->number);
    prctl(PR_SET_NAME, name);
    pid_t tid = gettid();

    /* A write of less than PIPE_BUF bytes is atomic, so the replies of
     * threads starting side by side never mix. */
    reply rep = {.magic = SERVER_MAGIC, .number = t->number, .slot = t->slot, .pid = tid};
    int status = 0;
    if (write_all(t->reply_fd, &rep, sizeof rep) == 0) { /* it fails only if the pool is gone */
        if (t->config.initializer)
            t->config.initializer(t->config.initarg);
        worker_io io = worker_pipes(t->task_fd, t->result_fd, t->shm_fd,
                                    shm_min_of(&t->config), t->counts, &t->stop);
        status = worker_loop(&t->config, tid, t->now, &io);
    }
    close(t->task_fd);
    close(t->result_fd);
    close(t->shm_fd);
    /* The last act: once the task handler reads this, its pthread_join()
     * waits only for the thread's return. */
    death d = {.pid = tid, .status = W_EXITCODE(status, 0)};
    (void)write_all(t->death_fd, &d, sizeof d); /* the pool holds the read end till it joined us */
    return NULL;
}

int thread_worker_start(pool_t *pool, long i, int number)
{
    int task[2], result[2], shm[2];
    if (worker_pipes_make(task, result) != 0)
        return -1;
    if (shm_socketpair(shm) != 0) {
        int saved = errno;
        close(task[0]);
        close(task[1]);
        close(result[0]);
        close(result[1]);
        errno = saved;
        return -1;
    }
    struct thread_worker *t = xcalloc(1, sizeof *t);
    *t = (struct thread_worker){.config = pool->config, .number = number, .slot = (int)i,
                                .now = pool->now ? &pool->now[i] : NULL,
                                .counts = &pool->counts[i],
                                .task_fd = task[0], .result_fd = result[1], .shm_fd = shm[1],
                                .reply_fd = pool->reply_wr, .death_fd = pool->death_wr};
    /* Every signal is blocked on the thread, as on the pool's own threads,
     * so signals go to the program's threads and a write to a closed pipe
     * gives EPIPE; but not those a crash raises, which must still end the
     * program (a blocked SIGSEGV from a fault kills it anyway, one from
     * raise() would wait forever). */
    sigset_t mask, old;
    sigfillset(&mask);
    int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    for (size_t k = 0; k < sizeof crashes / sizeof *crashes; k++)
        sigdelset(&mask, crashes[k]);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    int rc = pthread_create(&t->thread, NULL, thread_worker_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(task[0]);
        close(task[1]);
        close(result[0]);
        close(result[1]);
        close(shm[0]);
        close(shm[1]);
        free(t);
        errno = rc;
        return -1;
    }
    worker *w = &pool->workers[i];
    *w = (worker){.number = number, .spawning = true, .task_fd = task[1],
                  .result_fd = result[0], .shm_fd = shm[0], .thread = t,
                  .replaces = w->replaces,
                  .replaces_number = w->replaces_number};
    return 0;
}

int thread_worker_receive(pool_t *pool, int flags, reply *rep, int fds[3])
{
    for (;;) {
        ssize_t n = read(pool->server_fd, rep, sizeof *rep);
        if (n == (ssize_t)sizeof *rep)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (flags & MSG_DONTWAIT)
                return 0;
            struct pollfd p = {.fd = pool->server_fd, .events = POLLIN};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return -1;
            continue;
        }
        errno = n < 0 ? errno : EPROTO; /* our threads write whole replies */
        return -1;
    }
    worker *w = rep->slot >= 0 && rep->slot < pool->processes ? &pool->workers[rep->slot] : NULL;
    if (rep->magic != SERVER_MAGIC || !w || !w->spawning || w->number != rep->number) {
        errno = EPROTO;
        return -1;
    }
    fds[0] = w->task_fd;
    fds[1] = w->result_fd;
    fds[2] = w->shm_fd;
    return 1;
}

void thread_worker_kill(worker *w)
{
    atomic_store(&w->thread->stop, true);
    /* A worker blocked writing results gets EPIPE, one reading gets end of
     * file; a task running now runs to its end, since a thread cannot be
     * killed. */
    if (w->task_fd >= 0)
        close(w->task_fd);
    if (w->result_fd >= 0)
        close(w->result_fd);
    if (w->shm_fd >= 0)
        close(w->shm_fd);
    w->task_fd = w->result_fd = w->shm_fd = -1;
}

void thread_worker_join(struct thread_worker *t)
{
    /* Its death notice was its last act, so this waits only for its
     * return: near-instant. */
    pthread_join(t->thread, NULL); /* fails only for a bad or detached thread */
    free(t);
}

void thread_workers_end(pool_t *pool)
{
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (!w->thread)
            continue;
        /* One not yet answered, or one pool_create() gives up on: at end
         * of file on its task pipe it ends. */
        thread_worker_kill(w);
        thread_worker_join(w->thread);
        w->thread = NULL;
        w->pid = 0;
        w->spawning = false;
        free(w->out.data);
        free(w->in.data);
        w->out = w->in = (pool_buf){0};
    }
}
