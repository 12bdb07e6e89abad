/* fault_shm_worker_dies: a worker dies while a value in shared memory is
 * its own or on its way (config.shm_min in pool.h), and nothing of it
 * stays: no process of the test holds a descriptor or a mapping of a
 * "pool-value" memfd, and the parent has as many descriptors as before the
 * death, so no socket with a descriptor queued in it is kept either. The
 * deaths: SIGKILL from the test, abort() and _exit(3) while the task holds
 * its mapped argument; SIGKILL while a big argument waits, unread, in the
 * worker's socket; and SIGKILL after an earlier item of the same chunk
 * sent its big result's memfd, whose message on the pipe never comes. Each
 * time the task fails with POOL_ETASK naming the worker's pid and how it
 * died, the worker is replaced, and the pool goes on moving big values. */
#include <dirent.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "fault/fault.h"

#define BIG (256u << 10)
#define MIN 4096

enum how { OUTSIDE, ABORT, EXIT, QUEUED_ARG, RESULT_IN_FLIGHT };

typedef struct state {
    _Atomic int started, pid;
    _Atomic int maps;    /* the dying worker's memfd mappings as it held its argument */
    _Atomic int queued;  /* bytes waiting in its side socket, or sent and unread */
} state;
static state *st;

static unsigned char byte_at(size_t i) { return (unsigned char)(i % 251 ? i * 7 + 3 : 0); }

static pool_value make_bytes(size_t len)
{
    unsigned char *raw = malloc(len);
    for (size_t i = 0; raw && i < len; i++)
        raw[i] = byte_at(i);
    pool_value v = pool_bytes(raw, len);
    free(raw);
    return v;
}

static bool intact(const pool_value *v, size_t len)
{
    if (v->type != POOL_BYTES || v->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (v->as.bytes[i] != byte_at(i))
            return false;
    return true;
}

/* The bytes this worker's sockets hold: with out, those it sent that the
 * other end has not read (SIOCOUTQ); else those waiting for it (SIOCINQ). */
static int socket_bytes(bool out)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int total = 0;
    while (d && (e = readdir(d))) {
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        int n = 0;
        if (k > 0 && strncmp(target, "socket:", 7) == 0 &&
            ioctl(atoi(e->d_name), out ? SIOCOUTQ : SIOCINQ, &n) == 0)
            total += n;
    }
    if (d)
        closedir(d);
    return total;
}

static void mark(void)
{
    atomic_store(&st->pid, (int)getpid());
    atomic_store(&st->started, 1);
}

/* args: a big bytes value and how to die. */
static pool_value hold(const pool_value *args, size_t nargs)
{
    if (nargs != 2 || !intact(&args[0], BIG))
        return pool_error("not the argument sent");
    int fds, maps;
    fu_memfds(getpid(), FU_MEMFD, &fds, &maps);
    atomic_store(&st->maps, fu_memfd_mapping(args[0].as.bytes, FU_MEMFD) == 'p' ? maps : 0);
    if (args[1].as.i == QUEUED_ARG) { /* the next task's argument arrives meanwhile */
        int q = 0;
        FU_WAIT_UNTIL((q = socket_bytes(false)) > 0, 10);
        atomic_store(&st->queued, q);
    }
    mark();
    switch (args[1].as.i) {
    case ABORT:
        fu_quiet_valgrind();
        abort();
    case EXIT:
        _exit(3);
    default:
        break;
    }
    for (int i = 0; i < 6000; i++) /* until the test kills us */
        fu_sleep(0.01);
    return pool_error("the test did not kill this worker");
}

/* Item 0 returns a big value, whose memfd goes at once; item 1 sees it
 * still unread, and the worker dies before the chunk's results are written. */
static pool_value big_then_die(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].as.i == 0)
        return make_bytes(BIG);
    atomic_store(&st->queued, socket_bytes(true));
    mark();
    raise(SIGKILL);
    return pool_none();
}

static pool_value echo(const pool_value *args, size_t nargs)
{
    return nargs && intact(&args[0], BIG) ? pool_value_copy(&args[0])
                                          : pool_error("not the argument sent");
}

static pool_value length(const pool_value *args, size_t nargs)
{
    return pool_int(nargs && intact(&args[0], BIG) ? (long long)BIG : -1);
}

/* The pool moves big values both ways, on every worker. */
static void check_big_values(pool_t *pool, const char *name)
{
    pool_value items = pool_list(8), out = pool_none();
    for (int i = 0; i < 8; i++)
        items.as.items[i] = make_bytes(BIG);
    int rc = pool_map(pool, echo, items, &(pool_opts){.chunksize = 1}, &out);
    CHECK(rc == POOL_OK, "%s: a map of big values after the death: %d (%s) %s", name, rc,
          pool_strerror(rc), fu_msg(&out));
    int bad = 0;
    for (uint32_t i = 0; rc == POOL_OK && i < out.len; i++)
        bad += !intact(&out.as.items[i], BIG);
    CHECK(bad == 0, "%s: %d of 8 big results corrupt", name, bad);
    pool_value_free(&out);
}

