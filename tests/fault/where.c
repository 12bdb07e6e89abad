/* where.c - where the test runs (Valgrind, a sanitizer), time, and memory
 * shared with the pool's processes. */
#include <time.h>

#include <sys/mman.h>

#include "internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FU_HAVE_VALGRIND 1
#endif
#endif

/* The library is built with the tests' flags, sanitizers included. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define FU_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#ifndef FU_SANITIZED
#define FU_SANITIZED 1
#endif
#endif

static bool env_set(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0;
}

bool fu_under_valgrind(void)
{
#ifdef FU_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return true;
#endif
    return env_set("FAULT_UNDER_VALGRIND");
}

bool fu_under_sanitizer(void)
{
#ifdef FU_SANITIZED
    return true;
#else
    return false;
#endif
}

/* The sanitizer targets also say so with POOL_NO_RSS_CHECK=1. */
bool fu_instrumented(void)
{
    return fu_under_valgrind() || fu_under_sanitizer() || env_set("POOL_NO_RSS_CHECK");
}

/* Valgrind's error reporting is per thread: this one's, until it dies. */
void fu_quiet_valgrind(void)
{
#ifdef FU_HAVE_VALGRIND
    VALGRIND_DISABLE_ERROR_REPORTING;
#endif
}

double fu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock */
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void fu_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void *fu_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 0, size);
    return p;
}
