/* test_chunks.c - how a map's items are cut into chunks, and how a chunk
 * whose worker died is named.
 *
 * The default chunksize is Python's, ceil(n / (4 * workers)). With
 * maxtasksperchild 1 each worker's life runs exactly one chunk, so the pid
 * each item reports marks where one chunk ends and the next begins: every
 * chunk but the last must hold exactly that many items.
 *
 * A worker that dies fails its whole chunk with one message naming the
 * worker, how it died and the chunk's tasks: "PoolWorker-N (pid P) died
 * from signal 9 (Killed) while running tasks 4-7". */
#include "check.h"
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static pool_value worker_pid(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_int(getpid());
}

/* Checks the chunks of a default map of n items over `workers` workers. */
static void check_default_chunks(pool_t *pool, long workers, size_t n)
{
    size_t want = (n + 4 * (size_t)workers - 1) / (4 * (size_t)workers);
    pool_value out = pool_none();
    CHECK_OK(pool_map(pool, worker_pid, pool_range(n), NULL, &out));
    CHECK(out.type == POOL_LIST && out.len == n, "map of %zu items: got %u results", n, out.len);
    if (out.type != POOL_LIST || out.len != n) {
        pool_value_free(&out);
        return;
    }
    /* The lengths of the runs of one pid, in order. */
    size_t runs[1001], nruns = 0, len = 1;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && out.as.items[i].as.i == out.as.items[i - 1].as.i) {
            len++;
            continue;
        }
        if (nruns < sizeof runs / sizeof runs[0])
            runs[nruns++] = len;
        len = 1;
    }
    bool right = nruns == (n + want - 1) / want;
    for (size_t r = 0; right && r < nruns; r++)
        right = r + 1 < nruns ? runs[r] == want : runs[r] == n - want * (nruns - 1);
    char got[256] = "";
    for (size_t r = 0, used = 0; r < nruns && used < sizeof got - 8; r++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%zu", r ? " " : "", runs[r]);
    CHECK(right, "%zu items over %ld workers: expected every chunk but the last to hold "
                 "ceil(%zu / %ld) = %zu, got chunks of %s", n, workers, n, 4 * workers, want, got);
    pool_value_free(&out);
}

static void test_default_chunksize(void)
{
    static const size_t sizes[] = {1, 7, 8, 9, 16, 17, 100, 1000};
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2, .maxtasksperchild = 1}));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_default_chunks(pool, 2, sizes[i]);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    /* Another number of workers, so that 4 * workers is not a constant 8. */
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 3, .maxtasksperchild = 1}));
    check_default_chunks(pool, 3, 25);
    check_default_chunks(pool, 3, 100);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

/* Shared with the workers, mapped before pool_create: which item kills its
 * worker, and that worker's pid and name, for the expected message. */
typedef struct victim {
    long long kill_at;
    pid_t pid;
    char name[16];
} victim;
static victim *shared;

static pool_value die_at(const pool_value *args, size_t nargs)
{
    long long item = nargs == 1 ? args[0].as.i : -1;
    if (item == shared->kill_at || nargs == 0) {
        shared->pid = getpid();
        if (prctl(PR_GET_NAME, shared->name) != 0)
            snprintf(shared->name, sizeof shared->name, "(no name)");
        raise(SIGKILL);
    }
    return pool_int(item);
}

/* A map of n items in chunks of 4 (0 for an apply) whose item kill_at kills
 * its worker: the message must be exactly "<name> (pid P) died from signal
 * 9 (Killed) while running <tasks>". */
static void check_death_message(pool_t *pool, size_t n, long long kill_at, const char *tasks)
{
    shared->kill_at = kill_at;
    shared->pid = 0;
    memset(shared->name, 0, sizeof shared->name);
    pool_value out = pool_none();
    int rc = n ? pool_map(pool, die_at, pool_range(n), &(pool_opts){.chunksize = 4}, &out)
               : pool_apply(pool, die_at, pool_tuple(0), NULL, &out);
    CHECK_EQ_INT(POOL_ETASK, rc);
    char want[256];
    snprintf(want, sizeof want, "%s (pid %d) died from signal 9 (Killed) while running %s",
             shared->name, (int)shared->pid, tasks);
    char what[64];
    if (n)
        snprintf(what, sizeof what, "item %lld of a map of %zu in chunks of 4", kill_at, n);
    else
        snprintf(what, sizeof what, "an apply");
    CHECK(out.type == POOL_ERROR && strcmp(out.as.s, want) == 0,
          "%s killed its worker: expected the error \"%s\", got \"%s\"", what, want,
          out.type == POOL_ERROR ? out.as.s : "(not an error)");
    pool_value_free(&out);
}

static void test_death_messages(void)
{
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED, "mmap: %s", strerror(errno));
    if (shared == MAP_FAILED)
        return;
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    check_death_message(pool, 12, 5, "tasks 4-7");  /* the second chunk of three */
    check_death_message(pool, 10, 9, "tasks 8-9");  /* a short last chunk */
    check_death_message(pool, 9, 8, "task 8");      /* a last chunk of one */
    check_death_message(pool, 0, -1, "the task");   /* an apply */
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    if (munmap(shared, sizeof *shared) != 0)
        perror("test_chunks: munmap");
}

int main(void)
{
    test_default_chunksize();
    test_death_messages();
    return check_done("test_chunks");
}
