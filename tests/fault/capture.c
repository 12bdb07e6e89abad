/* capture.c - what the pool writes on stderr, caught in a temporary file. */
#include "internal.h"

void fu_capture_begin(fu_capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    c->saved = dup(2);
    if (!c->file || c->saved < 0 || dup2(fileno(c->file), 2) < 0) {
        perror("capture");
        exit(2);
    }
}

char *fu_capture_end(fu_capture *c)
{
    fflush(stderr);
    if (dup2(c->saved, 2) < 0) {
        perror("capture: dup2");
        exit(2);
    }
    close(c->saved);
    off_t size = lseek(fileno(c->file), 0, SEEK_END);
    char *text = calloc(1, (size_t)(size > 0 ? size : 0) + 1);
    if (!text) {
        perror("calloc");
        exit(2);
    }
    if (size > 0 && pread(fileno(c->file), text, (size_t)size, 0) < 0)
        text[0] = '\0';
    fclose(c->file);
    return text;
}

int fu_count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = strstr(line, needle);
        if (hit && hit < line + len)
            n++;
        line = end ? end + 1 : NULL;
    }
    return n;
}
