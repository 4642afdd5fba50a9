/* core/plan/hw_probe.c — see hw_probe.h. What is measured, every probe on
 * the CPU backend the engine runs (same thread count), HW_PROBE_PASSES passes:
 *   - bandwidth: a streaming read (integer sums) of 512 MiB by every thread
 *     (main memory), and of working sets that fit the last-level and the
 *     private caches (the roofline's tiers, kernels/roofline.h);
 *   - per-op cost: a 1-row matmul on a 128x128 weight (16K multiply-adds,
 *     negligible work) split over the threads like every matmul: the pool's
 *     dispatch and barrier, median of 51 calls;
 *   - matmul per weight format and profile shape (N×K: the grid of
 *     ROOF_MM_K × ROOF_MM_N and the long-N point, kernels/roofline.h, for
 *     the GGUF formats; the own formats at the middle shape only),
 *     y[m][N] = x[m][K] · Wᵀ: m = 1..16 over MM_CALLS matrices (the
 *     better of 2; the median of 8 for one of at most 1M weights) of a set of such matrices at least MM_SET_BYTES
 *     in all (decode: every weight comes from memory, as a step's layers
 *     evict each other; a matrix that fits the private caches is re-read
 *     from them for the next x rows, as the model's are), seconds per weight
 *     element with the per-op cost taken off; m = 64 and 128 on one
 *     matrix's first MM_PREFILL_N rows, 512 at the reference shape and its
 *     ratio to 128 elsewhere (prefill: compute-bound; with 16 rows
 *     an f32 weight was read once per 16 rows and the probe measured memory,
 *     not compute, over-predicting prefill 2.5x). A set's rows are MM_POOL_ROWS random
 *     rows encoded once per format and K, repeated (the kernels' time does
 *     not depend on the values);
 *   - attention (naive, flash) × KV (f32, f16) × (decode: 1 query at depths
 *     256 and 2048; prefill: 64 queries at 0 and 448 before them, and 512
 *     queries — a prompt chunk, whose rate per FLOP differs — at 512 and
 *     1536 before them), heads
 *     12:4 of 64 (GQA 3, SmolLM2's and Llama 3's group sizes bracket it),
 *     a paged cache of 16-token blocks in shuffled order, calls cycling over
 *     16 layers (each call's K/V were evicted by the others', as in a step):
 *     fixed seconds and seconds per FLOP through the two depths;
 *   - rmsnorm (rows of 256), swiglu, add, each call as in a step: after a
 *     matmul that streamed the private caches' size of weights on every
 *     thread (step_context), its inputs rewritten (an activation was just
 *     written); kv_store (f16 rows of 128 in 32 layers of a paged
 *     cache, 32 MiB, each call the next layer's, positions through a
 *     shuffled block table: cold rows scattered as a step's are) and embed (scattered f32 rows of 256
 *     from a 512 MiB table, cold as a vocabulary's) at ROOF_SMALL_ELEMS
 *     elements; rope (heads of 64, after a matmul as the others) at
 *     ROOF_ROPE_TOKENS tokens for 1 and ROOF_ROPE_HEADS heads. */
#include "core/plan/hw_probe.h"
#include "core/plan/hw_cache.h"
#include "kernels/cost.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BW_BYTES (512u << 20)        /* main memory: far past any LLC a core sees */
#define TIER_READ (256u << 20)       /* bytes one cache-tier pass reads */
#define MM_SET_BYTES (64u << 20)      /* twice a 32 MB LLC: the set streams from memory */
#define MM_CALLS 5                    /* matrices one decode row count runs over (a large one): the
                                         median of 5 — the better of 2 (until 2026-12-03) was biased
                                         fast, and the row-count order cap (hw_profile_order) took a
                                         minimum again where m = 1 and 2 cost the same per weight:
                                         q8_0 m = 1 read 45-60 GB/s of weights in the probe, 26-31 in
                                         the engine and in a 400-call median of the same kernel */
#define MM_PREFILL_ROWS 128           /* the prefill row count that gives wtype_flops */
#define MM_X_ROWS 512                 /* x rows of the widest probe row count */
#define MM_PREFILL_N 1024             /* weight rows of the prefill probes (fewer: the matrix's N) ... */
#define MM_PREFILL_ELEMS (1u << 20)   /* ... and at most this many weights, at least 256 rows */
#define MM_REF_SHAPE (1 * ROOF_MM_NN + 1)   /* K 1536, N 1024: the grid's middle gives wtype_flops */
#define MM_K_MAX 4096                 /* the grid's widest row */
#define MM_SET_MAX (128u << 20)       /* two of the largest matrices (f32 4096x4096 or 512x32768: 64 MiB) */
#define MM_POOL_ROWS 64               /* encoded random rows per format and K, repeated down a matrix */
#define MM_SMALL_ELEMS (1u << 20)     /* a matrix up to this many weights is quick: MM_CALLS_SMALL calls */
#define MM_CALLS_SMALL 8
#define MM_Y_FLOATS ((size_t)16 * ROOF_MM_LONG_N)   /* >= 512 x MM_PREFILL_N: both probes' outputs */
_Static_assert(MM_Y_FLOATS >= (size_t)MM_X_ROWS * MM_PREFILL_N, "y holds the widest prefill probe's output");
#define ATTN_PREFILL_Q ROOF_ATTN_PREFILL_Q   /* queries of the prefill probe (>= ATTN_TILE_Q: the prefill regime) */
#define ATTN_H 12
#define ATTN_HKV 4
#define ATTN_D 64
#define ATTN_MAX_CTX 2048
#define ATTN_BLOCK 16
#define ATTN_LAYERS 16                /* calls cycle over layers: each reads K/V another layer evicted, as a step's */
#define SMALL_MAX_ELEMS (1u << 20)
#define KV_STORE_BYTES (32u << 20)    /* K and V each: stores cycle through cold rows, as new tokens' are */
#define KV_STORE_LAYERS 32            /* of f16 rows of 128: KV_STORE_SLOTS rows each */
#define KV_STORE_SLOTS ((int)(KV_STORE_BYTES / (KV_STORE_LAYERS * 128 * 2)))
#define EVICT_K 1024                  /* columns of the matmul before a small op (step_context) */
#define EMBED_COLS 256                /* the embed probe's table: bwbuf as f32 rows of this width */
#define EMBED_FILL_FLOATS ((size_t)1 << 20)   /* random floats, repeated over bwbuf */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static double seconds_since(uint64_t t0) { return (now_ns() - t0) / 1e9; }

