/* fault_task_exit: a task that calls exit(3) in its worker.
 * The submission fails with POOL_ETASK naming the worker's pid and exit
 * status 3, tasks next to it are not lost, the worker is replaced, and
 * nothing outlives the pool (see fu_death_scenario). */
#include "fault/fault.h"

static pool_value task_exit3(const pool_value *args, size_t nargs)
{
    if (fu_death_mark(args, nargs))
        exit(3);
    return pool_int(args[0].as.i * 2);
}

int main(void)
{
    fu_death_scenario("fault_task_exit", task_exit3, 0, 3, false);
    return check_done("fault_task_exit");
}
