/* tests/bench/bench_sparse.c — `make bench-sparse`: 2:4 sparse vs dense, the
 * same value type, ratios measured in one run (rounds alternate, medians).
 *
 * 1. Read bandwidth (STREAM-style sum, the threads used below), measured now.
 * 2. Matvec (m = 1) at SmolLM2-135M's shapes and at 4096x4096, f16 / f32 /
 *    int8 values: dense (f16, f32, q8_0) vs 2:4 (s24_f16, s24_f32, s24_q8).
 *    The weights cycle through enough copies (>= 64 MiB) that every call
 *    streams them from memory, as a decode step does. Printed: weight bytes per
 *    call, time, GB/s, % of the measured bandwidth, dense/sparse time ratio.
 * 3. Batch sweep (m = 1..64) at 4096x4096 and SmolLM2's ffn shape in f16:
 *    where the sparse kernel stops paying (the crossover).
 * 4. End to end: decode tokens/s dense vs 2:4 on synth:smollm2-135m (f16 and
 *    q8_0 values) and on a GGUF (argv[1], default the shipped SmolLM2 Q4_1:
 *    dense as shipped, dense f16, 2:4 f16, 2:4 int8).
 * 5. Quality on the GGUF: every next-token distribution over the first 256
 *    tokens of this repository's README.md, 2:4-magnitude (f16 values) vs the
 *    model as shipped: mean KLD(shipped ‖ 2:4), same top-1 %, and the mean NLL
 *    of the text's own next token for both (a perplexity on a small text, not
 *    llama-perplexity's protocol; `infertop eval` is the reference tool).
 *
 *   build/bench_sparse [GGUF] [--threads N] [--quick] [--kernels] [--simd L] [--values V]
 * --kernels: parts 1-3 only (no model load); --simd scalar|avx2|avx512: the
 * highest SIMD level the kernels may use (default the best present);
 * --values f16|f32|int8: only that value type in the matvec table. */
#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "core/quant/sparsity.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/bench/bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_threads = 2, g_rounds = 7;
static enum cpu_simd g_simd = CPU_SIMD_AVX512;
static int g_values = -1;        /* matvec table: -1 every value type, else its index (f16, f32, int8) */

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "bench_sparse: out of memory for %zu bytes\n", n); exit(1); }
    return p;
}

/* ---- bandwidth ---- */

/* GB/s reading 256 MiB with g_threads threads; best of 3 (bench_util.h). */
static double read_bandwidth(void)
{
    size_t bytes = (size_t)256 << 20, n = bytes / 4;
    float *buf = xmalloc(bytes);
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023) * 1e-3f;
    double best = bench_read_bandwidth(buf, bytes, g_threads, 3);
    free(buf);
    return best;
}

/* ---- kernels ---- */

/* 2:4 prune a float row in place (bench_wset_make's edit_row): dense and
 * sparse sets then hold the same pruned values and compute the same product. */
static void prune_row(float *row, int K) { sparsity_prune_row(row, NULL, K); }

/* Seconds per call of y = x·Wᵀ, cycling through the copies; `calls` calls. */
static double time_matmul(struct backend *be, struct bench_wset *s, const float *x, float *y, int m, int calls)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < calls; i++) be->ops->matmul(be, y, &s->w[i % s->copies], x, m);
    return (now_ns() - t0) / 1e9 / calls;
}

/* Copies so the set is >= 64 MiB (beyond the last-level cache of this machine). */
static int copies_for(size_t bytes) { size_t c = ((size_t)64 << 20) / bytes + 1; return c > 256 ? 256 : (int)c; }

struct pair_result { double t_dense, t_sparse, ratio; };

