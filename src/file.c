/* Atomic downloads: a temporary file beside the target, then rename(2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

struct gj_file {
    int fd;
    char *tmp;              /* the temporary file's name */
};

static void reason(char *err, size_t errn, const char *what, const char *name)
{
    snprintf(err, errn, "%s %s: %s", what, name, strerror(errno));
}

gj_file *gj_file_open(const char *path, char *err, size_t errn)
{
    size_t n = strlen(path) + 64;
    gj_file *f = (gj_file *)malloc(sizeof *f);
    int tries;
    if (f == NULL || (f->tmp = (char *)malloc(n)) == NULL) {
        free(f);
        snprintf(err, errn, "out of memory opening %s", path);
        return NULL;
    }
    for (tries = 0; tries < 100; tries++) {
        /* the address of f tells apart two downloads of one process; a clash
         * with anything else is retried */
        snprintf(f->tmp, n, "%s.part-%ld-%lx-%d", path, (long)getpid(), (unsigned long)(size_t)f, tries);
        /* O_EXCL: never another's file; 0666: the process's umask decides */
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd >= 0)
            return f;
        if (errno != EEXIST)
            break;
    }
    reason(err, errn, "cannot create a temporary file beside", path);
    free(f->tmp);
    free(f);
    return NULL;
}

int gj_file_write(gj_file *f, const char *p, size_t n, char *err, size_t errn)
{
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            reason(err, errn, "cannot write", f->tmp);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int gj_file_commit(gj_file *f, const char *path, char *err, size_t errn)
{
    int rc = 0;
    if (close(f->fd) != 0) {
        reason(err, errn, "cannot write", f->tmp);
        rc = -1;
    } else if (rename(f->tmp, path) != 0) {
        reason(err, errn, "cannot rename the download onto", path);
        rc = -1;
    }
    if (rc)
        unlink(f->tmp);
    free(f->tmp);
    free(f);
    return rc;
}

void gj_file_abort(gj_file *f)
{
    close(f->fd);
    unlink(f->tmp);
    free(f->tmp);
    free(f);
}
