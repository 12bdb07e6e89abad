/* memfd.c - where a pool's shared-memory values are: memfds open or mapped
 * in a process, this one or any below it (fault.h). */
#include <dirent.h>

#include "internal.h"

int fu_memfds(pid_t pid, const char *name, int *fds, int *maps)
{
    char path[64], line[512];
    *fds = *maps = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char link[320], target[256];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = '\0';
            *fds += strstr(target, name) != NULL;
        }
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        *maps += strstr(line, name) != NULL;
    if (f)
        fclose(f);
    return *fds + *maps;
}

int fu_memfds_anywhere(const char *name, FILE *out)
{
    fu_proc procs[256];
    int n = fu_descendants(getpid(), FU_LIVE, procs, 256);
    int total = 0;
    for (int i = -1; i < n && i < 256; i++) {
        pid_t pid = i < 0 ? getpid() : procs[i].pid;
        int fds, maps;
        if (fu_memfds(pid, name, &fds, &maps) && out)
            fprintf(out, "    pid %d holds %d descriptors and %d mappings of %s\n", (int)pid,
                    fds, maps, name);
        total += fds + maps;
    }
    return total;
}

char fu_memfd_mapping(const void *p, const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512], kind = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && (unsigned long)p >= lo &&
            (unsigned long)p < hi) {
            kind = strstr(line, name) ? perms[3] : 0;
            break;
        }
    }
    if (f)
        fclose(f);
    return kind;
}