/* Median over rounds (dense, sparse alternating) of the dense/sparse ratio. */
static struct pair_result time_pair(struct backend *be, struct bench_wset *d, struct bench_wset *s, int m, int K, int N)
{
    float *x = xmalloc(sizeof(float) * (size_t)m * K), *y = xmalloc(sizeof(float) * (size_t)m * N);
    for (size_t i = 0; i < (size_t)m * K; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
    double td[16], ts[16], rt[16];
    /* ~50 ms per measurement at ~10 GB/s, each copy at least once */
    double est = d->bytes * fmax(1, m / 4.0) / 1e10;
    int calls = (int)fmax(d->copies, fmin(4000, 0.05 / est));
    time_matmul(be, d, x, y, m, d->copies);   /* warm the page tables */
    time_matmul(be, s, x, y, m, s->copies);
    for (int r = 0; r < g_rounds; r++) {
        td[r] = time_matmul(be, d, x, y, m, calls);
        ts[r] = time_matmul(be, s, x, y, m, calls);
        rt[r] = td[r] / ts[r];
    }
    struct pair_result pr = {bench_median(td, g_rounds), bench_median(ts, g_rounds), bench_median(rt, g_rounds)};
    free(x);
    free(y);
    return pr;
}

struct shape { const char *name; int N, K; };

static void matvec_table(struct backend *be, double bw)
{
    const struct shape shapes[] = {
        {"smollm2 q/o", 576, 576}, {"smollm2 k/v", 192, 576}, {"smollm2 gate/up", 1536, 576},
        {"smollm2 down", 576, 1536}, {"4096x4096", 4096, 4096},
    };
    const enum dtype dense[] = {DT_F16, DT_F32, DT_Q8_0}, sparse[] = {DT_S24_F16, DT_S24_F32, DT_S24_Q8};
    printf("\nmatvec (m = 1), %d threads, weights streamed from memory (>= 64 MiB of copies); "
           "bytes = weight bytes per call; %% bw = GB/s / measured read bandwidth; x = dense time / 2:4 time\n",
           g_threads);
    printf("%-16s %-8s %10s %9s %7s %6s   %-8s %10s %9s %7s %6s %7s\n", "shape", "dense", "bytes",
           "time us", "GB/s", "% bw", "2:4", "bytes", "time us", "GB/s", "% bw", "x");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int v = 0; v < 3; v++) {
            if (g_values >= 0 && v != g_values) continue;
            const struct shape *sh = &shapes[si];
            struct bench_wset d = bench_wset_make(dense[v], sh->N, sh->K, copies_for(dtype_row_bytes(dense[v], sh->K) * (size_t)sh->N), prune_row);
            struct bench_wset s = bench_wset_make(sparse[v], sh->N, sh->K, d.copies, prune_row);
            struct pair_result p = time_pair(be, &d, &s, 1, sh->K, sh->N);
            double gd = d.bytes / p.t_dense / 1e9, gs = s.bytes / p.t_sparse / 1e9;
            printf("%-16s %-8s %10zu %9.1f %7.1f %5.0f%%   %-8s %10zu %9.1f %7.1f %5.0f%% %6.2fx\n", sh->name,
                   dtype_info(dense[v])->name, d.bytes, p.t_dense * 1e6, gd, 100 * gd / bw,
                   dtype_info(sparse[v])->name, s.bytes, p.t_sparse * 1e6, gs, 100 * gs / bw, p.ratio);
            bench_wset_free(&d);
            bench_wset_free(&s);
        }
}

static void batch_sweep(struct backend *be)
{
    const struct shape shapes[] = {{"4096x4096", 4096, 4096}, {"smollm2 gate/up", 1536, 576}};
    const int ms[] = {1, 2, 4, 8, 16, 32, 64};
    printf("\nbatch sweep, f16 vs s24_f16, %d threads: x = dense time / 2:4 time (below 1.00x the 2:4 kernel stops paying)\n",
           g_threads);
    printf("%-16s", "shape");
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) printf(" %7s%-3d", "m=", ms[i]);
    printf("  crossover\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape *sh = &shapes[si];
        struct bench_wset d = bench_wset_make(DT_F16, sh->N, sh->K, copies_for((size_t)sh->N * sh->K * 2), prune_row);
        struct bench_wset s = bench_wset_make(DT_S24_F16, sh->N, sh->K, d.copies, prune_row);
        int cross = 0;
        printf("%-16s", sh->name);
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
            struct pair_result p = time_pair(be, &d, &s, ms[i], sh->K, sh->N);
            if (!cross && p.ratio < 1.0) cross = ms[i];
            printf(" %9.2fx", p.ratio);
            fflush(stdout);
        }
        if (cross) printf("  m >= %d\n", cross);
        else printf("  none up to m = %d\n", ms[sizeof ms / sizeof ms[0] - 1]);
        bench_wset_free(&d);
        bench_wset_free(&s);
    }
}

