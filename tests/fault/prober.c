/* prober.c - calls that must not wait: pool_result_ready() and
 * pool_result_successful() on a ready handle, timed from a second thread,
 * while a pool thread may wait on a stopped or slow process. */
#include "internal.h"

static void *prober_main(void *arg)
{
    fu_prober *p = arg;
    while (!atomic_load(&p->stop)) {
        double t0 = fu_now();
        bool ready = pool_result_ready(p->handle);
        bool ok = pool_result_successful(p->handle);
        double took = fu_now() - t0;
        if (took > p->longest)
            p->longest = took;
        p->wrong += !ready || !ok;
        atomic_fetch_add(&p->calls, 1);
        fu_sleep(0.001);
    }
    return NULL;
}

/* Returns once the first pair of calls is made, so the probe covers what
 * follows, not whenever the thread is first scheduled. */
void fu_prober_start(fu_prober *p, pool_result *handle)
{
    *p = (fu_prober){.handle = handle};
    if (pthread_create(&p->thread, NULL, prober_main, p) != 0) {
        perror("pthread_create");
        exit(2);
    }
    FU_WAIT_UNTIL(atomic_load(&p->calls), FU_TIMEOUT);
}

void fu_prober_check(fu_prober *p, double bound, const char *when)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    long calls = atomic_load(&p->calls);
    CHECK(calls > 0, "%s: ready() was never called", when);
    CHECK(p->wrong == 0, "%s: %ld of %ld calls on a ready, successful handle said no", when,
          p->wrong, calls);
    CHECK(p->longest < bound,
          "%s: pool_result_ready() on a ready handle took %.3f s (bound %.2f s, %ld calls): "
          "a pool thread waits on the kernel with the pool lock held", when, p->longest,
          bound, calls);
}