/* ---- bandwidth ---- */

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

/* Bytes/s of one read of the first `bytes` of buf by n_threads threads, each
 * summing its slice (TIER_READ / bytes) times over (at least once). */
static double read_bw(const uint64_t *buf, int n_threads, size_t bytes, uint64_t *sink)
{
    size_t n = bytes / sizeof(uint64_t);
    int reps = bytes < TIER_READ ? (int)(TIER_READ / bytes) : 1;
    struct read_job jobs[64];
    pthread_t th[64];
    if (n_threads > 64) n_threads = 64;
    uint64_t t0 = now_ns();
    for (int k = 0; k < n_threads; k++) {
        jobs[k] = (struct read_job){buf + n / n_threads * k, n / n_threads, reps, 0};
        if (k > 0) pthread_create(&th[k], NULL, read_slice, &jobs[k]);
    }
    read_slice(&jobs[0]);
    for (int k = 1; k < n_threads; k++) pthread_join(th[k], NULL);
    double s = seconds_since(t0);
    for (int k = 0; k < n_threads; k++) *sink += jobs[k].sum;
    return s > 0 ? (double)reps * (n / n_threads) * n_threads * sizeof(uint64_t) / s : 0;
}

/* ---- everything one pass measures (all doubles: medians field by field) ---- */

struct pass {
    double bw, near_bw, llc_bw, op_s;
    double flops[DT_COUNT];
    struct roof_profile prof;
};
#define PASS_FIELDS (sizeof(struct pass) / sizeof(double))
_Static_assert(sizeof(struct pass) % sizeof(double) == 0, "struct pass holds doubles only");

struct probe {
    struct backend *be;
    int threads;
    uint64_t *bwbuf;                 /* BW_BYTES */
    uint64_t sink;
    size_t near_set, llc_set;        /* tier working sets (0: the tier is main memory) */
    float *x;                        /* [MM_X_ROWS][MM_K_MAX] */
    float *y;                        /* MM_Y_FLOATS: 128 rows of the prefill probe, 16 of the long N */
    uint8_t *pool[DT_COUNT][ROOF_MM_NK];   /* MM_POOL_ROWS encoded rows per measured format and grid K */
    uint8_t *set;                    /* MM_SET_MAX: rows of one format and K (fill_set) */
    int next;                        /* the next decode call's matrix in the set */
    /* attention */
    void *kv32[2], *kv16[2];         /* K, V: [ATTN_LAYERS][ATTN_MAX_CTX][ATTN_HKV*ATTN_D] */
    int layer;                       /* the next call's layer */
    int32_t table[ATTN_MAX_CTX / ATTN_BLOCK];   /* ascending: block b at slot b */
    float *q, *o;                    /* [ROOF_ATTN_WIDE_Q][ATTN_H*ATTN_D] */
    /* small ops */
    float *a, *b, *c;                /* [SMALL_MAX_ELEMS] */
    float *a0, *b0, *c0;             /* their first values: a producer's output, rewritten before each call */
    int evict_rows;                  /* rows of EVICT_K floats: the private caches (step_context) */
    size_t evict_off;                /* the next eviction's offset in bwbuf */
    int *tok;                        /* [SMALL_MAX_ELEMS / 64] positions (rope) */
    int *etok;                       /* [SMALL_MAX_ELEMS / EMBED_COLS] rows of the embed table, scattered */
    void *kvs[2];                    /* kv_store target: f16 rows of 128, KV_STORE_BYTES each */
    int kv_next;                     /* kv_store calls so far: the next one's layer and position */
    int32_t kv_table[KV_STORE_SLOTS / ATTN_BLOCK];   /* its shuffled block table (every layer's) */
    int emb_next;                    /* the next lookup's first entry of etok */
};

/* ---- per-op cost ---- */