/* ---- end to end ---- */


struct variant {
    const char *label;
    struct model m;
    struct backend *be;
    struct forward fw;
    struct bench_kv kb;
    float *logits;
};

#define E2E_PROMPT 16
#define E2E_DECODE 24

static void variant_open(struct variant *v)
{
    char err[256];
    v->be = cpu_backend_create(g_threads, g_simd);
    bench_kv_init(&v->kb, &v->m.cfg, E2E_PROMPT + E2E_DECODE);
    v->logits = xmalloc(sizeof(float) * (size_t)v->m.cfg.vocab);
    if (!v->be || model_upload(&v->m, v->be) < 0 ||
        forward_init(&v->fw, &v->m, v->be, E2E_PROMPT, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sparse: %s: %s\n", v->label, err);
        exit(1);
    }
}

static void variant_close(struct variant *v)
{
    forward_free(&v->fw);
    backend_destroy(v->be);
    model_free(&v->m);
    bench_kv_free(&v->kb);
    free(v->logits);
}

/* Decode tokens/s of one round: a 16-token prompt, then 24 decode steps. */
static double decode_tok_s(struct variant *v)
{
    int32_t toks[E2E_PROMPT];
    for (int i = 0; i < E2E_PROMPT; i++) toks[i] = (i * 7919) % v->m.cfg.vocab;
    struct fwd_seq s = {toks, E2E_PROMPT, 0, v->kb.view, false, false};
    forward_batch(&v->fw, &s, 1, v->logits);
    int32_t tok = 1;
    uint64_t t0 = now_ns();
    for (int i = 0; i < E2E_DECODE; i++) {
        struct fwd_seq d = {&tok, 1, E2E_PROMPT + i, v->kb.view, false, true};
        forward_batch(&v->fw, &d, 1, v->logits);
        tok = (int32_t)((tok * 31 + 7) % v->m.cfg.vocab);
    }
    return E2E_DECODE / ((now_ns() - t0) / 1e9);
}

/* Matrix bytes a decode step streams (the linear weights and the head). */
static double step_weight_bytes(const struct model *m)
{
    double b = weight_bytes(&m->output);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        b += weight_bytes(&L->wq) + weight_bytes(&L->wk) + weight_bytes(&L->wv) + weight_bytes(&L->wo) +
             weight_bytes(&L->w_gate) + weight_bytes(&L->w_up) + weight_bytes(&L->w_down);
    }
    return b;
}

static void run_variants(const char *title, struct variant *v, int n)
{
    double tok[8][16], ratio[8][16], med_tok[8], med_ratio[8];
    for (int i = 0; i < n; i++) variant_open(&v[i]);
    for (int i = 0; i < n; i++) decode_tok_s(&v[i]);   /* warm */
    int rounds = g_rounds < 5 ? g_rounds : 5;
    for (int r = 0; r < rounds; r++)          /* each round starts with the next variant */
        for (int j = 0; j < n; j++) {
            int i = (j + r) % n;
            tok[i][r] = decode_tok_s(&v[i]);
        }
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < rounds; r++) ratio[i][r] = tok[i][r] / tok[0][r];
        double t[16];
        memcpy(t, tok[i], sizeof t);
        med_tok[i] = bench_median(t, rounds);
        med_ratio[i] = bench_median(ratio[i], rounds);
    }
    printf("\n%s — decode, %d threads, prompt %d, %d decode steps, %d alternating rounds, medians\n", title,
           g_threads, E2E_PROMPT, E2E_DECODE, rounds);
    printf("  %-26s %12s %10s %12s\n", "variant", "weights MB", "tok/s", "vs first");
    for (int i = 0; i < n; i++)
        printf("  %-26s %12.1f %10.1f %11.2fx\n", v[i].label, step_weight_bytes(&v[i].m) / 1e6, med_tok[i],
               med_ratio[i]);
    for (int i = 0; i < n; i++) variant_close(&v[i]);
}

