/* mpi_terminate.c - pool_terminate() and pool_destroy() on MPI: the tasks
 * running then finish, items not yet started never start, and a new pool
 * then works on the same ranks. Each task appends "start I" to a file
 * before it sleeps, so rank 0 counts the items that started (the ranks
 * share rank 0's host under scripts/mpirun.sh). */
#include "mpi_util.h"

#include <fcntl.h>

#define SLOW 2.0 /* seconds each long task runs */

/* args: (path, index, seconds) */
static pool_value slow(const pool_value *args, size_t nargs)
{
    if (nargs != 3)
        return pool_error("slow wants 3 args");
    char line[32];
    int len = snprintf(line, sizeof line, "start %lld\n", args[1].as.i);
    int fd = open(args[0].as.s, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0 || write(fd, line, (size_t)len) != len || close(fd) != 0)
        return pool_error("cannot note the start in %s", args[0].as.s);
    sleep_s(args[2].as.f);
    return pool_int(args[1].as.i);
}

/* The items that started, as a bit set, and how many. */
static int started(const char *path, unsigned *set)
{
    *set = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* no task wrote yet */
    int n = 0, i;
    while (fscanf(f, "start %d\n", &i) == 1) {
        *set |= 1u << i;
        n++;
    }
    fclose(f); /* read only: nothing to lose */
    return n;
}

static void fresh_file(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    close(fd); /* empty and unwritten: nothing to lose */
}

/* Submits n long tasks, and waits until the pool's 2 workers started one
 * each. */
static void submit_long(pool_t *pool, const char *path, int n, pool_result **r)
{
    for (int i = 0; i < n; i++)
        CHECK_OK(pool_apply_async(pool, slow,
                                  pool_tuple(3, pool_str(path), pool_int(i), pool_float(SLOW)),
                                  NULL, &r[i]));
    unsigned set;
    double end = now_s() + 20;
    while (started(path, &set) < 2 && now_s() < end)
        sleep_s(0.005);
    CHECK_EQ_INT(2, started(path, &set));
}

static void map_works(const char *when)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, NULL));
    pool_value out;
    CHECK_OK(pool_map(pool, twice, pool_range(20), NULL, &out));
    bool right = out.type == POOL_LIST && out.len == 20;
    for (uint32_t i = 0; right && i < out.len; i++)
        right = out.as.items[i].as.i == 2 * (long long)i;
    CHECK(right, "a map %s gave wrong results", when);
    pool_value_free(&out);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

int main(void)
{
    enum { N = 8 };
    pool_t *pool;
    pool_result *r[N];
    unsigned set;
    char path[] = "/tmp/mpi_terminate_XXXXXX";
    fresh_file(path);

    /* terminate, then join */
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    submit_long(pool, path, N, r);
    double t0 = now_s();
    CHECK_OK(pool_terminate(pool));
    CHECK_OK(pool_join(pool));
    double took = now_s() - t0;
    printf("terminate and join took %.2f s; running tasks take %.1f s\n", took, SLOW);
    CHECK(took >= SLOW / 2, "join returned after %.2f s, before the running tasks ended", took);
    CHECK(took < 3 * SLOW, "join took %.2f s: it waited for queued items", took);
    sleep_s(1); /* an item wrongly started would show by now */
    CHECK_EQ_INT(2, started(path, &set));
    for (int i = 0; i < N; i++) {
        const pool_value *v;
        if (!(set & (1u << i)))
            CHECK_EQ_INT(POOL_ETERMINATED, pool_result_get(r[i], 0, &v));
    }
    pool_destroy(pool);
    map_works("after terminate");

    /* destroy with no close or join */
    char path2[] = "/tmp/mpi_terminate_XXXXXX";
    fresh_file(path2);
    CHECK_OK(pool_create(&pool, &cfg));
    submit_long(pool, path2, N, r);
    t0 = now_s();
    pool_destroy(pool);
    took = now_s() - t0;
    printf("destroy took %.2f s\n", took);
    CHECK(took >= SLOW / 2, "destroy returned after %.2f s, before the running tasks ended", took);
    CHECK(took < 3 * SLOW, "destroy took %.2f s: it waited for queued items", took);
    sleep_s(1);
    CHECK_EQ_INT(2, started(path2, &set));
    map_works("after destroy");

    unlink(path); /* a leftover file in /tmp is harmless */
    unlink(path2);
    return check_done("mpi_terminate");
}