static double probe_op_cost(struct probe *p)
{
    enum { N = 128, REPS = 51 };
    static float wd[N * N], x[N], y[N];
    for (int i = 0; i < N * N; i++) wd[i] = (float)(i % 7) * 0.01f;
    struct weight w = {.type = DT_F32, .rows = N, .cols = N, .data = wd, .name = "hw_probe_op"};
    double ts[REPS];
    backend_matmul(p->be, y, &w, x, 1);
    for (int i = 0; i < REPS; i++) {
        uint64_t t0 = now_ns();
        backend_matmul(p->be, y, &w, x, 1);
        ts[i] = seconds_since(t0);
    }
    return median(ts, REPS);
}

/* ---- matmul ---- */

/* Encode MM_POOL_ROWS random rows of every measured format at every grid K. */
static int encode_pools(struct probe *p)
{
    float *row = malloc(sizeof(float) * MM_K_MAX);
    if (!row) return -1;
    uint32_t s = 12345;
    for (int t = 0; t < DT_COUNT; t++) {
        if (!hw_cache_measured((enum dtype)t)) continue;
        for (int ki = 0; ki < ROOF_MM_NK; ki++) {
            int k = ROOF_MM_K[ki];
            size_t rb = dtype_row_bytes((enum dtype)t, k);
            if (!(p->pool[t][ki] = malloc(rb * MM_POOL_ROWS))) { free(row); return -1; }
            for (int r = 0; r < MM_POOL_ROWS; r++) {
                for (int c = 0; c < k; c++) { s = s * 1664525u + 1013904223u; row[c] = ((s >> 8) / 16777216.0f - 0.5f) * 0.1f; }
                dtype_encode_row((enum dtype)t, row, p->pool[t][ki] + rb * r, k);
            }
        }
    }
    free(row);
    return 0;
}

static int k_index(int k)
{
    for (int i = 0; i < ROOF_MM_NK; i++)
        if (ROOF_MM_K[i] == k) return i;
    return -1;
}

/* The longest N the profile measures at K: the long-N point's, or the grid's. */
static int n_longest(int k) { return k == ROOF_MM_LONG_K ? ROOF_MM_LONG_N : ROOF_MM_N[ROOF_MM_NN - 1]; }

/* Fill the set with rows of format t at width k (pool rows over and over):
 * any run of N rows in it is then an N×k matrix. Its bytes: twice the
 * largest matrix of this k, at least MM_SET_BYTES (past the LLC). */
static size_t fill_set(struct probe *p, enum dtype t, int k)
{
    size_t rb = dtype_row_bytes(t, k), big = 2 * rb * (size_t)n_longest(k);
    size_t bytes = big > MM_SET_BYTES ? big : MM_SET_BYTES;
    if (bytes > MM_SET_MAX) bytes = MM_SET_MAX;
    const uint8_t *pool = p->pool[t][k_index(k)];
    for (size_t r = 0; (r + 1) * rb <= bytes; r++) memcpy(p->set + r * rb, pool + rb * (r % MM_POOL_ROWS), rb);
    return bytes;
}

static struct weight probe_weight(enum dtype t, const uint8_t *data, int n, int k)
{
    struct weight w = {.type = t, .rows = n, .cols = k, .data = (void *)data};
    snprintf(w.name, sizeof w.name, "hw_probe_%s", dtype_info(t)->name);
    return w;
}

/* Seconds of one call of matmul w at m rows. */
static double time_matmul(struct probe *p, const struct weight *w, int m)
{
    uint64_t t0 = now_ns();
    backend_matmul(p->be, p->y, w, p->x, m);
    return seconds_since(t0);
}

/* The prefill rows (ROOF_MM_ROWS from ROOF_MM_DECODE_ROWS_N: 64, 128, 512) of
 * format t at shape k×n into g: on the matrix's first MM_PREFILL_N rows.
 * Each call converts (quantizes, packs) its x rows once, a cost per row of
 * x that does not depend on N, so per weight element it falls as 1/N: 256
 * rows stood for N = 1024 and 4096 and (probably that) made them slower (the AMX
 * formats' prefill was predicted 30-54% too slow on the 2-core Xeon VM:
 * 5.2-5.6 ps per weight per row at N 256 against 3.7-4.5 at N 576 and
 * 1536); 1024 rows is the grid's N 1024 itself (at most MM_PREFILL_ELEMS
 * weights, at least 256 rows: the probe's time). m = 128 the better of two
 * calls (the first may find the matrix cold), then 64 once on the warm
 * matrix, and 512 (a prompt chunk) at the reference shape only (`wide`;
 * probe_matmul carries its ratio to 128 rows to every shape: on that VM the
 * AMX formats' cost per row at 512 was 3-4x m = 128's at N 576 and 1536, not
 * ∝ m as the profile had extrapolated; every shape at 512 rows made the
 * probe too slow for a 1-thread sanitizer run). Returns the 128-row call's seconds. */
static int prefill_rows_of(int k, int n)
{
    int pn = (int)(MM_PREFILL_ELEMS / (unsigned)k);
    pn = pn > MM_PREFILL_N ? MM_PREFILL_N : pn < 256 ? 256 : pn & ~15;
    return n < pn ? n : pn;
}

