/* core/plan/hw_host.c — the host row of the hardware table, measured:
 *   - bandwidth: a streaming read (sum) of a 1 GiB buffer by n threads,
 *     median of 3 passes (DRAM, not cache: the buffer is far larger than any L3),
 *     and the same read of working sets that fit the last-level cache and
 *     the cores' private caches (sizes from the C library): the roofline's
 *     tiers by working set (kernels/roofline.h);
 *   - FLOP/s per weight format: the CPU backend's own matmul, y[128][1024] =
 *     x[128][1024] · Wᵀ on a 1024x1024 weight, median of 9 calls: the compute
 *     roof of that format's path. 128 rows, as in prefill: with 16 (the first
 *     version) an f32 weight was read once per 16 rows, the probe was bound by
 *     memory, not compute (39.7 GFLOP/s vs 130 achieved by 512-token prefill
 *     steps on the same 2 cores) and plan --validate over-predicted prefill
 *     steps 2.5x;
 *   - per-op cost: the backend's add on 16 floats, mean of 400 calls (thread
 *     dispatch and record keeping, what every op pays however small).
 * Efficiency curves are flat 1.0: these numbers are achieved rates already.
 * Cached per (CPU model, backend device name) in
 * $XDG_CACHE_HOME/infertop/hw/host-<hash>.txt (else ~/.cache/...); a file
 * that is not exactly this format for this key is a miss and is replaced. */
#include "core/plan/hw.h"
#include "core/plan/hw_cache.h"
#include "kernels/registry.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BW_BYTES (1024u << 20)

/* ---- bandwidth ---- */

static int cmp_double(const void *a, const void *b);

struct read_job { const uint64_t *p; size_t n; int reps; uint64_t sum; };

/* Integer sums: no FP add latency chain, so the loop runs at memory speed. */
static void *read_slice(void *arg)
{
    struct read_job *j = arg;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int r = 0; r < j->reps; r++)
        for (size_t i = 0; i + 4 <= j->n; i += 4) { s0 += j->p[i]; s1 += j->p[i + 1]; s2 += j->p[i + 2]; s3 += j->p[i + 3]; }
    j->sum = s0 + s1 + s2 + s3;
    return NULL;
}

/* Read bandwidth of a working set of `bytes`, each thread summing its slice
 * (BW_BYTES / bytes) times over (at least once), the median of 3 passes (not
 * the best: on a loaded machine a run sees the typical pass): 1 GiB is main
 * memory; a set that fits a cache level runs at that level's rate. */
static double measure_read_bw(int n_threads, size_t bytes)
{
    size_t n = bytes / sizeof(uint64_t);
    int reps = bytes < BW_BYTES ? (int)(BW_BYTES / bytes) : 1;
    uint64_t *buf = malloc(bytes);
    if (!buf) return 0;
    for (size_t i = 0; i < n; i++) buf[i] = i & 1023;
    struct read_job jobs[64];
    pthread_t th[64];
    if (n_threads > 64) n_threads = 64;
    double rate[3] = {0};
    uint64_t sink = 0;
    for (int pass = 0; pass < 3; pass++) {
        uint64_t t0 = now_ns();
        for (int k = 0; k < n_threads; k++) {
            jobs[k] = (struct read_job){buf + n / n_threads * k, n / n_threads, reps, 0};
            if (k > 0) pthread_create(&th[k], NULL, read_slice, &jobs[k]);
        }
        read_slice(&jobs[0]);
        for (int k = 1; k < n_threads; k++) pthread_join(th[k], NULL);
        double s = (now_ns() - t0) / 1e9;
        for (int k = 0; k < n_threads; k++) sink += jobs[k].sum;
        double moved = (double)reps * (n / n_threads) * n_threads * sizeof(uint64_t);
        rate[pass] = s > 0 ? moved / s : 0;
    }
    free(buf);
    qsort(rate, 3, sizeof rate[0], cmp_double);
    return sink == 1 ? 0 : rate[1];     /* sink keeps the sums alive (never 1: i & 1023 sums are even) */
}

