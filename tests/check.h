/* check.h - assertions for the tests that NDEBUG cannot remove.
 * A failed check prints what was expected and what happened, then the test
 * goes on, so one run shows every failure; check_done() sets the exit code. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        check_count++;                                                     \
        if (!(cond)) {                                                     \
            check_failures++;                                              \
            fprintf(stderr, "%s:%d: FAILED: %s\n    ", __FILE__, __LINE__, \
                    #cond);                                                \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(expected, actual)                                      \
    do {                                                                    \
        long long e_ = (long long)(expected), a_ = (long long)(actual);     \
        CHECK(e_ == a_, "expected %s == %lld, got %lld", #actual, e_, a_);  \
    } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                \
    do {                                                                    \
        const char *h_ = (haystack), *n_ = (needle);                        \
        CHECK(h_ && strstr(h_, n_), "expected %s to contain \"%s\", got \"%s\"", \
              #haystack, n_, h_ ? h_ : "(null)");                           \
    } while (0)

/* Pool calls must succeed: prints the pool's message when one does not. */
#define CHECK_OK(call)                                                      \
    do {                                                                    \
        int rc_ = (call);                                                   \
        CHECK(rc_ == 0, "expected POOL_OK from %s, got %d (%s)", #call, rc_, \
              pool_strerror(rc_));                                          \
    } while (0)

static inline int check_done(const char *name)
{
    fflush(stdout);
    if (check_count == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

/* CHECK_SANITIZED is 1 in an ASan or TSan build. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define CHECK_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHECK_SANITIZED 1
#endif
#ifndef CHECK_SANITIZED
#define CHECK_SANITIZED 0
#endif

/* Whether the test runs slower than plain: under a sanitizer, or under
 * Valgrind, which preloads its own library; the sanitizer targets and
 * memcheck also set POOL_NO_RSS_CHECK. Time bounds grow there. */
static inline int check_instrumented(void)
{
    const char *p = getenv("LD_PRELOAD");
    return CHECK_SANITIZED || (p && strstr(p, "vgpreload")) || getenv("POOL_NO_RSS_CHECK");
}

#endif