static double probe_prefill_rows(struct probe *p, enum dtype t, int k, int n, bool wide, double op_s, double *g)
{
    int pn = prefill_rows_of(k, n);
    struct weight w = probe_weight(t, p->set, pn, k);
    double elems = (double)pn * k, t128 = fmin(time_matmul(p, &w, MM_PREFILL_ROWS), time_matmul(p, &w, MM_PREFILL_ROWS));
    for (int ri = ROOF_MM_DECODE_ROWS_N; ri < ROOF_MM_ROWS_N; ri++) {
        if (ri == ROOF_MM_ROWS_N - 1 && !wide) break;       /* 512 rows: the reference shape only */
        double s = ROOF_MM_ROWS[ri] == MM_PREFILL_ROWS ? t128 : time_matmul(p, &w, ROOF_MM_ROWS[ri]);
        g[ri] = fmax(s - op_s, 0.1 * s) / elems;
    }
    return t128;
}

/* Format t on profile shape si (an n×k run of rows in the filled set of
 * set_bytes) at every probe row count into ps: seconds per weight element
 * with the per-op cost taken off; the reference shape's 128-row FLOP/s. */
static void probe_matmul_shape(struct probe *p, enum dtype t, int si, size_t set_bytes, struct pass *ps)
{
    int k, n;
    roof_mm_shape(si, &k, &n);
    size_t mb = dtype_row_bytes(t, k) * (size_t)n;
    int n_mats = (int)(set_bytes / mb), calls = (double)n * k <= MM_SMALL_ELEMS ? MM_CALLS_SMALL : MM_CALLS;
    double elems = (double)n * k, *g = ps->prof.mm_elem_s[t][si];
    /* the decode calls skip the matrices that hold the prefill probes' rows
     * (the set's first rows, read again by every shape of this K, so likely
     * in the LLC): a decode call reads its weights from memory, as a step's */
    size_t hot = (size_t)prefill_rows_of(k, n_longest(k)) * dtype_row_bytes(t, k);
    int first = (int)((hot + mb - 1) / mb);
    if (n_mats - first < 2) first = 0;          /* too few left: the whole set */
    if (p->next < first || p->next >= n_mats) p->next = first;   /* the set's matrices are this shape's now */
    /* one cycle through the set across the row counts: a matrix comes back
     * only after the whole set (past the LLC) was read */
    for (int ri = 0; ri < ROOF_MM_DECODE_ROWS_N; ri++) {
        double ts[MM_CALLS_SMALL];
        for (int i = 0; i < calls; i++, p->next = p->next + 1 < n_mats ? p->next + 1 : first) {
            struct weight w = probe_weight(t, p->set + mb * (size_t)p->next, n, k);
            ts[i] = time_matmul(p, &w, ROOF_MM_ROWS[ri]);
        }
        /* a call another process preempted does not count: the median */
        double s = median(ts, calls);
        g[ri] = fmax(s - ps->op_s, 0.1 * s) / elems;
    }
    double t128 = probe_prefill_rows(p, t, k, n, si == MM_REF_SHAPE, ps->op_s, g);
    int pn = prefill_rows_of(k, n);
    if (si == MM_REF_SHAPE) ps->flops[t] = 2.0 * MM_PREFILL_ROWS * pn * k / t128;
}

/* Format t at every profile shape, one fill of the set per K. The GGUF
 * formats (what model files hold) get the whole grid; the own formats
 * (quant= transforms) only the middle shape, its rates copied to every
 * shape (shape-independent): their 11 grids would have tripled the probe. */
static void probe_matmul(struct probe *p, enum dtype t, struct pass *ps)
{
    bool grid = (int)t < DT_GGML_COUNT;
    for (int ki = 0; ki < ROOF_MM_NK; ki++) {
        if (!grid && ki != MM_REF_SHAPE / ROOF_MM_NN) continue;      /* the middle shape's K */
        size_t bytes = fill_set(p, t, ROOF_MM_K[ki]);
        for (int si = 0; si < ROOF_MM_SHAPES; si++) {
            int k, n;
            roof_mm_shape(si, &k, &n);
            if (k == ROOF_MM_K[ki] && (grid || si == MM_REF_SHAPE)) probe_matmul_shape(p, t, si, bytes, ps);
        }
    }
    for (int si = 0; !grid && si < ROOF_MM_SHAPES; si++)
        memcpy(ps->prof.mm_elem_s[t][si], ps->prof.mm_elem_s[t][MM_REF_SHAPE], sizeof ps->prof.mm_elem_s[t][si]);
    /* 512 rows elsewhere: the reference shape's ratio to its 128 rows */
    const double *ref = ps->prof.mm_elem_s[t][MM_REF_SHAPE];
    int w = ROOF_MM_ROWS_N - 1, r128 = roof_mm_row_index(MM_PREFILL_ROWS);
    for (int si = 0; grid && si < ROOF_MM_SHAPES; si++)
        if (si != MM_REF_SHAPE && ref[r128] > 0) ps->prof.mm_elem_s[t][si][w] = ps->prof.mm_elem_s[t][si][r128] * ref[w] / ref[r128];
}

/* ---- attention ---- */

static struct kv_view probe_kv(const struct probe *p, bool f16)
{
    return (struct kv_view){.k = f16 ? p->kv16[0] : p->kv32[0], .v = f16 ? p->kv16[1] : p->kv32[1],
                            .layer_stride = (size_t)ATTN_MAX_CTX * ATTN_HKV * ATTN_D, .table = p->table, .n_blocks = ATTN_MAX_CTX / ATTN_BLOCK,
                            .block_size = ATTN_BLOCK, .kv_dim = ATTN_HKV * ATTN_D,
                            .kv_type = f16 ? DT_F16 : DT_F32};
}

