/* core/plan/hw_host.c — the host row of the hardware table: measured by
 * core/plan/hw_probe.c (bandwidth by working set, the per-op cost, every
 * weight format's matmul at decode and prefill row counts, attention and the
 * small ops: a measured operator profile, kernels/roofline.h), or read from
 * the cache. Efficiency curves are flat 1.0: these numbers are achieved
 * rates already.
 * Cached per (CPU model, backend device name) in
 * $XDG_CACHE_HOME/infertop/hw/host-<hash>.txt (else ~/.cache/...); a file
 * that is not exactly this format for this key is a miss and is replaced. */
#include "core/plan/hw.h"
#include "core/plan/hw_cache.h"
#include "core/plan/hw_probe.h"
#include "kernels/registry.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- cache ---- */

static void cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !c) continue;
        c += 1 + strspn(c + 1, " \t");
        c[strcspn(c, "\n")] = 0;
        snprintf(out, n, "%s", c);
        break;
    }
    fclose(f);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static bool cache_path(const char *key, char *path, size_t n)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int k;
    if (x && x[0] == '/') k = snprintf(path, n, "%s/infertop/hw/host-%016llx.txt", x, (unsigned long long)fnv1a(key));
    else if (home && home[0] == '/')
        k = snprintf(path, n, "%s/.cache/infertop/hw/host-%016llx.txt", home, (unsigned long long)fnv1a(key));
    else return false;
    return k > 0 && (size_t)k < n;
}

/* The cached row for key, or false (a miss: measure again). A file that is
 * there but wrong says why on log. */
static bool cache_load(const char *path, const char *key, struct roof_device *d, FILE *log)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    static char text[HW_CACHE_MAX_BYTES + 1];    /* 64 KiB: off the stack */
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    char err[200];
    if (hw_cache_parse(text, n, key, d, err, sizeof err) == 0) return true;
    if (log) fprintf(log, "hw: cache %s: %s; measuring again\n", path, err);
    return false;
}

static int make_parents(const char *path)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return 0;
}

static void cache_store(const char *path, const char *key, const struct roof_device *d)
{
    static char text[HW_CACHE_MAX_BYTES];
    char tmp[1300];
    int n = hw_cache_format(key, d, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (n < 0 || make_parents(path) < 0) return;
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    bool ok = fwrite(text, 1, (size_t)n, f) == (size_t)n;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) remove(tmp);   /* a cache: failing to keep it only costs time */
}

/* ---- the row ---- */

int hw_host_measure(int n_threads, bool fresh, struct roof_device *out, FILE *log, char *err, size_t errlen)
{
    struct backend *be = backend_create("cpu", n_threads, err, errlen);
    if (!be) return -1;
    char cpu[200], key[512], path[1100];
    cpu_model(cpu, sizeof cpu);
    memset(out, 0, sizeof *out);
    snprintf(key, sizeof key, "cpu=%s backend=%s", cpu, be->device_name);
    bool have_path = cache_path(key, path, sizeof path), cached = !fresh && have_path && cache_load(path, key, out, log);
    int rc = 0;
    double probe_s = 0;
    if (!cached) {
        if (log) fprintf(log, "hw: measuring the host (%s, load average %.1f): bandwidth, per-op cost, matmul per format at 1-512 rows on %d shapes, "
                         "attention, small ops; %d passes...\n", be->device_name, hw_load_average(), ROOF_MM_SHAPES,
                         HW_PROBE_PASSES);
        uint64_t t0 = now_ns();
        rc = hw_probe_all(be, out, err, errlen);
        probe_s = (now_ns() - t0) / 1e9;
        if (rc == 0 && have_path) cache_store(path, key, out);
    }
    if (rc == 0) {
        snprintf(out->name, sizeof out->name, "host: %.56s", be->device_name);
        out->n_devices = 1;
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        out->mem_bytes = pages > 0 && psz > 0 ? (double)pages * psz : 0;
        out->flops[RP_FP32] = out->wtype_flops[DT_F32];
        out->flops[RP_FP16] = out->wtype_flops[DT_F16];
        out->flops[RP_BF16] = out->wtype_flops[DT_BF16];
        out->mem_eff = out->flop_eff = (struct roof_curve){1, 1, 0};
        /* virtual devices' "link" is this memory: a ring step copies from the
         * peer's buffer (kernels/comm.c), one op's cost per comm op */
        out->link_bw = out->bw;
        out->link_base_s = out->op_overhead_s;
        if (log) fprintf(log, "hw: host %s: %.1f GB/s read (LLC %.0f MB: %.1f GB/s, private %.1f MB: %.1f GB/s), "
                         "f32 matmul %.1f GFLOP/s, %.2f us per op (%s%s)",
                         be->device_name, out->bw / 1e9, out->llc_bytes / 1e6, out->llc_bw / 1e9,
                         out->near_bytes / 1e6, out->near_bw / 1e9, out->wtype_flops[DT_F32] / 1e9,
                         out->op_overhead_s * 1e6, cached ? "cached: " : "measured", cached ? path : "");
        if (log && !cached) fprintf(log, " in %.1f s, load average %.1f after\n", probe_s, hw_load_average());
        else if (log) fprintf(log, "\n");
    }
    backend_destroy(be);
    return rc;
}
