/* traces/outfile.c — see outfile.h. */
#include "traces/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file descriptor behind the FILE, and the first errno any write or the
 * close returned: stdio's error flag alone does not keep the reason. */
struct outfile_sink {
    int fd;
    int err;
};

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    struct outfile_sink *s = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(s->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!s->err) s->err = w < 0 ? errno : EIO;
            return (ssize_t)done;   /* short count: stdio sets its error flag */
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

static int sink_close(void *cookie)
{
    struct outfile_sink *s = cookie;
    int rc = close(s->fd);
    if (rc < 0 && !s->err) s->err = errno;
    s->fd = -1;
    return rc;
}

/* The directory a path's file would be created in: "." for a bare name. */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, len, ".");
    else if (slash == path) snprintf(dir, len, "/");
    else snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static int fail(char *err, size_t errlen, const char *path, const char *why, int e)
{
    if (e) snprintf(err, errlen, "%s: %s: %s", path, why, strerror(e));
    else snprintf(err, errlen, "%s: %s", path, why);
    return -1;
}

/* A new or regular file is created in its directory: it must exist and take new files. */
static int check_dir(const char *path, char *err, size_t errlen)
{
    char dir[1024], why[1100];
    struct stat st;
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) < 0) {
        snprintf(why, sizeof why, "cannot write: directory %s", dir);
        return fail(err, errlen, path, why, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, sizeof why, "cannot write: %s is not a directory", dir);
        return fail(err, errlen, path, why, 0);
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(why, sizeof why, "cannot write: cannot create files in %s", dir);
        return fail(err, errlen, path, why, errno);
    }
    return 0;
}

/* A special file (or a symlink's target) must open for writing. A FIFO is
 * only checked for permission: opening and closing its write end would hand
 * a waiting reader an end of file. */
static int check_opens(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
        return access(path, W_OK) < 0 ? fail(err, errlen, path, "cannot write", errno) : 0;
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno != ENXIO) return fail(err, errlen, path, "cannot write", errno);
    if (fd >= 0) close(fd);
    return 0;
}

/* What the path's lstat says, for the open: 0 ok with *kind set; -1 with err. */
enum out_kind { OUT_REPLACE, OUT_THROUGH_LINK, OUT_DIRECT };

static int classify(const char *path, enum out_kind *kind, char *err, size_t errlen)
{
    struct stat st, target;
    if (!path[0]) return fail(err, errlen, "(empty)", "expected an output file name", 0);
    if (lstat(path, &st) < 0) {
        if (errno != ENOENT) return fail(err, errlen, path, "cannot write", errno);
        *kind = OUT_REPLACE;
        return 0;
    }
    if (S_ISDIR(st.st_mode)) return fail(err, errlen, path, "cannot write: is a directory", 0);
    if (S_ISREG(st.st_mode)) { *kind = OUT_REPLACE; return 0; }
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &target) < 0)
            return fail(err, errlen, path, "cannot write: a symlink to a file that does not exist", 0);
        if (S_ISDIR(target.st_mode)) return fail(err, errlen, path, "cannot write: a symlink to a directory", 0);
        *kind = OUT_THROUGH_LINK;
        return 0;
    }
    *kind = OUT_DIRECT;
    return 0;
}

int outfile_check(const char *path, char *err, size_t errlen)
{
    enum out_kind kind;
    if (classify(path, &kind, err, errlen) < 0) return -1;
    return kind == OUT_REPLACE ? check_dir(path, err, errlen) : check_opens(path, err, errlen);
}

/* A temp file of our own beside path (O_EXCL: never someone's symlink). */
static int open_temp(struct outfile *o)
{
    static unsigned counter;
    for (int tries = 0; tries < 100; tries++) {
        unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        snprintf(o->tmp, sizeof o->tmp, "%s.%d.%u.tmp", o->path, (int)getpid(), n);
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
    enum out_kind kind;
    memset(o, 0, sizeof *o);
    if (strlen(path) >= sizeof o->path) return fail(err, errlen, "output", "expected a path under 1024 bytes", 0);
    snprintf(o->path, sizeof o->path, "%s", path);
    if (classify(path, &kind, err, errlen) < 0) return -1;
    int fd;
    if (kind == OUT_REPLACE) {
        fd = open_temp(o);
        if (fd < 0) {
            int e = errno;
            char why[1200];
            snprintf(why, sizeof why, "cannot create the temp file %s", o->tmp);
            o->tmp[0] = 0;
            return fail(err, errlen, path, why, e);
        }
    } else {
        fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | (kind == OUT_THROUGH_LINK ? O_TRUNC : 0));
        if (fd < 0) return fail(err, errlen, path, "cannot write", errno);
    }
    o->sink = calloc(1, sizeof *o->sink);
    cookie_io_functions_t io = {.write = sink_write, .close = sink_close};
    if (o->sink) {
        o->sink->fd = fd;
        o->f = fopencookie(o->sink, "w", io);
    }
    if (!o->f) {
        close(fd);
        if (o->tmp[0]) unlink(o->tmp);
        free(o->sink);
        memset(o, 0, sizeof *o);
        return fail(err, errlen, path, "out of memory", 0);
    }
    return 0;
}

int outfile_close(struct outfile *o, bool ok, char *err, size_t errlen)
{
    if (!o->f) return fail(err, errlen, o->path[0] ? o->path : "output", "not open", 0);
    bool wrote = fflush(o->f) == 0;
    wrote = !ferror(o->f) && wrote;
    wrote = fclose(o->f) == 0 && wrote;   /* closes the descriptor (sink_close) */
    o->f = NULL;
    int e = o->sink->err;
    wrote = wrote && !e;
    if (o->tmp[0]) {
        if (ok && wrote && rename(o->tmp, o->path) < 0) { e = errno; wrote = false; }
        if (!(ok && wrote)) unlink(o->tmp);
        o->tmp[0] = 0;
    }
    free(o->sink);
    o->sink = NULL;
    if (!wrote) {
        snprintf(err, errlen, "%s: write failed: %s", o->path, strerror(e ? e : EIO));
        return -1;
    }
    if (!ok) { snprintf(err, errlen, "%s: not written (its content could not be produced)", o->path); return -1; }
    return 0;
}

void outfile_abort(struct outfile *o)
{
    char ignored[8];
    if (o->f) outfile_close(o, false, ignored, sizeof ignored);
}

const char *outfile_error(const struct outfile *o)
{
    return o->sink && o->sink->err ? strerror(o->sink->err) : "";
}

int outfile_write_all(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    struct outfile o;
    if (outfile_open(&o, path, err, errlen) < 0) return -1;
    bool ok = fwrite(text, 1, len, o.f) == len;
    if (outfile_close(&o, true, err, errlen) < 0) return -1;
    if (!ok) return fail(err, errlen, path, "write failed", EIO);
    return 0;
}
