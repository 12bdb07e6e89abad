/* internal.h - for the library's own files: fault.h, without check.h (its
 * counters are static, one pair per file), and CHECK macros of the same
 * name and output that count into the test's pair instead. */
#ifndef FAULT_INTERNAL_H
#define FAULT_INTERNAL_H

#define FU_LIBRARY
#include "fault.h"

void fu_check_counted(void);
void fu_check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        fu_check_counted();                                                 \
        if (!(cond))                                                        \
            fu_check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);        \
    } while (0)

#define CHECK_EQ_INT(expected, actual)                                      \
    do {                                                                    \
        long long e_ = (long long)(expected), a_ = (long long)(actual);     \
        CHECK(e_ == a_, "expected %s == %lld, got %lld", #actual, e_, a_);  \
    } while (0)

#define CHECK_OK(call)                                                      \
    do {                                                                    \
        int rc_ = (call);                                                   \
        CHECK(rc_ == 0, "expected POOL_OK from %s, got %d (%s)", #call, rc_, \
              pool_strerror(rc_));                                          \
    } while (0)

/* The failures counted so far, for a scenario that stops at the first. */
int fu_failures(void);

#endif