static void scenario(const char *name, enum how how)
{
    memset(st, 0, sizeof *st);
    long n = how == QUEUED_ARG ? 1 : 2;
    pool_t *pool = fu_pool_open((pool_config){.processes = n, .shm_min = MIN});
    if (!pool)
        return;
    CHECK_EQ_INT(n, fu_wait_workers((int)n, FU_TIMEOUT));
    check_big_values(pool, name); /* every worker has had its shared-memory values */
    int fds_alive = fu_count_fds();

    pool_result *r = NULL, *next = NULL;
    if (how == RESULT_IN_FLIGHT)
        CHECK_OK(pool_map_async(pool, big_then_die, pool_range(2),
                                &(pool_opts){.chunksize = 2}, &r));
    else
        CHECK_OK(pool_apply_async(pool, hold, pool_tuple(2, make_bytes(BIG), pool_int(how)),
                                  NULL, &r));
    if (how == QUEUED_ARG) /* sent ahead to the one worker, behind hold */
        CHECK_OK(pool_apply_async(pool, length, pool_tuple(1, make_bytes(BIG)), NULL, &next));
    FU_WAIT_UNTIL(atomic_load(&st->started), FU_TIMEOUT);
    pid_t victim = atomic_load(&st->pid);
    CHECK(victim > 0, "%s: the task never started", name);
    if (how == OUTSIDE || how == QUEUED_ARG)
        CHECK(victim > 0 && kill(victim, SIGKILL) == 0, "kill(%d): %s", (int)victim,
              strerror(errno));

    const pool_value *v = NULL;
    int rc = fu_get(r, &v, name);
    const char *msg = fu_msg(v);
    CHECK(rc == POOL_ETASK, "%s: expected POOL_ETASK, got %d (%s) %s", name, rc,
          pool_strerror(rc), msg);
    CHECK(fu_names_pid(msg, victim), "%s: \"%s\" does not name pid %d", name, msg, (int)victim);
    if (how == EXIT)
        CHECK(strcasestr(msg, "exit") && strstr(msg, "3"), "%s: \"%s\" does not name exit status 3",
              name, msg);
    else
        CHECK(fu_names_signal(msg, how == ABORT ? SIGABRT : SIGKILL),
              "%s: \"%s\" does not name signal %d", name, msg, how == ABORT ? SIGABRT : SIGKILL);
    /* the scenario happened as meant: the argument mapped, or a memfd queued */
    if (how == RESULT_IN_FLIGHT || how == QUEUED_ARG)
        CHECK(atomic_load(&st->queued) > 0,
              "%s: no message waited in the worker's side socket when it died", name);
    else
        CHECK(atomic_load(&st->maps) == 1,
              "%s: the worker held %d memfd mappings, not its argument's one", name,
              atomic_load(&st->maps));
    if (next) {
        rc = fu_get(next, &v, name);
        CHECK(rc == POOL_OK || rc == POOL_ETASK, "%s: the queued task ended with %d (%s)", name,
              rc, pool_strerror(rc));
        if (rc == POOL_OK)
            CHECK(v && v->type == POOL_INT && v->as.i == BIG, "%s: the queued task's argument "
                  "arrived corrupt", name);
        pool_result_release(next);
    }
    pool_result_release(r);

    CHECK_EQ_INT(n, fu_wait_workers((int)n, FU_TIMEOUT));
    CHECK(!fu_alive(victim), "%s: worker %d is still alive", name, (int)victim);
    fu_check_pool_works(pool, 100, name);
    check_big_values(pool, name);
    int left = fu_memfds_anywhere(FU_MEMFD, NULL);
    CHECK(left == 0, "%s: %d descriptors or mappings of %s left with the pool idle", name, left,
          FU_MEMFD);
    if (left)
        fu_memfds_anywhere(FU_MEMFD, stderr);
    int fds = fu_count_fds();
    CHECK(fds == fds_alive, "%s: the parent has %d descriptors after the death, %d before", name,
          fds, fds_alive);
    if (fds != fds_alive)
        fu_print_fds(stderr);
    fu_pool_close(pool, name);
    left = fu_memfds_anywhere(FU_MEMFD, stderr);
    CHECK(left == 0, "%s: %d descriptors or mappings of %s left after pool_destroy", name, left,
          FU_MEMFD);
}

int main(void)
{
    st = fu_shared(sizeof *st);
    scenario("SIGKILL while holding a mapped argument", OUTSIDE);
    scenario("abort() while holding a mapped argument", ABORT);
    scenario("_exit(3) while holding a mapped argument", EXIT);
    scenario("SIGKILL with a big argument queued", QUEUED_ARG);
    scenario("SIGKILL with a big result's memfd sent", RESULT_IN_FLIGHT);
    return check_done("fault_shm_worker_dies");
}
