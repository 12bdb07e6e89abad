/* mpi_known_wrong.c - wrong jobs that tests/mpi/test_driver.sh runs under
 * tests/mpi/run_mpi_test.sh, to show each of its checks can fail. The
 * first argument picks the wrong: "orphan" leaves a process of the program
 * behind, "hang" never ends, "exit0" ends well when a failure is wanted,
 * "exit1" fails when success is wanted. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "orphan") == 0) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) { /* out of mpirun's reach, for longer than the driver looks */
            setsid(); /* fails only for a group leader, which a new child is not */
            /* mpirun would wait for the output pipes' last holder. */
            for (int fd = 0; fd <= 2; fd++)
                close(fd); /* closed is all we want; EBADF means it already was */
            sleep(20);
            _exit(0);
        }
        return 0;
    }
    if (strcmp(what, "hang") == 0) {
        for (;;)
            pause();
    }
    if (strcmp(what, "exit1") == 0) {
        printf("failing on purpose\n");
        return 1;
    }
    printf("all fine\n");
    return 0;
}
