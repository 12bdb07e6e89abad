/* pools.c - one pool's life in a test: open, use, close, and the checks
 * after it; with the tasks and messages most tests share. */
#include <ctype.h>

#include "internal.h"

/* fu_pool_open()'s count, and its pool while open. */
static int fds_at_open = -1;
static pool_t *open_pool;

pool_t *fu_pool_open(pool_config cfg)
{
    CHECK(!open_pool, "fu_pool_open: the last pool it opened was not destroyed");
    fu_become_subreaper();
    fds_at_open = fu_count_fds();
    open_pool = NULL;
    CHECK_OK(pool_create(&open_pool, &cfg));
    return open_pool;
}

void fu_pool_close(pool_t *pool, const char *when)
{
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    fu_pool_destroy(pool, when);
}

void fu_pool_destroy(pool_t *pool, const char *when)
{
    CHECK(pool == open_pool, "%s: not the pool fu_pool_open() made", when);
    pool_destroy(pool);
    open_pool = NULL;
    fu_after_destroy(fds_at_open, when);
}

/* Whatever the fork server forks carries its pool name from birth; other
 * processes, such as a sanitizer's symbolizer that a dying worker started,
 * are reaped here but not counted. */
void fu_after_destroy(int fds_before, const char *when)
{
    fu_proc procs[64];
    int live = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 64);
    CHECK(live == 0, "%s: %d pool processes outlive the pool", when, live);
    if (live > 0)
        fu_print_procs(procs, live, 64);
    int zombies = 0;
    int nz = fu_descendants(getpid(), FU_ZOMBIE | FU_POOL_NAMED, procs, 64);
    for (int i = 0; i < nz && i < 64; i++)
        if (procs[i].ppid == getpid()) /* the pool reaps what it forks */
            zombies++;
    CHECK(zombies == 0, "%s: %d pool processes left unreaped", when, zombies);
    if (zombies > 0)
        fu_print_procs(procs, nz, 64);
    if (live > 0) /* tidy up, so that one failure does not cascade */
        fu_kill_descendants();
    fu_reap_zombies();
    int fds = fu_count_fds();
    CHECK(fds == fds_before, "%s: %d descriptors open, %d before the pool", when, fds,
          fds_before);
    if (fds != fds_before)
        fu_print_fds(stderr);
}

void fu_check_pool_works(pool_t *pool, int n, const char *when)
{
    pool_value out = pool_none();
    int rc = pool_map(pool, fu_task_double, pool_range((size_t)n), NULL, &out);
    CHECK(rc == POOL_OK, "%s: the pool no longer works: %d (%s) %s", when, rc,
          pool_strerror(rc), fu_msg(&out));
    if (rc == POOL_OK) {
        int wrong = 0;
        CHECK(out.type == POOL_LIST && out.len == (uint32_t)n,
              "%s: map returned type %d len %u", when, out.type, out.len);
        for (uint32_t i = 0; out.type == POOL_LIST && i < out.len; i++)
            if (out.as.items[i].type != POOL_INT || out.as.items[i].as.i != 2 * (long long)i)
                wrong++;
        CHECK(wrong == 0, "%s: %d wrong results", when, wrong);
    }
    pool_value_free(&out);
}

int fu_get(pool_result *r, const pool_value **v, const char *what)
{
    const pool_value *dummy;
    int rc = pool_result_get(r, FU_TIMEOUT, v ? v : &dummy);
    CHECK(rc != POOL_ETIMEDOUT, "%s: the handle was not ready within %.0f s", what,
          FU_TIMEOUT);
    if (rc != POOL_ETIMEDOUT)
        CHECK(pool_result_ready(r), "%s: get returned but the handle is not ready", what);
    return rc;
}

const char *fu_msg(const pool_value *v)
{
    return v && (v->type == POOL_ERROR || v->type == POOL_STR) && v->as.s ? v->as.s : "";
}

/* "SIGSEGV", "signal 11" or strsignal's "Segmentation fault" all do. */
bool fu_names_signal(const char *msg, int sig)
{
    char buf[64];
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev) {
        snprintf(buf, sizeof buf, "SIG%s", abbrev);
        if (strstr(msg, buf))
            return true;
    }
    snprintf(buf, sizeof buf, "signal %d", sig);
    if (strstr(msg, buf))
        return true;
    const char *desc = strsignal(sig);
    return desc && strcasestr(msg, desc);
}

/* The pid as a whole number, not a part of a longer one. */
bool fu_names_pid(const char *msg, pid_t pid)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)pid);
    const char *p = msg;
    while ((p = strstr(p, buf))) {
        bool left = p == msg || !isdigit((unsigned char)p[-1]);
        if (left && !isdigit((unsigned char)p[strlen(buf)]))
            return true;
        p++;
    }
    return false;
}

pool_value fu_task_double(const pool_value *args, size_t nargs)
{
    if (nargs < 1 || args[0].type != POOL_INT)
        return pool_error("fu_task_double wants an int");
    return pool_int(args[0].as.i * 2);
}

/* Which worker ran it. */
pool_value fu_task_getpid(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_int(getpid());
}