static void prune(struct variant *v, enum dtype values)
{
    char err[256];
    struct sparsity_opts o = {SPARSITY_MAGNITUDE, false, values, NULL, NULL};
    if (sparsity_apply(&v->m, &o, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sparse: %s: %s\n", v->label, err);
        exit(1);
    }
}

/* Every linear weight of m re-encoded densely as t (the "dense f16" baseline of a GGUF). */
static void densify(struct model *m, enum dtype t)
{
    /* reuse the 2:4 machinery's ownership by pruning nothing: simplest is a
     * private copy per weight, freed with the process (a benchmark). */
    for (int l = 0; l < m->cfg.n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) {
            struct weight *w = ws[i];
            size_t ob = dtype_row_bytes(t, w->cols);
            char *out = xmalloc(ob * (size_t)w->rows);
            float *row = xmalloc(sizeof(float) * (size_t)w->cols);
            for (int r = 0; r < w->rows; r++) {
                dtype_decode_row(w->type, (const char *)w->data + (size_t)r * weight_row_stride(w), row, w->cols);
                dtype_encode_row(t, row, out + (size_t)r * ob, w->cols);
            }
            free(row);
            w->data = out;   /* leaked on purpose: the GGUF release frees only its mapping */
            w->type = t;
            w->row_stride = 0;
        }
    }
}

