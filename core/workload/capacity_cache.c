/* core/workload/capacity_cache.c — see capacity_cache.h. */
#include "core/workload/capacity_cache.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "infertop-capacity 1"

static void length_text(const struct length_spec *L, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%d:%d:%d:%.17g:%.17g:%d", length_dist_name(L->dist), L->value, L->min, L->max, L->median,
             L->sigma, L->n_values);
}

void capacity_cache_key(const struct model *m, const struct backend *be, const struct run_setup *b,
                        char *key, size_t n)
{
    char opts[2048], pl[160], ol[160];
    options_format(&b->opt, opts, sizeof opts, false);
    length_text(&b->sc.prompt, pl, sizeof pl);
    length_text(&b->sc.output, ol, sizeof ol);
    snprintf(key, n, "model=%s backend=%s device=%s threads=%d options=[%s] scenario=%s seed=%llu prompt=%s "
             "output=%s prefix=%d:%d:%d",
             m->source, be->ops->name, be->device_name, be->n_threads, opts, b->sc.path,
             (unsigned long long)b->sc.seed, pl, ol, b->sc.prefix.groups, b->sc.prefix.per_group,
             b->sc.prefix.length);
    for (char *c = key; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';     /* one line, whatever a name holds */
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* $XDG_CACHE_HOME/infertop/capacity, else $HOME/.cache/infertop/capacity. */
static bool cache_dir(char *dir, size_t n)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int k;
    if (x && x[0] == '/') k = snprintf(dir, n, "%s/infertop/capacity", x);
    else if (home && home[0] == '/') k = snprintf(dir, n, "%s/.cache/infertop/capacity", home);
    else return false;
    return k > 0 && (size_t)k < n;
}

bool capacity_cache_path(const char *key, char *path, size_t n)
{
    char dir[1024];
    if (!cache_dir(dir, sizeof dir)) return false;
    int k = snprintf(path, n, "%s/%016llx.txt", dir, (unsigned long long)fnv1a(key));
    return k > 0 && (size_t)k < n;
}

bool capacity_cache_load(const char *path, const char *key, double *cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    static char line[CAPACITY_CACHE_KEY_MAX + 64];
    bool ok = fgets(line, sizeof line, f) && strcmp(line, MAGIC "\n") == 0;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "key ", 4) == 0;
    if (ok) {
        size_t len = strlen(line);
        ok = len > 5 && line[len - 1] == '\n';
        if (ok) line[len - 1] = 0;
        ok = ok && strcmp(line + 4, key) == 0;
    }
    double v = 0;
    char *end = NULL;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "capacity ", 9) == 0;
    if (ok) {
        errno = 0;
        v = strtod(line + 9, &end);
        ok = errno == 0 && end != line + 9 && (*end == '\n' || *end == 0) && isfinite(v) && v > 0 && v < 1e9;
    }
    fclose(f);
    if (ok) *cap = v;
    return ok;
}

/* mkdir -p of path's folder. */
static int make_parents(const char *path)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(dir, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int capacity_cache_store(const char *path, const char *key, double cap, char *err, size_t errlen)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (make_parents(path) < 0) {
        snprintf(err, errlen, "%s: cannot create its folder: %s", path, strerror(errno));
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, MAGIC "\nkey %s\ncapacity %.17g\n", key, cap) > 0;
    if (f) ok = fclose(f) == 0 && ok;
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) {
        snprintf(err, errlen, "%s: could not write the capacity cache: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}
