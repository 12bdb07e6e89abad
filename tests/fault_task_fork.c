/* fault_task_fork: a task forks a child that sleeps, then its worker dies by
 * SIGKILL. The child holds copies of the worker's pipes, as any fork does,
 * yet the worker's death must still fail the task while the child lives
 * (Python's ProcessPoolExecutor notices such a death: it watches the
 * process, not a pipe). Within 15 s (60 s under Valgrind), a bound for
 * "does not hang"; the child lives until the test kills it. See
 * fu_spawn_scenario. */
#include "fault/fault.h"

int main(void)
{
    fu_spawn_scenario("fault_task_fork", false);
    return check_done("fault_task_fork");
}
