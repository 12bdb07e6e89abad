/* spawn.c - the scenario of fault_task_exec and fault_task_fork: a task
 * starts a process of its own, then its worker dies. */
#include <spawn.h>

#include <sys/mman.h>

#include "internal.h"

extern char **environ;

typedef struct spawn_shm {
    _Atomic int helper; /* the pid of the process the task started */
    _Atomic int worker;
    _Atomic int leaked; /* the worker's descriptors the exec'd program holds */
} spawn_shm;
static spawn_shm *sh;

/* Runs /bin/sleep 90 by posix_spawn, waits until it runs, then dies. */
static pool_value task_exec_then_die(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    pid_t pid;
    char *argv[] = {"sleep", "90", NULL};
    if (posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ) != 0)
        return pool_error("posix_spawn failed");
    atomic_store(&sh->helper, (int)pid);
    atomic_store(&sh->worker, (int)getpid());
    fu_proc p;
    FU_WAIT_UNTIL(fu_proc_read(pid, &p) && strcmp(p.comm, "sleep") == 0, 10); /* the exec */
    /* Which of this worker's pipes and sockets did the program keep? */
    static char mine[128][64], its[128][64];
    int n_mine = fu_kernel_objects(getpid(), mine, 128, 3);
    int n_its = fu_kernel_objects(pid, its, 128, 3), leaked = 0;
    for (int i = 0; i < n_its; i++)
        if (fu_listed(mine, n_mine, its[i]))
            leaked++;
    atomic_store(&sh->leaked, leaked);
    raise(SIGKILL);
    return pool_none();
}

/* Forks a child that sleeps up to 90 s, then dies. */
static pool_value task_fork_then_die(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 9000; i++)
            fu_sleep(0.01);
        _exit(0);
    }
    atomic_store(&sh->helper, (int)pid);
    atomic_store(&sh->worker, (int)getpid());
    raise(SIGKILL);
    return pool_none();
}

/* The task must fail with POOL_ETASK naming the worker and SIGKILL within
 * bound seconds while the process it started still lives; an exec'd
 * program must hold none of the pool's descriptors. */
void fu_spawn_scenario(const char *name, bool exec)
{
    sh = fu_shared(sizeof *sh);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return;
    fu_check_pool_works(pool, 10, "at the start");
    double bound = fu_under_valgrind() ? 60.0 : 15.0;

    for (int round = 0; round < 2; round++) {
        atomic_store(&sh->helper, 0);
        atomic_store(&sh->worker, 0);
        atomic_store(&sh->leaked, -1);
        pool_result *r = NULL;
        CHECK_OK(pool_apply_async(pool, exec ? task_exec_then_die : task_fork_then_die,
                                  pool_tuple(0), NULL, &r));
        const pool_value *v = NULL;
        int rc = pool_result_get(r, bound, &v);
        pid_t helper_pid = atomic_load(&sh->helper);
        CHECK(helper_pid > 0, "%s: the task started no process", name);
        CHECK(rc == POOL_ETASK,
              "%s: the worker died but its task was not failed within %.0f s "
              "(got %d, %s) while the process it started lived on", name, bound, rc,
              pool_strerror(rc));
        if (rc == POOL_ETASK)
            CHECK(fu_names_pid(fu_msg(v), atomic_load(&sh->worker)) &&
                      fu_names_signal(fu_msg(v), SIGKILL),
                  "%s: \"%s\" names neither the worker nor SIGKILL", name, fu_msg(v));
        if (exec)
            CHECK(atomic_load(&sh->leaked) == 0,
                  "%s: the program a task started holds %d of its worker's pipes and "
                  "sockets", name, atomic_load(&sh->leaked));
        if (helper_pid > 0) {
            /* It is ours now: we are the subreaper of its dead parent. */
            kill(helper_pid, SIGKILL);
            FU_WAIT_UNTIL(waitpid(helper_pid, NULL, WNOHANG) != 0, FU_TIMEOUT);
        }
        /* With the process gone, the failure must come for sure. */
        rc = fu_get(r, &v, name);
        CHECK_EQ_INT(POOL_ETASK, rc);
        pool_result_release(r);
        fu_check_pool_works(pool, 100, name);
        CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
        if (fu_failures())
            break; /* a second round would only wait again */
    }
    fu_pool_close(pool, name);
    munmap(sh, sizeof *sh);
}