/* Median seconds of `reps` calls of attention at (n_q, pos0); its FLOPs. */
static double time_attention(struct probe *p, enum attn_impl impl, const struct kv_view *kv, int n_q, int pos0,
                             int reps, double *flops)
{
    struct attn_shape sh = {ATTN_H, ATTN_HKV, ATTN_D, 0.125f};
    struct kernel_record r;
    cost_attention(&r, impl, kv, n_q, pos0, &sh);
    *flops = r.flops;
    double ts[15];
    for (int i = 0; i < reps; i++) {
        int layer = p->layer;
        p->layer = (p->layer + 1) % ATTN_LAYERS;
        uint64_t t0 = now_ns();
        backend_attention(p->be, impl, p->o, p->q, kv, layer, n_q, pos0, &sh);
        ts[i] = seconds_since(t0);
    }
    return median(ts, reps);
}

/* Fixed seconds and seconds per FLOP of attention at n_q queries through
 * the depths pos[0], pos[1] (the slope; t[1] / flops when noise made it
 * fall). */
static void fit_attention(struct probe *p, enum attn_impl impl, const struct kv_view *kv, int n_q, const int pos[2],
                          int reps, double *fixed, double *per_flop)
{
    double f[2], t[2];
    for (int k = 0; k < 2; k++) t[k] = time_attention(p, impl, kv, n_q, pos[k], reps, &f[k]);
    double slope = (t[1] - t[0]) / (f[1] - f[0]);
    if (!(slope > 0)) slope = t[1] / f[1];
    *per_flop = slope;
    *fixed = fmax(t[1] - slope * f[1], 1e-9);
}

/* Every attention kind through two depths; prefill at 64 queries and at a
 * prompt chunk's 512, those at 512 and 1536 before them (a long prompt's
 * later chunks: its K/V past the private caches, a higher cost per FLOP
 * than the first chunk's; one call each: the passes give the median). */
static void probe_attention(struct probe *p, struct pass *ps)
{
    static const int DECODE_POS[2] = {255, ATTN_MAX_CTX - 1}, PREFILL_POS[2] = {0, 448}, WIDE_POS[2] = {512, 1536};
    struct roof_profile *r = &ps->prof;
    for (int impl = 0; impl < 2; impl++)
        for (int f16 = 0; f16 < 2; f16++) {
            struct kv_view kv = probe_kv(p, f16);
            enum dtype kt = f16 ? DT_F16 : DT_F32;
            int kd = roof_attn_kind((enum attn_impl)impl, kt, 1), kp = roof_attn_kind((enum attn_impl)impl, kt, ATTN_PREFILL_Q);
            fit_attention(p, (enum attn_impl)impl, &kv, 1, DECODE_POS, 15, &r->attn_fixed_s[kd], &r->attn_flop_s[kd]);
            fit_attention(p, (enum attn_impl)impl, &kv, ATTN_PREFILL_Q, PREFILL_POS, 3, &r->attn_fixed_s[kp],
                          &r->attn_flop_s[kp]);
            fit_attention(p, (enum attn_impl)impl, &kv, ROOF_ATTN_WIDE_Q, WIDE_POS, 1, &r->attn_wide_fixed_s[kp],
                          &r->attn_wide_flop_s[kp]);
        }
}

/* ---- small ops ---- */

/* One call of small op k at probe size index i. */
static void run_small(struct probe *p, enum roof_small_op k, int i)
{
    int64_t n = (int64_t)ROOF_SMALL_ELEMS[i];
    struct rope_params rp = {.theta = 10000.0f};
    switch (k) {
    case RSO_RMSNORM: backend_rmsnorm(p->be, p->c, p->a, p->b, (int)(n / 256), 256, 1e-5f); break;
    case RSO_SWIGLU: backend_swiglu(p->be, p->c, p->a, p->b, n); break;
    case RSO_ADD: backend_add(p->be, p->c, p->a, n); break;
    case RSO_KV_STORE: {
        /* as a step stores: each call the next layer's rows (layers a
         * layer_stride apart), positions advancing once per cycle of the
         * layers, through a shuffled block table — not one sequential run
         * the prefetcher streams */
        int rows = (int)(n / 256), layer = p->kv_next % KV_STORE_LAYERS;
        int pos = (int)(((int64_t)(p->kv_next / KV_STORE_LAYERS) * rows) % (KV_STORE_SLOTS - rows + 1));
        struct kv_view kv = {.k = p->kvs[0], .v = p->kvs[1], .layer_stride = (size_t)KV_STORE_SLOTS * 128,
                             .table = p->kv_table, .n_blocks = KV_STORE_SLOTS / ATTN_BLOCK,
                             .block_size = ATTN_BLOCK, .kv_dim = 128, .kv_type = DT_F16};
        backend_kv_store(p->be, &kv, layer, pos, rows, p->a, p->b);
        p->kv_next++;
        break;
    }
    case RSO_EMBED: {
        /* the token rows of a 512 MiB table: cold, as a 49152-row vocabulary's */
        struct weight e = {.type = DT_F32, .rows = (int)(BW_BYTES / (EMBED_COLS * 4)), .cols = EMBED_COLS,
                           .data = p->bwbuf, .name = "hw_probe_embed"};
        int rows = (int)(n / EMBED_COLS), at = p->emb_next % (int)(SMALL_MAX_ELEMS / EMBED_COLS);
        if (at + rows > (int)(SMALL_MAX_ELEMS / EMBED_COLS)) at = 0;
        backend_embed(p->be, p->c, &e, p->etok + at, rows);
        p->emb_next += 7;
        break;
    }
    case RSO_ROPE_1: case RSO_ROPE_H: {
        int heads = k == RSO_ROPE_1 ? 1 : ROOF_ROPE_HEADS;
        backend_rope(p->be, p->c, p->tok, (int)ROOF_ROPE_TOKENS[i], heads, 64, &rp);
        break;
    }
    case RSO_COUNT: break;
    }
}

