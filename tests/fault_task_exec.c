/* fault_task_exec: a task starts a program (posix_spawn of /bin/sleep), then
 * its worker dies by SIGKILL. The program holds none of the pool's
 * descriptors (they are close-on-exec), so the worker's death fails the
 * task at once, while the program still runs: within 15 s (60 s under
 * Valgrind), a bound for "does not hang"; the program lives until the test
 * kills it. See fu_spawn_scenario. */
#include "fault/fault.h"

int main(void)
{
    fu_spawn_scenario("fault_task_exec", true);
    return check_done("fault_task_exec");
}
