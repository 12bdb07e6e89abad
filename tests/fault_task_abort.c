/* fault_task_abort: a task that calls abort().
 * The submission fails with POOL_ETASK naming the worker's pid and SIGABRT,
 * tasks next to it are not lost, the worker is replaced, and nothing
 * outlives the pool (see fu_death_scenario). */
#include "fault/fault.h"

static pool_value task_abort(const pool_value *args, size_t nargs)
{
    if (fu_death_mark(args, nargs))
        abort();
    return pool_int(args[0].as.i * 2);
}

int main(void)
{
    fu_death_scenario("fault_task_abort", task_abort, SIGABRT, 0, false);
    return check_done("fault_task_abort");
}