/* The inputs small op k at probe size i reads, as its producer left them:
 * rewritten on the caller from the pristine copies (in the caches again).
 * rmsnorm's weight (b) is a model weight: not rewritten, cold as in a step. */
static void rewrite_inputs(struct probe *p, enum roof_small_op k, int i)
{
    size_t n = (size_t)ROOF_SMALL_ELEMS[i] * sizeof(float);
    switch (k) {
    case RSO_RMSNORM: memcpy(p->a, p->a0, n); break;
    case RSO_SWIGLU: memcpy(p->a, p->a0, n); memcpy(p->b, p->b0, n); break;
    case RSO_ADD: memcpy(p->c, p->c0, n); memcpy(p->a, p->a0, n); break;
    case RSO_ROPE_1: case RSO_ROPE_H: {
        int heads = k == RSO_ROPE_1 ? 1 : ROOF_ROPE_HEADS;
        memcpy(p->c, p->c0, (size_t)ROOF_ROPE_TOKENS[i] * heads * 64 * sizeof(float));
        break;
    }
    default: break;
    }
}

/* What runs before a small op in a step: a matmul streamed its weights
 * through the private caches on every thread of the pool (evicting the op's
 * code, its TLB entries and its weights; rmsnorm's follows the residual add,
 * swiglu the up projection, rope the Q/K projections), then the producer
 * wrote the op's inputs. Timed back to back on hot buffers instead, the
 * probes ran 1.2-3x faster than the same op after such a matmul (2-core
 * Xeon VM: add of 576 0.25 vs 0.76 us, rmsnorm 8x576 2.1 vs 4.5 us, swiglu
 * 12288 16.5 vs 19.5 us, medians of 301) — the engine's norm and eltwise
 * classes were predicted 23-37% too fast on a quiet machine. The matmul: f32
 * m = 1 over the next near_bytes (the private caches) of the 512 MiB table.
 * kv_store and embed are not given this: their probes' tables are cold by
 * construction already. */
static void step_context(struct probe *p, enum roof_small_op k, int i)
{
    if (k == RSO_KV_STORE || k == RSO_EMBED) return;
    size_t bytes = (size_t)p->evict_rows * EVICT_K * sizeof(float);
    if (p->evict_off + bytes > BW_BYTES) p->evict_off = 0;
    struct weight w = {.type = DT_F32, .rows = p->evict_rows, .cols = EVICT_K,
                       .data = (char *)p->bwbuf + p->evict_off, .name = "hw_probe_evict"};
    backend_matmul(p->be, p->y, &w, p->x, 1);
    p->evict_off += bytes;
    rewrite_inputs(p, k, i);
}

static void probe_small(struct probe *p, struct pass *ps)
{
    for (int k = 0; k < RSO_COUNT; k++)
        for (int i = 0; i < ROOF_SMALL_N; i++) {
            int reps = i < 2 ? 33 : i == 2 ? 9 : 5;
            double ts[33];
            run_small(p, (enum roof_small_op)k, i);
            for (int r = 0; r < reps; r++) {
                step_context(p, (enum roof_small_op)k, i);
                uint64_t t0 = now_ns();
                run_small(p, (enum roof_small_op)k, i);
                ts[r] = seconds_since(t0);
            }
            ps->prof.small_s[k][i] = fmax(median(ts, reps), 1e-9);
        }
}

/* ---- set-up ---- */

static void fill_floats(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) { seed = seed * 1664525u + 1013904223u; x[i] = ((seed >> 8) / 16777216.0f - 0.5f); }
}

