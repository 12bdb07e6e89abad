/* check.c - the library's checks count into the test's counters, which
 * fault.h hands over before main(): one total, one exit status. */
#include <stdarg.h>

#include "internal.h"

static int *checks, *failures;

void fu_count_checks_in(int *count, int *failed)
{
    checks = count;
    failures = failed;
}

/* Not counting would let a test pass with its failures unseen. */
static void need_counters(void)
{
    if (!checks || !failures) {
        fputs("fault library: no counters; include fault.h in the test\n", stderr);
        abort();
    }
}

void fu_check_counted(void)
{
    need_counters();
    ++*checks;
}

/* The same lines as check.h's CHECK. */
void fu_check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
    need_counters();
    ++*failures;
    fprintf(stderr, "%s:%d: FAILED: %s\n    ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int fu_failures(void)
{
    need_counters();
    return *failures;
}
