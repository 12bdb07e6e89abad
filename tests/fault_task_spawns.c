/* fault_task_spawns: a task that starts a process of its own, then its
 * worker dies.
 *   exec: the task runs /bin/sleep with posix_spawn; the program must hold
 *     none of the pool's descriptors (they are close-on-exec), and when the
 *     worker then dies the task fails at once, while sleep still runs;
 *   fork: the task forks a child that sleeps; the child holds the worker's
 *     pipes, as any fork would, yet the worker's death must still fail the
 *     task while that child lives (Python's ProcessPoolExecutor notices such
 *     a death; it watches the process, not the pipe).
 * "At once" is a bound for "does not hang": 15 s (60 s under Valgrind); the
 * spawned processes live until the test kills them. */
#include <spawn.h>

#include "fault_util.h"

extern char **environ;

typedef struct shm {
    _Atomic int helper; /* the pid of the process the task started */
    _Atomic int worker;
} shm;
static shm *sh;

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
    /* Wait until sleep runs (its name shows the exec is done). */
    for (int i = 0; i < 5000; i++) {
        fu_proc p;
        if (fu_proc_read(pid, &p) && strcmp(p.comm, "sleep") == 0)
            break;
        fu_sleep(0.002);
    }
    raise(SIGKILL);
    return pool_none();
}

static pool_value task_fork_then_die(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 9000; i++) /* 90 s at most */
            fu_sleep(0.01);
        _exit(0);
    }
    atomic_store(&sh->helper, (int)pid);
    atomic_store(&sh->worker, (int)getpid());
    raise(SIGKILL);
    return pool_none();
}

/* The pipe:, socket: and anon_inode: targets this process has open. */
static int kernel_objects(pid_t pid, char names[][64], int max)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.')
            continue;
        char path[400], target[64];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k <= 0)
            continue;
        target[k] = '\0';
        if (strncmp(target, "pipe:", 5) == 0 || strncmp(target, "socket:", 7) == 0 ||
            strncmp(target, "anon_inode:", 11) == 0)
            snprintf(names[n++], 64, "%s", target);
    }
    closedir(d);
    return n;
}

static bool listed(char names[][64], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    static char before[256][64], after[256][64], helper[256][64];
    int n_before = kernel_objects(getpid(), before, 256);
    int fds0 = fu_count_fds();
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    if (!pool)
        return check_done("fault_task_spawns");
    fu_check_pool_works(pool, 10, "at the start");
    double bound = fu_under_valgrind() ? 60.0 : 15.0;

    struct {
        const char *name;
        pool_task_fn fn;
    } cases[] = {{"exec", task_exec_then_die}, {"fork", task_fork_then_die}};
    for (int c = 0; c < 2; c++) {
        atomic_store(&sh->helper, 0);
        atomic_store(&sh->worker, 0);
        pool_result *r = NULL;
        CHECK_OK(pool_apply_async(pool, cases[c].fn, pool_tuple(0), NULL, &r));
        const pool_value *v = NULL;
        int rc = pool_result_get(r, bound, &v);
        pid_t helper_pid = atomic_load(&sh->helper);
        CHECK(helper_pid > 0, "%s: the task started no process", cases[c].name);
        CHECK(rc == POOL_ETASK,
              "%s: the worker died but its task was not failed within %.0f s "
              "(got %d, %s) while the process it started lived on", cases[c].name, bound,
              rc, pool_strerror(rc));
        if (rc == POOL_ETASK)
            CHECK(fu_names_pid(fu_msg(v), atomic_load(&sh->worker)) &&
                      fu_names_signal(fu_msg(v), SIGKILL),
                  "%s: \"%s\" names neither the worker nor SIGKILL", cases[c].name,
                  fu_msg(v));
        if (c == 0 && helper_pid > 0) {
            /* The exec'd program got none of the pool's descriptors. */
            int n_after = kernel_objects(getpid(), after, 256);
            int n_helper = kernel_objects(helper_pid, helper, 256);
            int leaked = 0;
            for (int i = 0; i < n_helper; i++)
                if (!listed(before, n_before, helper[i]) && listed(after, n_after, helper[i])) {
                    if (!leaked)
                        fprintf(stderr, "the exec'd program holds the pool's:\n");
                    fprintf(stderr, "    %s\n", helper[i]);
                    leaked++;
                }
            CHECK(leaked == 0, "exec: the program a task started holds %d of the pool's "
                  "descriptors", leaked);
        }
        if (helper_pid > 0) {
            /* It is ours now (we are the subreaper of its dead parent). */
            kill(helper_pid, SIGKILL);
            double end = fu_now() + FU_TIMEOUT;
            while (waitpid(helper_pid, NULL, WNOHANG) == 0 && fu_now() < end)
                fu_sleep(0.002);
        }
        /* Once the helper is gone, the failure must come for sure. */
        rc = fu_get(r, &v, cases[c].name);
        CHECK_EQ_INT(POOL_ETASK, rc);
        pool_result_release(r);
        fu_check_pool_works(pool, 100, cases[c].name);
        CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
    }

    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    fu_after_destroy(fds0, "after pool_destroy");
    return check_done("fault_task_spawns");
}