static int probe_init(struct probe *p, struct backend *be)
{
    memset(p, 0, sizeof *p);
    p->be = be;
    p->threads = be->n_threads > 0 ? be->n_threads : 1;
    size_t kv_elems = (size_t)ATTN_LAYERS * ATTN_MAX_CTX * ATTN_HKV * ATTN_D;
    p->bwbuf = malloc(BW_BYTES);
    p->x = malloc(sizeof(float) * MM_X_ROWS * MM_K_MAX);
    p->y = malloc(sizeof(float) * MM_Y_FLOATS);
    p->set = malloc(MM_SET_MAX);
    p->q = malloc(sizeof(float) * ROOF_ATTN_WIDE_Q * ATTN_H * ATTN_D);
    p->o = malloc(sizeof(float) * ROOF_ATTN_WIDE_Q * ATTN_H * ATTN_D);
    p->a = malloc(sizeof(float) * SMALL_MAX_ELEMS);
    p->b = malloc(sizeof(float) * SMALL_MAX_ELEMS);
    p->c = malloc(sizeof(float) * SMALL_MAX_ELEMS);
    p->a0 = malloc(sizeof(float) * SMALL_MAX_ELEMS);
    p->b0 = malloc(sizeof(float) * SMALL_MAX_ELEMS);
    p->c0 = malloc(sizeof(float) * SMALL_MAX_ELEMS);
    p->tok = malloc(sizeof(int) * SMALL_MAX_ELEMS / 64);
    p->etok = malloc(sizeof(int) * SMALL_MAX_ELEMS / EMBED_COLS);
    for (int i = 0; i < 2; i++) {
        p->kv32[i] = malloc(kv_elems * 4);
        p->kv16[i] = malloc(kv_elems * 2);
        p->kvs[i] = malloc(KV_STORE_BYTES);
    }
    if (!p->bwbuf || !p->x || !p->y || !p->set || !p->q || !p->o || !p->a || !p->b || !p->c || !p->a0 || !p->b0 ||
        !p->c0 || !p->tok || !p->etok ||
        !p->kv32[0] || !p->kv32[1] || !p->kv16[0] || !p->kv16[1] || !p->kvs[0] || !p->kvs[1])
        return -1;
    /* random normal floats: the embed probe copies rows of it into c, which
     * rope then rotates — the bandwidth's old integer pattern read as f32 was
     * denormals, and rope on denormals ran 10x slow (rope_h8 16.8 us at 1
     * token), over-predicting eltwise */
    fill_floats((float *)p->bwbuf, EMBED_FILL_FLOATS, 6);
    for (size_t off = EMBED_FILL_FLOATS * 4; off < BW_BYTES; off += EMBED_FILL_FLOATS * 4)
        memcpy((char *)p->bwbuf + off, p->bwbuf, EMBED_FILL_FLOATS * 4);
    fill_floats(p->x, (size_t)MM_X_ROWS * MM_K_MAX, 1);
    fill_floats(p->q, (size_t)ROOF_ATTN_WIDE_Q * ATTN_H * ATTN_D, 2);
    fill_floats(p->a, SMALL_MAX_ELEMS, 3);
    fill_floats(p->b, SMALL_MAX_ELEMS, 4);
    fill_floats(p->c, SMALL_MAX_ELEMS, 5);
    memcpy(p->a0, p->a, sizeof(float) * SMALL_MAX_ELEMS);
    memcpy(p->b0, p->b, sizeof(float) * SMALL_MAX_ELEMS);
    memcpy(p->c0, p->c, sizeof(float) * SMALL_MAX_ELEMS);
    for (int i = 0; i < 2; i++) {
        fill_floats(p->kv32[i], kv_elems, 7 + i);
        float *tmp = p->kv32[i];
        uint16_t *h = p->kv16[i];
        for (size_t e = 0; e < kv_elems; e++) h[e] = fp32_to_fp16(tmp[e]);
        memset(p->kvs[i], 0, KV_STORE_BYTES);        /* faulted in: the engine's pool is, after its first use */
    }
    int nb = ATTN_MAX_CTX / ATTN_BLOCK;
    /* ascending blocks, as the engine's tables hold a prompt's: the paged
     * cache releases a request's blocks tail first onto its free stack, so
     * the next request pops them in order (core/engine/kvcache_paged.c). A
     * shuffled table (the probe's until 2026-12-03) cost decode attention
     * 1.25-1.29x the ascending one at 2047 positions (1.01-1.05x at 255;
     * descending runs cost as much as shuffled: tests/bench/bench_attn_blocks.c,
     * AMD EPYC VM) — and decode attention was predicted 4-28% too slow in 5
     * of 6 validations there (median +15%); ascending, -6% over 12 more.
     * Tried and dropped: K/V past the LLC (48 layers, short contexts in
     * rotating windows) made the probe faster still — decode attention -18%
     * over 12 validations, chat's -15..-30%: a chat request's decode blocks
     * come interleaved with the other sequences' (one per 16 tokens each),
     * so its table is not one ascending run either. */
    for (int b = 0; b < nb; b++) p->table[b] = b;
    for (int b = 0, kb = KV_STORE_SLOTS / ATTN_BLOCK; b < kb; b++) p->kv_table[b] = (int32_t)((b * 37) % kb);
    for (unsigned i = 0; i < SMALL_MAX_ELEMS / 64; i++) p->tok[i] = (int)(i * 7 % 1024);
    for (unsigned i = 0; i < SMALL_MAX_ELEMS / EMBED_COLS; i++)
        p->etok[i] = (int)((i * 2654435761u) % (BW_BYTES / (EMBED_COLS * 4)));
    return encode_pools(p);
}

static void probe_free(struct probe *p)
{
    free(p->bwbuf); free(p->x); free(p->y); free(p->set); free(p->q); free(p->o);
    free(p->a); free(p->b); free(p->c); free(p->a0); free(p->b0); free(p->c0); free(p->tok); free(p->etok);
    for (int i = 0; i < 2; i++) { free(p->kv32[i]); free(p->kv16[i]); free(p->kvs[i]); }
    for (int t = 0; t < DT_COUNT; t++)
        for (int ki = 0; ki < ROOF_MM_NK; ki++) free(p->pool[t][ki]);
}

