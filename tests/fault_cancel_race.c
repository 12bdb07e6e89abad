/* fault_cancel_race.c - pool_result_cancel() racing the task handler that
 * sends the item: over many tries, each submission either ran or was
 * cancelled, never both and never neither. A try is "ran" when its task
 * marked the try's shared flag and the handle succeeded; "cancelled" when
 * cancel returned true, the handle holds POOL_ECANCELLED and, once every
 * worker is gone, the flag was never set. Tries cancel at once, after a
 * short random spin, or from another thread. Prints the two counts. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

enum { TRIES = 10000, VALGRIND_TRIES = 300 };

static _Atomic int *flags; /* flags[i]: how often try i's task ran; shared */

static pool_value mark(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT || args[0].as.i < 0 || args[0].as.i >= TRIES)
        return pool_error("mark wants a try number");
    atomic_fetch_add(&flags[args[0].as.i], 1);
    return pool_int(args[0].as.i);
}

/* The other thread's mailbox: one handle at a time. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pool_result *mailbox;
static int mailbox_try = -1;
static bool quit;
static bool *said_cancelled; /* what cancel returned, per try */

static void *canceller(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!mailbox && !quit)
            pthread_cond_wait(&cv, &mu);
        if (!mailbox)
            break;
        pool_result *r = mailbox;
        int i = mailbox_try;
        pthread_mutex_unlock(&mu);
        bool c = pool_result_cancel(r);
        pthread_mutex_lock(&mu);
        said_cancelled[i] = c;
        mailbox = NULL;
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void post(pool_result *r, int i)
{
    pthread_mutex_lock(&mu);
    while (mailbox)
        pthread_cond_wait(&cv, &mu);
    mailbox = r;
    mailbox_try = i;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

int main(void)
{
    int tries = RUNNING_ON_VALGRIND ? VALGRIND_TRIES : TRIES;
    flags = mmap(NULL, TRIES * sizeof *flags, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (flags == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pool_result **handles = calloc((size_t)tries, sizeof *handles);
    said_cancelled = calloc((size_t)tries, sizeof *said_cancelled);
    if (!handles || !said_cancelled) {
        perror("calloc");
        return 1;
    }
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    pthread_t t;
    CHECK_EQ_INT(0, pthread_create(&t, NULL, canceller, NULL));

    unsigned seed = 13;
    for (int i = 0; i < tries; i++) {
        CHECK_OK(pool_apply_async(pool, mark, pool_tuple(1, pool_int(i)), NULL, &handles[i]));
        switch (i % 3) {
        case 0: /* at once */
            said_cancelled[i] = pool_result_cancel(handles[i]);
            break;
        case 1: { /* after a random spin of up to some tens of microseconds */
            volatile unsigned spin = (unsigned)rand_r(&seed) % 20000;
            while (spin)
                spin--;
            said_cancelled[i] = pool_result_cancel(handles[i]);
            break;
        }
        default: /* from another thread */
            post(handles[i], i);
        }
    }
    pthread_mutex_lock(&mu);
    while (mailbox)
        pthread_cond_wait(&cv, &mu);
    quit = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    CHECK_EQ_INT(0, pthread_join(t, NULL));

    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool)); /* every worker is gone: no flag changes now */
    int ran = 0, cancelled = 0, neither = 0, both = 0;
    for (int i = 0; i < tries; i++) {
        const pool_value *v = NULL;
        int rc = pool_result_get(handles[i], 0, &v);
        int flag = atomic_load(&flags[i]);
        bool did_run = flag == 1 && rc == POOL_OK && v->type == POOL_INT && v->as.i == i &&
                       !said_cancelled[i];
        bool was_cancelled = said_cancelled[i] && rc == POOL_ECANCELLED && flag == 0;
        if (did_run && was_cancelled)
            both++;
        else if (did_run)
            ran++;
        else if (was_cancelled)
            cancelled++;
        else
            neither++;
        if (!did_run && !was_cancelled && neither <= 5)
            fprintf(stderr, "try %d: cancel said %d, rc %d, the task ran %d times\n", i,
                    said_cancelled[i], rc, flag);
        pool_result_release(handles[i]);
    }
    printf("ran %d, cancelled %d (of %d tries)\n", ran, cancelled, tries);
    CHECK_EQ_INT(0, neither);
    CHECK_EQ_INT(0, both);
    CHECK_EQ_INT(tries, ran + cancelled);
    CHECK(cancelled > 0, "no try was cancelled: the race was never run");
    pool_destroy(pool);
    free(handles);
    free(said_cancelled);
    munmap(flags, TRIES * sizeof *flags);
    return check_done("fault_cancel_race");
}