/* ---- the backend's ops ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* FLOP/s of be's matmul on a 1024x1024 weight of format t, m = 128 rows. */
static double measure_matmul(struct backend *be, enum dtype t)
{
    enum { N = 1024, K = 1024, M = 128, REPS = 9 };
    size_t rb = dtype_row_bytes(t, K);
    struct weight w = {.type = t, .rows = N, .cols = K};
    snprintf(w.name, sizeof w.name, "hw_probe_%s", dtype_info(t)->name);
    float *row = malloc(sizeof(float) * K), *x = malloc(sizeof(float) * M * K), *y = malloc(sizeof(float) * M * N);
    w.data = malloc(rb * N);
    double rate = 0;
    if (row && x && y && w.data) {
        uint32_t s = 12345;
        for (int r = 0; r < N; r++) {
            for (int k = 0; k < K; k++) { s = s * 1664525u + 1013904223u; row[k] = ((s >> 8) / 16777216.0f - 0.5f) * 0.1f; }
            dtype_encode_row(t, row, (char *)w.data + rb * r, K);
        }
        for (int i = 0; i < M * K; i++) x[i] = 0.01f * (float)(i % 97) - 0.4f;
        if (backend_upload_weight(be, &w) == 0) {
            double ts[REPS];
            backend_matmul(be, y, &w, x, M);      /* warm up: threads, caches */
            for (int i = 0; i < REPS; i++) {
                uint64_t t0 = now_ns();
                backend_matmul(be, y, &w, x, M);
                ts[i] = (now_ns() - t0) / 1e9;
            }
            qsort(ts, REPS, sizeof ts[0], cmp_double);
            rate = ts[REPS / 2] > 0 ? 2.0 * M * N * K / ts[REPS / 2] : 0;
            backend_free_weight(be, &w);
        }
    }
    free(row); free(x); free(y); free(w.data);
    return rate;
}

/* Seconds one tiny op costs on be: a matmul y[1][128] = x[1][128] · Wᵀ
 * (16K multiply-adds, negligible work) split over the threads like every
 * op — thread dispatch and bookkeeping; median of 201 calls. */
static double measure_op_overhead(struct backend *be)
{
    enum { N = 128, REPS = 201 };
    static float wd[N * N], x[N], y[N];
    for (int i = 0; i < N * N; i++) wd[i] = (float)(i % 7) * 0.01f;
    struct weight w = {.type = DT_F32, .rows = N, .cols = N, .data = wd, .name = "hw_probe_op"};
    double ts[REPS];
    backend_matmul(be, y, &w, x, 1);
    for (int i = 0; i < REPS; i++) {
        uint64_t t0 = now_ns();
        backend_matmul(be, y, &w, x, 1);
        ts[i] = (now_ns() - t0) / 1e9;
    }
    qsort(ts, REPS, sizeof ts[0], cmp_double);
    return ts[REPS / 2];
}

static bool measured(int t) { return hw_cache_measured((enum dtype)t); }

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
    char text[HW_CACHE_MAX_BYTES + 1];
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
    char tmp[1300], text[HW_CACHE_MAX_BYTES];
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

/* A cache level's size from the C library, else `fallback`. */
static double cache_size(int name, double fallback)
{
    long v = sysconf(name);
    return v > 0 ? (double)v : fallback;
}

/* The working-set tiers (kernels/roofline.h): the cores' private caches
 * (L2 × threads; a quarter of it measured) and the last-level cache (an
 * eighth of it, at most 64 MiB, at least 4x the private caches). */
static void measure_tiers(int threads, struct roof_device *d)
{
    d->near_bytes = cache_size(_SC_LEVEL2_CACHE_SIZE, 256 << 10) * threads;
    d->llc_bytes = cache_size(_SC_LEVEL3_CACHE_SIZE, 8 << 20);
    d->near_bw = measure_read_bw(threads, (size_t)(d->near_bytes / 4) & ~(size_t)4095);
    double llc_set = fmax(fmin(d->llc_bytes / 8, 64 << 20), 4 * d->near_bytes);
    d->llc_bw = llc_set < d->llc_bytes ? measure_read_bw(threads, (size_t)llc_set & ~(size_t)4095) : d->bw;
}

static int measure_all(struct backend *be, struct roof_device *d, char *err, size_t errlen)
{
    int threads = be->n_threads > 0 ? be->n_threads : 1;
    d->bw = measure_read_bw(threads, BW_BYTES);
    measure_tiers(threads, d);
    d->op_overhead_s = measure_op_overhead(be);
    for (int t = 0; t < DT_COUNT; t++)
        if (measured(t)) d->wtype_flops[t] = measure_matmul(be, (enum dtype)t);
    for (int t = 0; t < DT_COUNT; t++)
        if (measured(t) && !(d->wtype_flops[t] > 0)) {
            snprintf(err, errlen, "host: could not measure the %s matmul", dtype_info((enum dtype)t)->name);
            return -1;
        }
    if (!(d->bw > 0 && d->near_bw > 0 && d->llc_bw > 0)) {
        snprintf(err, errlen, "host: could not measure the memory bandwidth (out of memory?)");
        return -1;
    }
    return 0;
}

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
    if (!cached) {
        if (log) fprintf(log, "hw: measuring the host (%s): bandwidth, matmul per format, per-op cost...\n", be->device_name);
        rc = measure_all(be, out, err, errlen);
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
                         "f32 matmul %.1f GFLOP/s, %.2f us per op (%s%s)\n",
                         be->device_name, out->bw / 1e9, out->llc_bytes / 1e6, out->llc_bw / 1e9,
                         out->near_bytes / 1e6, out->near_bw / 1e9, out->wtype_flops[DT_F32] / 1e9,
                         out->op_overhead_s * 1e6, cached ? "cached: " : "measured", cached ? path : "");
    }
    backend_destroy(be);
    return rc;
}