/* The working-set tiers: the cores' private caches (L2 × threads; a quarter
 * of it measured) and the last-level cache (an eighth of it, at most 64 MiB,
 * at least 4x the private caches; main memory when that does not fit). */
static void tier_sizes(struct probe *p, struct roof_device *d)
{
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    d->near_bytes = (l2 > 0 ? (double)l2 : 256 << 10) * p->threads;
    d->llc_bytes = l3 > 0 ? (double)l3 : 8 << 20;
    p->near_set = (size_t)(d->near_bytes / 4) & ~(size_t)4095;
    p->evict_rows = (int)(d->near_bytes / (EVICT_K * sizeof(float)));
    if (p->evict_rows < 64) p->evict_rows = 64;
    if ((size_t)p->evict_rows > MM_Y_FLOATS) p->evict_rows = (int)MM_Y_FLOATS;   /* y holds its outputs */
    double llc_set = fmax(fmin(d->llc_bytes / 8, 64 << 20), 4 * d->near_bytes);
    p->llc_set = llc_set < d->llc_bytes ? (size_t)llc_set & ~(size_t)4095 : 0;
}

/* One pass of every probe; the matmul grid (most of the time) only when
 * `matmul` (the first HW_PROBE_MM_PASSES passes). */
static void one_pass(struct probe *p, struct pass *ps, bool matmul)
{
    memset(ps, 0, sizeof *ps);
    ps->bw = read_bw(p->bwbuf, p->threads, BW_BYTES, &p->sink);
    ps->near_bw = read_bw(p->bwbuf, p->threads, p->near_set, &p->sink);
    ps->llc_bw = p->llc_set ? read_bw(p->bwbuf, p->threads, p->llc_set, &p->sink) : ps->bw;
    ps->op_s = probe_op_cost(p);
    for (int t = 0; matmul && t < DT_COUNT; t++)
        if (p->pool[t][0]) probe_matmul(p, (enum dtype)t, ps);
    probe_attention(p, ps);
    probe_small(p, ps);
}

/* x[i] = min(x[i..n)): more work never takes less time, and waiting for a
 * CPU only ever adds time — so where a median broke the order (a burst of
 * load on one size's calls), the larger size's lower time bounds it. (The
 * running max from the left, used before, carried one inflated point to
 * every larger size: a loaded run's q8_0 m=4 probe at 6.5 ns per weight,
 * 40x its neighbours, became m = 8, 16 and 128's.) */
static void bound_from_above(double *x, int n)
{
    for (int i = n - 2; i >= 0; i--) x[i] = fmin(x[i], x[i + 1]);
}

void hw_profile_order(struct roof_profile *p)
{
    for (int t = 0; t < DT_COUNT; t++)
        for (int s = 0; s < ROOF_MM_SHAPES; s++) bound_from_above(p->mm_elem_s[t][s], ROOF_MM_ROWS_N);
    for (int k = 0; k < RSO_COUNT; k++) bound_from_above(p->small_s[k], ROOF_SMALL_N);
}

/* Fields [first, first + count) of out (as doubles): each the median of
 * that field over passes[0..n). */
static void median_of_passes(const struct pass *passes, int n, size_t first, size_t count, struct pass *out)
{
    double col[HW_PROBE_PASSES];
    for (size_t f = first; f < first + count; f++) {
        for (int i = 0; i < n; i++) col[i] = ((const double *)&passes[i])[f];
        ((double *)out)[f] = median(col, n);
    }
}

double hw_load_average(void)
{
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

int hw_probe_all(struct backend *be, struct roof_device *d, char *err, size_t errlen)
{
    static struct probe p;
    static struct pass passes[HW_PROBE_PASSES];
    if (probe_init(&p, be) < 0) {
        probe_free(&p);
        snprintf(err, errlen, "host: out of memory for the probes (about 1 GB)");
        return -1;
    }
    tier_sizes(&p, d);
    for (int i = 0; i < HW_PROBE_PASSES; i++) one_pass(&p, &passes[i], i < HW_PROBE_MM_PASSES);
    probe_free(&p);
    struct pass med;
    median_of_passes(passes, HW_PROBE_PASSES, 0, PASS_FIELDS, &med);
    median_of_passes(passes, HW_PROBE_MM_PASSES, offsetof(struct pass, flops) / sizeof(double), DT_COUNT, &med);
    median_of_passes(passes, HW_PROBE_MM_PASSES, offsetof(struct pass, prof.mm_elem_s) / sizeof(double),
                     sizeof med.prof.mm_elem_s / sizeof(double), &med);
    hw_profile_order(&med.prof);
    d->bw = med.bw;
    d->near_bw = med.near_bw;
    d->llc_bw = med.llc_bw;
    d->op_overhead_s = med.op_s;
    memcpy(d->wtype_flops, med.flops, sizeof d->wtype_flops);
    d->prof = med.prof;
    for (int t = 0; t < DT_COUNT; t++)
        if (hw_cache_measured((enum dtype)t) && !(d->wtype_flops[t] > 0)) {
            snprintf(err, errlen, "host: could not measure the %s matmul", dtype_info((enum dtype)t)->name);
            return -1;
        }
    if (!(d->bw > 0 && d->near_bw > 0 && d->llc_bw > 0) || p.sink == 1) {
        snprintf(err, errlen, "host: could not measure the memory bandwidth");
        return -1;
    }
    return 0;
}
