/* fault_fd_isolation: each worker holds its own two pipes and side socket
 * (for big values) and nothing else.
 * A worker that held a sibling's pipe end, the parent's socket to the fork
 * server, or any other pool descriptor would keep them open after their
 * owner died, and a death or a closed pool could go unnoticed. Tasks list
 * the pipes, sockets and anon inodes their worker has open (descriptors 3
 * and up that the test did not have before pool_create): every worker must
 * hold exactly one read-only and one write-only pipe and one socket (a
 * worker's read-write side socket), and no two workers
 * may share any object; the same holds for a worker that replaced a killed
 * one. */
#include <dirent.h>
#include <fcntl.h>

#include "fault/fault.h"

enum { WORKERS = 4, MAX_OBJ = 16, SLOTS = 16 };

typedef struct slot {
    _Atomic int pid;
    int n;
    char obj[MAX_OBJ][64];
    int mode[MAX_OBJ]; /* O_RDONLY, O_WRONLY or O_RDWR */
} slot;

typedef struct shm {
    _Atomic int arrived;
    int n_before;
    char before[64][64]; /* what the test had open before the pool */
    slot slots[SLOTS];
} shm;
static shm *sh;

/* Records the worker's objects once per worker, after waiting (at most 2 s)
 * for the other workers to arrive, so that each worker runs one. */
static pool_value task_list(const pool_value *args, size_t nargs)
{
    (void)nargs;
    atomic_fetch_add(&sh->arrived, 1);
    for (int i = 0; i < 400 && atomic_load(&sh->arrived) < (int)args[0].as.i; i++)
        fu_sleep(0.005);
    int me = -1;
    for (int i = 0; i < SLOTS && me < 0; i++) {
        int expect = 0;
        if (atomic_load(&sh->slots[i].pid) == getpid())
            return pool_int(getpid()); /* listed already */
        if (atomic_compare_exchange_strong(&sh->slots[i].pid, &expect, (int)getpid()))
            me = i;
    }
    if (me < 0)
        return pool_error("no free slot");
    slot *s = &sh->slots[me];
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int self = d ? dirfd(d) : -1;
    while (d && (e = readdir(d)) && s->n < MAX_OBJ) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < 3 || fd >= 1000 || fd == self)
            continue;
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k <= 0)
            continue;
        target[k] = '\0';
        if ((strncmp(target, "pipe:", 5) && strncmp(target, "socket:", 7) &&
             strncmp(target, "anon_inode:", 11)) ||
            fu_listed(sh->before, sh->n_before, target))
            continue;
        snprintf(s->obj[s->n], 64, "%s", target);
        s->mode[s->n] = fcntl(fd, F_GETFL) & O_ACCMODE;
        s->n++;
    }
    if (d)
        closedir(d);
    return pool_int(getpid());
}

static void run_round(pool_t *pool, const char *when)
{
    memset(sh->slots, 0, sizeof sh->slots);
    atomic_store(&sh->arrived, 0);
    pool_value items = pool_list(WORKERS * 4);
    for (uint32_t i = 0; i < items.len; i++)
        items.as.items[i] = pool_int(WORKERS);
    pool_opts o = {.chunksize = 1};
    pool_value out = pool_none();
    int rc = pool_map(pool, task_list, items, &o, &out);
    CHECK(rc == POOL_OK, "%s: %d (%s) %s", when, rc, pool_strerror(rc), fu_msg(&out));
    pool_value_free(&out);

    int seen = 0;
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &sh->slots[i];
        if (!atomic_load(&s->pid))
            continue;
        seen++;
        int rd = 0, wr = 0, sock = 0, other = 0;
        for (int k = 0; k < s->n; k++) {
            if (strncmp(s->obj[k], "pipe:", 5) == 0 && s->mode[k] == O_RDONLY)
                rd++;
            else if (strncmp(s->obj[k], "pipe:", 5) == 0 && s->mode[k] == O_WRONLY)
                wr++;
            else if (strncmp(s->obj[k], "socket:", 7) == 0 && s->mode[k] == O_RDWR)
                sock++;
            else
                other++;
        }
        CHECK(rd == 1 && wr == 1 && sock == 1 && other == 0,
              "%s: worker %d holds %d read pipes, %d write pipes, %d sockets and %d other "
              "objects, not one of each", when, atomic_load(&s->pid), rd, wr, sock, other);
        if (!(rd == 1 && wr == 1 && sock == 1 && other == 0))
            for (int k = 0; k < s->n; k++)
                fprintf(stderr, "    %s (mode %d)\n", s->obj[k], s->mode[k]);
        for (int j = i + 1; j < SLOTS; j++) {
            slot *t = &sh->slots[j];
            if (!atomic_load(&t->pid))
                continue;
            for (int k = 0; k < s->n; k++)
                CHECK(!fu_listed(t->obj, t->n, s->obj[k]),
                      "%s: workers %d and %d both hold %s", when, atomic_load(&s->pid),
                      atomic_load(&t->pid), s->obj[k]);
        }
    }
    CHECK(seen >= 2, "%s: only %d workers ran a task", when, seen);
}

/* WORKERS live workers, and neither of the two killed ones among them. */
static bool replaced(const pid_t *killed)
{
    pid_t now[64];
    int k = fu_worker_pids(now, 64), stale = 0;
    for (int i = 0; i < k; i++)
        stale += now[i] == killed[0] || now[i] == killed[1];
    return k == WORKERS && !stale;
}

int main(void)
{
    sh = fu_shared(sizeof *sh);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) && sh->n_before < 64) {
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k > 0) {
            target[k] = '\0';
            snprintf(sh->before[sh->n_before++], 64, "%s", target);
        }
    }
    if (d)
        closedir(d);
    pool_t *pool = fu_pool_open((pool_config){.processes = WORKERS});
    if (!pool)
        return check_done("fault_fd_isolation");
    run_round(pool, "fresh workers");

    /* Kill two workers; their replacements must be as clean. */
    pid_t pids[64];
    int n = fu_worker_pids(pids, 64);
    CHECK_EQ_INT(WORKERS, n);
    for (int i = 0; i < n && i < 2; i++)
        kill(pids[i], SIGKILL);
    FU_WAIT_UNTIL(replaced(pids), FU_TIMEOUT);
    run_round(pool, "replacement workers");

    fu_pool_close(pool, "after pool_destroy");
    return check_done("fault_fd_isolation");
}
