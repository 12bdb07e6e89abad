/* fault_task_sigkill: a worker killed with SIGKILL mid-task, once by the task
 * itself (raise) and once from outside by the test while the task sleeps.
 * Each time the submission fails with POOL_ETASK naming the worker's pid and
 * SIGKILL, tasks next to it are not lost, the worker is replaced, and
 * nothing outlives the pool (see fu_death_scenario). Python's Pool hangs
 * here for ever. */
#include "fault/fault.h"

static pool_value task_raise_kill(const pool_value *args, size_t nargs)
{
    if (fu_death_mark(args, nargs))
        raise(SIGKILL);
    return pool_int(args[0].as.i * 2);
}

int main(void)
{
    fu_death_scenario("fault_task_sigkill (raise)", task_raise_kill, SIGKILL, 0, false);
    fu_death_scenario("fault_task_sigkill (from outside)", fu_task_wait_for_kill, SIGKILL,
                      0, true);
    return check_done("fault_task_sigkill");
}
