/* fault_task_segv: a task that dereferences a bad pointer.
 * The submission fails with POOL_ETASK naming the worker's pid and SIGSEGV,
 * tasks next to it are not lost, the worker is replaced, and nothing
 * outlives the pool (see fu_death_scenario). */
#include <sys/mman.h>

#include "fault/fault.h"

/* Under a sanitizer the worker must still die of the signal itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0"; }
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "handle_segv=0"; }
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "handle_segv=0"; }

/* A write to a page with no access: a real fault, not one UBSan's null
 * check would catch first. */
static pool_value task_segv(const pool_value *args, size_t nargs)
{
    if (fu_death_mark(args, nargs)) {
        volatile int *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        fu_quiet_valgrind(); /* the bad write is the point */
        if (page != MAP_FAILED)
            *page = 42;
        raise(SIGSEGV); /* not reached */
    }
    return pool_int(args[0].as.i * 2);
}

int main(void)
{
    fu_death_scenario("fault_task_segv", task_segv, SIGSEGV, 0, false);
    return check_done("fault_task_segv");
}