static void load(struct variant *v, const char *label, const char *spec, enum dtype wt)
{
    char err[512];
    v->label = label;
    if (model_load(&v->m, spec, wt, 1, g_threads, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sparse: %s\n", err);
        exit(1);
    }
}

static void end_to_end(const char *gguf)
{
    struct variant v[4];
    memset(v, 0, sizeof v);
    load(&v[0], "f16 dense", "synth:smollm2-135m", DT_F16);
    load(&v[1], "2:4 f16 (s24_f16)", "synth:smollm2-135m", DT_F16);
    prune(&v[1], DT_F16);
    load(&v[2], "q8_0 dense", "synth:smollm2-135m", DT_Q8_0);
    load(&v[3], "2:4 int8 (s24_q8)", "synth:smollm2-135m", DT_Q8_0);
    prune(&v[3], DT_Q8_0);
    run_variants("synth:smollm2-135m", v, 4);

    memset(v, 0, sizeof v);
    load(&v[0], "as shipped (dense)", gguf, DT_F32);
    load(&v[1], "f16 dense", gguf, DT_F32);
    densify(&v[1].m, DT_F16);
    load(&v[2], "2:4 f16 (s24_f16)", gguf, DT_F32);
    prune(&v[2], DT_F16);
    load(&v[3], "2:4 int8 (s24_q8)", gguf, DT_F32);
    prune(&v[3], DT_Q8_0);
    run_variants(gguf, v, 4);
}

/* ---- quality ---- */

#define Q_TOKENS 256

/* Logits [n][vocab] of every position of toks[0..n) on v's model. */
static float *all_logits(struct variant *v, const int32_t *toks, int n)
{
    char err[256];
    int V = v->m.cfg.vocab;
    struct backend *be = cpu_backend_create(g_threads, g_simd);
    struct forward fw;
    struct bench_kv kb;
    bench_kv_init(&kb, &v->m.cfg, n);
    float *lg = xmalloc(sizeof(float) * (size_t)n * V);
    if (!be || model_upload(&v->m, be) < 0 || forward_init(&fw, &v->m, be, n, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sparse: %s: %s\n", v->label, err);
        exit(1);
    }
    struct fwd_seq s = {toks, n, 0, kb.view, true, false};
    forward_batch(&fw, &s, 1, lg);
    forward_free(&fw);
    backend_destroy(be);
    bench_kv_free(&kb);
    return lg;
}

/* log-softmax of row x[V] into out. */
static void log_softmax(const float *x, double *out, int V)
{
    double mx = x[0], sum = 0;
    for (int i = 1; i < V; i++) mx = fmax(mx, x[i]);
    for (int i = 0; i < V; i++) sum += exp(x[i] - mx);
    for (int i = 0; i < V; i++) out[i] = x[i] - mx - log(sum);
}

static int argmax(const float *x, int V)
{
    int b = 0;
    for (int i = 1; i < V; i++) if (x[i] > x[b]) b = i;
    return b;
}

static void quality(const char *gguf)
{
    FILE *f = fopen("README.md", "rb");
    char text[16384];
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    struct variant base = {0}, pr = {0};
    load(&base, "as shipped", gguf, DT_F32);
    load(&pr, "2:4-magnitude f16", gguf, DT_F32);
    prune(&pr, DT_F16);
    int32_t toks[4096];
    int n = base.m.tok ? tokenizer_encode(base.m.tok, text, len, tokenizer_add_bos(base.m.tok), false, toks, 4096) : 0;
    if (n < 32) { printf("\nquality: skipped (no README.md text or tokenizer)\n"); return; }
    if (n > Q_TOKENS) n = Q_TOKENS;
    int V = base.m.cfg.vocab;
    float *a = all_logits(&base, toks, n), *b = all_logits(&pr, toks, n);
    double *la = xmalloc(sizeof(double) * V), *lb = xmalloc(sizeof(double) * V);
    double kld = 0, nll_a = 0, nll_b = 0;
    int same = 0;
    for (int t = 0; t < n - 1; t++) {
        const float *xa = a + (size_t)t * V, *xb = b + (size_t)t * V;
        log_softmax(xa, la, V);
        log_softmax(xb, lb, V);
        double k = 0;
        for (int i = 0; i < V; i++) k += exp(la[i]) * (la[i] - lb[i]);
        kld += k;
        nll_a -= la[toks[t + 1]];
        nll_b -= lb[toks[t + 1]];
        same += argmax(xa, V) == argmax(xb, V);
    }
    int np = n - 1;
    printf("\nquality, %s, %d positions of README.md (a small text: read the ratios), 2:4-magnitude f16 vs as shipped\n",
           gguf, np);
    printf("  mean KLD(shipped || 2:4) %.3f nats, same top-1 %.1f%%, text perplexity %.1f shipped vs %.1f 2:4 (x%.2f)\n",
           kld / np, 100.0 * same / np, exp(nll_a / np), exp(nll_b / np), exp((nll_b - nll_a) / np));
    free(a); free(b); free(la); free(lb);
    model_free(&base.m);
    model_free(&pr.m);
}

int main(int argc, char **argv)
{
    const char *gguf = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    bool quick = false, kernels_only = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) g_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--kernels")) kernels_only = true;
        else if (!strcmp(argv[i], "--simd") && i + 1 < argc) {
            const char *l = argv[++i];
            int lvl = !strcmp(l, "scalar") ? CPU_SIMD_SCALAR : !strcmp(l, "avx2") ? CPU_SIMD_AVX2
                    : !strcmp(l, "avx512") ? CPU_SIMD_AVX512 : -1;
            if (lvl < 0) { fprintf(stderr, "bench_sparse: --simd: expected scalar, avx2 or avx512, got '%s'\n", l); return 2; }
            g_simd = (enum cpu_simd)lvl;
        } else if (!strcmp(argv[i], "--values") && i + 1 < argc) {
            const char *v = argv[++i];
            g_values = !strcmp(v, "f16") ? 0 : !strcmp(v, "f32") ? 1 : !strcmp(v, "int8") ? 2 : -2;
            if (g_values < -1) { fprintf(stderr, "bench_sparse: --values: expected f16, f32 or int8, got '%s'\n", v); return 2; }
        } else gguf = argv[i];
    }
    if (g_threads < 1 || g_threads > 64) { fprintf(stderr, "bench_sparse: --threads: expected 1..64\n"); return 2; }
    if (quick) g_rounds = 3;
    if (getenv("BENCH_SPARSE_QUALITY_ONLY")) { quality(gguf); return 0; }
    struct backend *be = cpu_backend_create(g_threads, g_simd);
    printf("bench_sparse: %s; 2:4 = kept values + 2-bit indices (kernels/sparse24.h)\n", be->device_name);
    double bw = read_bandwidth();
    printf("read bandwidth (STREAM-style sum over 256 MiB, %d threads), measured now: %.1f GB/s\n", g_threads, bw);
    matvec_table(be, bw);
    batch_sweep(be);
    backend_destroy(be);
    if (kernels_only) return 0;
    end_to_end(gguf);
    quality(gguf);
    return 0;
}
