/* death.c - the worker-death scenario that fault_task_{segv,abort,exit,
 * sigkill} run with their own ways of dying. */
#include <ctype.h>

#include <sys/mman.h>

#include "internal.h"

fu_death_shm *fu_death;

bool fu_death_mark(const pool_value *args, size_t nargs)
{
    if (nargs < 1 || args[0].type != POOL_INT || args[0].as.i != FU_KILLER_ITEM)
        return false;
    atomic_store(&fu_death->pid, (int)getpid());
    atomic_fetch_add(&fu_death->runs, 1);
    atomic_store(&fu_death->started, 1);
    return true;
}

/* Sleeps, bounded, until the test kills its worker. */
pool_value fu_task_wait_for_kill(const pool_value *args, size_t nargs)
{
    if (!fu_death_mark(args, nargs))
        return pool_int(args[0].as.i * 2);
    for (int i = 0; i < 6000; i++)
        fu_sleep(0.01);
    return pool_error("the test did not kill this worker");
}

/* Whether an error message describes an exit with status code. */
static bool names_exit(const char *msg, int code)
{
    if (!strcasestr(msg, "exit"))
        return false;
    const char *forms[] = {" %d", "(%d)", "=%d", ":%d"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, forms[i], code);
        const char *p = msg;
        while ((p = strstr(p, buf))) {
            size_t len = strlen(buf);
            if (!isdigit((unsigned char)p[len]))
                return true;
            p += len;
        }
    }
    return false;
}

enum { INNOCENT = 100, KILLERS = 2 };

/* One killer, by apply (phase 0) or inside a map of 300 (phase 1), with
 * innocents submitted before and after it; then the checks on them. */
static void run_phase(pool_t *pool, fu_track *t, pool_result **handles, int phase,
                      const char *name, pool_task_fn killer, int sig, int code, bool outside)
{
    atomic_store(&fu_death->started, 0);
    atomic_store(&fu_death->pid, 0);
    atomic_store(&fu_death->runs, 0);
    int base = phase * (INNOCENT / KILLERS), k = INNOCENT + phase;
    for (int i = 0; i < INNOCENT / KILLERS; i++) {
        if (i == INNOCENT / KILLERS / 2) {
            pool_opts ko = fu_opts(t, k, 10);
            if (phase == 0) {
                pool_value args = pool_tuple(1, pool_int(FU_KILLER_ITEM));
                CHECK_OK(pool_apply_async(pool, killer, args, &ko, &handles[k]));
            } else {
                CHECK_OK(pool_map_async(pool, killer, pool_range(300), &ko, &handles[k]));
            }
        }
        pool_opts o = fu_opts(t, base + i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o,
                                  &handles[base + i]));
    }
    if (outside) {
        FU_WAIT_UNTIL(atomic_load(&fu_death->started), FU_TIMEOUT);
        pid_t victim = atomic_load(&fu_death->pid);
        CHECK(victim > 0, "%s: the killing task never started", name);
        if (victim > 0)
            CHECK(kill(victim, SIGKILL) == 0, "kill(%d): %s", (int)victim, strerror(errno));
    }
    const pool_value *v = NULL;
    int rc = fu_get(handles[k], &v, name);
    CHECK(rc == POOL_ETASK, "%s, phase %d: expected POOL_ETASK, got %d (%s)", name, phase, rc,
          pool_strerror(rc));
    const char *msg = fu_msg(v);
    pid_t pid = atomic_load(&fu_death->pid);
    CHECK(fu_names_pid(msg, pid), "%s, phase %d: \"%s\" does not name pid %d", name, phase,
          msg, (int)pid);
    if (sig)
        CHECK(fu_names_signal(msg, sig), "%s, phase %d: \"%s\" does not name signal %d", name,
              phase, msg, sig);
    else
        CHECK(names_exit(msg, code), "%s, phase %d: \"%s\" does not name exit status %d", name,
              phase, msg, code);
    CHECK(!pool_result_successful(handles[k]), "%s: the failed handle is successful", name);
    for (int i = 0; i < INNOCENT / KILLERS; i++) {
        int irc = fu_get(handles[base + i], &v, "an innocent task");
        CHECK(irc == POOL_OK && v && v->type == POOL_INT && v->as.i == 2 * i,
              "%s, phase %d: innocent task %d next to a dying worker: %d (%s) %s", name, phase,
              i, irc, pool_strerror(irc), fu_msg(v));
    }
    CHECK(atomic_load(&fu_death->runs) == 1, "%s, phase %d: the killing item ran %d times",
          name, phase, atomic_load(&fu_death->runs));
    int workers = fu_wait_workers(2, FU_TIMEOUT); /* the dead one is replaced */
    CHECK(workers == 2, "%s, phase %d: %d workers after a death, not 2", name, phase, workers);
    CHECK(!fu_alive(pid), "%s: worker %d is still alive", name, (int)pid);
    CHECK_EQ_INT(2, pool_processes(pool));
}

/* Asserts: the killer's submission fails with POOL_ETASK and a message
 * naming the pid and the signal or status; its error callback runs once;
 * 100 innocent submissions around it succeed; the killing item runs once
 * (no retry); the worker is replaced; the pool keeps working; nothing
 * outlives the pool; no descriptor leaks. */
void fu_death_scenario(const char *name, pool_task_fn killer, int sig, int code, bool outside)
{
    fu_death = fu_shared(sizeof *fu_death);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return;
    CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
    fu_track t;
    fu_track_init(&t, INNOCENT + KILLERS);
    pool_result *handles[INNOCENT + KILLERS] = {0};
    for (int phase = 0; phase < KILLERS; phase++)
        run_phase(pool, &t, handles, phase, name, killer, sig, code, outside);

    CHECK_EQ_INT(INNOCENT + KILLERS, fu_track_wait(&t, INNOCENT + KILLERS, FU_TIMEOUT));
    fu_track_check(&t, -1, name);
    for (int i = 0; i < INNOCENT; i++)
        CHECK(t.slots[i].ok_calls == 1, "%s: innocent #%d got no result callback", name, i);
    for (int k = INNOCENT; k < INNOCENT + KILLERS; k++)
        CHECK(t.slots[k].err_calls == 1 && t.slots[k].ok_calls == 0,
              "%s: killer #%d got %d error and %d result callbacks", name, k,
              t.slots[k].err_calls, t.slots[k].ok_calls);
    for (int i = 0; i < INNOCENT + KILLERS; i++)
        pool_result_release(handles[i]);
    fu_check_pool_works(pool, 500, name);
    fu_pool_close(pool, name);
    fu_track_free(&t);
    munmap(fu_death, sizeof *fu_death);
}
