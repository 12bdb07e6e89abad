/* fault_thread_pool_crash: a task that crashes in a pool of threads ends
 * the whole program, since it runs in the program's own process; the same
 * task in a pool of processes kills only its worker (lesson 11). Each case
 * runs in a child this test forks, which the parent waits for, with a time
 * limit, and judges by how it ended. */
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fault/fault.h"

/* Under a sanitizer the program must still die of the signal itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0"; }
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "handle_segv=0"; }
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "handle_segv=0"; }

/* A real fault: a write to a page with no access. */
static pool_value task_fault(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    volatile int *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fu_quiet_valgrind(); /* the bad write is the point */
    if (page != MAP_FAILED)
        *page = 42;
    raise(SIGSEGV); /* not reached */
    return pool_none();
}

/* raise(): a signal sent to the worker thread, which must not be blocked. */
static pool_value task_raise(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    fu_quiet_valgrind();
    raise(SIGSEGV);
    return pool_none();
}

/* The child: one pool, one task that crashes. It exits 0 only if the pool
 * reported the crash as a failed task and went on working. */
static void child(bool threads, pool_task_fn fn)
{
    pool_t *pool;
    if (pool_create(&pool, &(pool_config){.processes = 2, .threads = threads}) != POOL_OK)
        _exit(3);
    pool_value out;
    int rc = pool_apply(pool, fn, pool_none(), NULL, &out);
    bool reported = rc == POOL_ETASK && fu_names_signal(fu_msg(&out), SIGSEGV);
    pool_value_free(&out);
    rc = pool_apply(pool, fu_task_double, pool_tuple(1, pool_int(21)), NULL, &out);
    bool works = rc == POOL_OK && out.as.i == 42;
    pool_value_free(&out);
    pool_close(pool);
    pool_join(pool);
    pool_destroy(pool);
    _exit(reported && works ? 0 : 4);
}

/* Runs child() in a forked child; returns its wait status, or -1 if it
 * did not end within the limit (it is killed then). */
static int run_child(bool threads, pool_task_fn fn, double limit)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid < 0)
        return -1;
    if (pid == 0)
        child(threads, fn);
    int status = 0, n = 1;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) { /* readable once the child ended */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while ((n = poll(&p, 1, (int)(limit * 1000))) < 0 && errno == EINTR)
            ;
        close(fd);
    } else { /* no pidfd (Valgrind knows no pidfd_open): look every 10 ms */
        double end = fu_now() + limit;
        while ((n = (int)waitpid(pid, &status, WNOHANG)) == 0 && fu_now() < end)
            fu_sleep(0.01);
        if (n == pid)
            return status;
        n = n < 0 && errno == EINTR ? 1 : n;
    }
    if (n == 0)
        kill(pid, SIGKILL); /* too slow: the status then says SIGKILL */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return n == 0 ? -1 : status;
}

int main(void)
{
    double limit = fu_under_valgrind() ? 120 : 20;
    struct {
        const char *what;
        pool_task_fn fn;
    } cases[] = {{"a fault", task_fault}, {"raise(SIGSEGV)", task_raise}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int status = run_child(true, cases[i].fn, limit);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "threads, %s: the program should die of SIGSEGV; wait status %#x", cases[i].what,
              (unsigned)status);
        status = run_child(false, cases[i].fn, limit);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "processes, %s: the program should survive, the task fail and the pool work; "
              "wait status %#x", cases[i].what, (unsigned)status);
    }
    return check_done("fault_thread_pool_crash");
}
