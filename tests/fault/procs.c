/* procs.c - descriptors and processes, as /proc shows them. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>

#include "internal.h"

/* The descriptor that lists them is left out. */
int fu_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

void fu_print_fds(FILE *out)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(out, "    fd %s -> %s\n", e->d_name, target);
    }
    closedir(d);
}

int fu_kernel_objects(pid_t pid, char names[][64], int max, int min_fd)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        /* Valgrind keeps its own descriptors at 1000 and above. */
        if (e->d_name[0] == '.' || atoi(e->d_name) < min_fd || atoi(e->d_name) >= 1000)
            continue;
        char path[400], target[64];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k <= 0)
            continue;
        target[k] = '\0';
        if (strncmp(target, "pipe:", 5) == 0 || strncmp(target, "socket:", 7) == 0 ||
            strncmp(target, "anon_inode:", 11) == 0)
            snprintf(names[n++], 64, "%s", target);
    }
    closedir(d);
    return n;
}

bool fu_listed(char names[][64], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* A "Name:   123 kB" line, in KiB; -1 if absent. */
long fu_status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t len = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = atol(line + len + 1);
            break;
        }
    fclose(f);
    return v;
}

/* /proc/PID/stat: the name sits in parentheses and may hold either. */
bool fu_proc_read(pid_t pid, fu_proc *p)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return false;
    size_t len = (size_t)(close_paren - open_paren - 1);
    if (len >= sizeof p->comm)
        len = sizeof p->comm - 1;
    memcpy(p->comm, open_paren + 1, len);
    p->comm[len] = '\0';
    int ppid = 0;
    char state = '?';
    if (sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
        return false;
    p->pid = pid;
    p->ppid = ppid;
    p->state = state;
    return true;
}

static bool is_pool_name(const char *comm)
{
    return strncmp(comm, "PoolWorker-", 11) == 0 || strcmp(comm, "pool-forkserver") == 0;
}

static bool is_zombie(const fu_proc *p)
{
    return p->state == 'Z' || p->state == 'X';
}

/* True when ancestor is pid's parent, grandparent, ... */
static bool descends_from(pid_t pid, pid_t ancestor)
{
    for (int depth = 0; depth < 64 && pid > 1; depth++) {
        fu_proc p;
        if (!fu_proc_read(pid, &p))
            return false;
        if (p.ppid == ancestor)
            return true;
        pid = p.ppid;
    }
    return false;
}

int fu_descendants(pid_t ancestor, int flags, fu_proc *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        fu_proc p;
        if (pid == ancestor || !fu_proc_read(pid, &p))
            continue;
        bool zombie = is_zombie(&p);
        if ((zombie && !(flags & FU_ZOMBIE)) || (!zombie && !(flags & FU_LIVE)))
            continue;
        if ((flags & FU_POOL_NAMED) && !is_pool_name(p.comm))
            continue;
        if (p.ppid != ancestor && !descends_from(p.ppid, ancestor))
            continue;
        if (out && n < max)
            out[n] = p;
        n++;
    }
    closedir(d);
    return n;
}

void fu_print_procs(const fu_proc *procs, int n, int max)
{
    for (int i = 0; i < n && i < max; i++)
        fprintf(stderr, "    pid %d ppid %d state %c name %s\n", (int)procs[i].pid,
                (int)procs[i].ppid, procs[i].state, procs[i].comm);
}

int fu_worker_pids(pid_t *out, int max)
{
    fu_proc procs[256];
    int n = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 256);
    int k = 0;
    for (int i = 0; i < n && i < 256; i++)
        if (strncmp(procs[i].comm, "PoolWorker-", 11) == 0 && k < max)
            out[k++] = procs[i].pid;
    return k;
}

bool fu_alive(pid_t pid)
{
    fu_proc p;
    return fu_proc_read(pid, &p) && !is_zombie(&p);
}

int fu_wait_no_descendants(pid_t ancestor, double timeout)
{
    int n;
    FU_WAIT_UNTIL((n = fu_descendants(ancestor, FU_LIVE, NULL, 0)) <= 0, timeout);
    return n;
}

int fu_wait_workers(int n, double timeout)
{
    pid_t pids[256];
    int k;
    FU_WAIT_UNTIL((k = fu_worker_pids(pids, 256)) == n, timeout);
    return k;
}

static int still_alive(const fu_proc *procs, int n)
{
    int alive = 0;
    for (int i = 0; i < n; i++)
        alive += fu_alive(procs[i].pid);
    fu_reap_zombies();
    return alive;
}

int fu_wait_gone(const fu_proc *procs, int n, double timeout)
{
    int alive;
    FU_WAIT_UNTIL((alive = still_alive(procs, n)) == 0, timeout);
    return alive;
}

/* Orphans handed to the subreaper that died. */
int fu_reap_zombies(void)
{
    fu_proc procs[256];
    int n = fu_descendants(getpid(), FU_ZOMBIE, procs, 256), reaped = 0;
    for (int i = 0; i < n && i < 256; i++)
        if (procs[i].ppid == getpid() && waitpid(procs[i].pid, NULL, WNOHANG) == procs[i].pid)
            reaped++;
    return reaped;
}

/* Orphaned descendants come back to this process instead of init, so the
 * orphan checks can find them. */
void fu_become_subreaper(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        perror("prctl(PR_SET_CHILD_SUBREAPER)");
}

void fu_kill_descendants(void)
{
    fu_proc rest[64];
    int n = fu_descendants(getpid(), FU_LIVE, rest, 64);
    for (int i = 0; i < n && i < 64; i++)
        kill(rest[i].pid, SIGKILL); /* one gone meanwhile is no matter */
    fu_wait_no_descendants(getpid(), 10);
    fu_reap_zombies();
}
