/* Tensor, pipeline and sequence parallelism (core/parallel) on CPU virtual
 * devices: greedy tokens identical to one device for every tp × pp × sp ×
 * micro_batches combination, paged and contiguous KV, continuous batching;
 * logits within 1e-4 (relative to their range) of one device's; exactly two
 * all-reduces per layer per forward (counted from the kernel records); the
 * vocab-parallel embedding (each rank V/N rows, zeros elsewhere) sums to the
 * lookup; the
 * measured pipeline bubble within 3 points of (p−1)/(m+p−1) with every
 * stage's work fixed by a hook. */
#include "core/engine/engine.h"
#include "core/parallel/parallel.h"
#include "core/parallel/tp.h"
#include "core/parallel/balance.h"
#include "core/workload/scenario.h"
#include "core/workload/workload.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/fixture_engine.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *SCENARIO =
    "[scenario]\nname = parallel-test\nseed = 3\nrequests = 8\n"
    "[arrival]\nprocess = poisson\nrate = 400\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 30\n"
    "[output]\ndist = uniform\nmin = 3\nmax = 12\n"
    "[prefix]\ngroups = 2\nlength = 16\n";

static struct model g_model;
static struct backend *g_be;

static void setup(void) { fixture_tiny_up(&g_model, &g_be, 2); }
static void teardown(void) { fixture_tiny_down(&g_model, g_be); }

static void make_engine(struct engine *e, struct workload *w, const char *opts, const char *scenario)
{
    fixture_engine(e, w, &g_model, g_be, opts, scenario);
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h;
}

/* Every request's whole context after a greedy run. */
static uint64_t tokens_hash(const char *opts)
{
    struct engine e;
    struct workload w;
    make_engine(&e, &w, opts, SCENARIO);
    int guard = 0;
    while (engine_step(&e, 0.01) >= 0 && guard++ < 100000) {}
    cr_assert(!e.failed, "%s: %s", opts, e.error);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < e.sched.n_reqs; i++)
        h = fnv(e.sched.reqs[i].tokens, (size_t)e.sched.reqs[i].n_tokens * sizeof(int32_t), h);
    engine_free(&e);
    workload_free(&w);
    return h;
}

Test(parallel, greedy_tokens_match_one_device_for_every_split, .init = setup, .fini = teardown)
{
    static const char *KV[] = {"kv=paged block=8 kv_dtype=f32", "kv=contiguous max_seq=64 kv_dtype=f16"};
    for (int k = 0; k < 2; k++) {
        char base[256], opts[320];
        snprintf(base, sizeof base, "%s batching=continuous max_batch=6", KV[k]);
        uint64_t want = tokens_hash(base);
        static const int TP[] = {1, 2, 4}, PP[] = {1, 2, 4}, MB[] = {1, 2, 4};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                for (int sp = 0; sp <= (TP[a] > 1); sp++)
                    for (int c = 0; c < 3; c++) {
                        if (TP[a] * PP[b] == 1 && MB[c] > 1) continue;
                        /* the full matrix on paged KV; contiguous KV on every tp × pp once */
                        if (k == 1 && (c != 1 || sp)) continue;
                        snprintf(opts, sizeof opts, "%s tp=%d pp=%d micro_batches=%d sp=%s", base, TP[a], PP[b],
                                 MB[c], sp ? "on" : "off");
                        uint64_t h = tokens_hash(opts);
                        cr_assert_eq(h, want, "%s: tokens differ from one device's", opts);
                    }
    }
}

/* The first step's logits (every prompt's last row) under opts (the host
 * sampler's path: with device_sampling the engine's logits stay unfilled on
 * one device). */
static float *first_logits(const char *opts, int *rows)
{
    struct engine e;
    struct workload w;
    make_engine(&e, &w, opts, "[scenario]\nname = l\nseed = 2\nrequests = 3\n[arrival]\nprocess = all\n"
                              "[prompt]\ndist = uniform\nmin = 7\nmax = 19\n[output]\ndist = fixed\nvalue = 4\n");
    while (engine_step(&e, 0.01) == 0) {}
    *rows = e.sched.n_items;
    size_t n = (size_t)*rows * g_model.cfg.vocab;
    float *out = malloc(n * sizeof *out);
    memcpy(out, e.logits, n * sizeof *out);
    engine_free(&e);
    workload_free(&w);
    return out;
}

Test(parallel, logits_within_tolerance_of_one_device, .init = setup, .fini = teardown)
{
    int rows, r2;
    float *ref = first_logits("kv_dtype=f32 device_sampling=off", &rows);
    float lo = ref[0], hi = ref[0];
    for (int i = 0; i < rows * g_model.cfg.vocab; i++) {
        lo = fminf(lo, ref[i]);
        hi = fmaxf(hi, ref[i]);
    }
    static const char *SPLITS[] = {"tp=2", "tp=4", "pp=2 micro_batches=3", "tp=2 pp=2 sp=on micro_batches=2",
                                   "tp=4 sp=on", "tp=2 pp=4"};
    for (size_t s = 0; s < sizeof SPLITS / sizeof SPLITS[0]; s++) {
        char opts[128];
        snprintf(opts, sizeof opts, "kv_dtype=f32 %s", SPLITS[s]);
        float *got = first_logits(opts, &r2);
        cr_assert_eq(r2, rows);
        double worst = 0;
        for (int i = 0; i < rows * g_model.cfg.vocab; i++) worst = fmax(worst, fabs(got[i] - ref[i]));
        /* stated tolerance: 1e-4 of the logits' range (float sums in another order) */
        cr_assert_leq(worst, 1e-4 * (hi - lo), "%s: logits differ by %g (range %g)", SPLITS[s], worst, hi - lo);
        free(got);
    }
    free(ref);
}

/* Records named prefix* per (device, layer) in the first step; outside the
 * layers: `outside` per micro-batch on every device, `embed` more on the first
 * stage's (the vocab-parallel embedding's sum over ranks). */
static void count_comm(const char *opts, const char *prefix, int per_layer, int outside, int embed)
{
    struct engine e;
    struct workload w;
    make_engine(&e, &w, opts, SCENARIO);
    while (engine_step(&e, 0.01) == 0) {}
    int L = g_model.cfg.n_layers, tp = (int)opt_i(&e.opt, OPT_TP), pp = (int)opt_i(&e.opt, OPT_PP);
    int mb = e.tel.par.mb_used;
    int counts[16][8] = {{0}}, out[16] = {0};
    const struct kernel_log *lg = engine_kernel_log(&e);
    for (int i = 0; i < lg->n; i++) {
        const struct kernel_record *k = &lg->recs[i];
        if (strncmp(k->name, prefix, strlen(prefix)) != 0) continue;
        cr_assert_eq(k->cls, OPC_COMM);
        if (k->layer < 0) out[k->device]++;
        else counts[k->device][k->layer]++;
    }
    for (int d = 0; d < tp * pp; d++) {
        int stage = d / tp, l0 = L * stage / pp, l1 = L * (stage + 1) / pp;
        for (int l = 0; l < L; l++) {
            int want = l >= l0 && l < l1 ? per_layer * mb : 0;
            cr_assert_eq(counts[d][l], want, "%s: device %d layer %d: %d %s records, expected %d", opts, d, l,
                         counts[d][l], prefix, want);
        }
        int want_out = (outside + (stage == 0 ? embed : 0)) * mb;
        cr_assert_eq(out[d], want_out, "%s: device %d: %d %s outside layers, expected %d", opts, d, out[d], prefix,
                     want_out);
    }
    engine_free(&e);
    workload_free(&w);
}

Test(parallel, two_all_reduces_per_layer_per_forward, .init = setup, .fini = teardown)
{
    /* + one all-reduce of the vocab-parallel embedding per forward on the first stage */
    count_comm("tp=2", "allreduce", 2, 0, 1);
    count_comm("tp=4 pp=2 micro_batches=2", "allreduce", 2, 0, 1);
    count_comm("tp=1 pp=2", "allreduce", 0, 0, 0);
    /* Megatron-SP: the all-reduce becomes an all-gather before and a reduce-scatter after each block,
     * plus the gather of the whole residual at the end of each stage; the embedding is
     * reduce-scattered to each rank's tokens */
    count_comm("tp=2 sp=on", "allreduce", 0, 0, 0);
    count_comm("tp=2 sp=on", "reducescatter", 2, 0, 1);
    count_comm("tp=2 sp=on", "allgather", 2, 1, 0);
}

/* Every stage's work: a fixed 10 ms (sleep, so contended cores do not stretch it). */
static void fixed_work(void *user, int stage, int mb)
{
    (void)user; (void)stage; (void)mb;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

Test(parallel, measured_bubble_matches_the_formula, .init = setup, .fini = teardown)
{
    static const char *EIGHT_AT_ONCE = "[scenario]\nname = b\nseed = 4\nrequests = 8\n[arrival]\nprocess = all\n"
                                       "[prompt]\ndist = fixed\nvalue = 6\n[output]\ndist = fixed\nvalue = 6\n";
    static const int P[] = {2, 4}, M[] = {1, 2, 4, 8};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 4; b++) {
            char opts[128];
            snprintf(opts, sizeof opts, "pp=%d micro_batches=%d max_batch=8", P[a], M[b]);
            struct engine e;
            struct workload w;
            make_engine(&e, &w, opts, EIGHT_AT_ONCE);
            par_set_stage_hook(e.par, fixed_work, NULL);
            double got[5];
            int n = 0;
            while (n < 5 && engine_step(&e, 0.01) >= 0) {
                if (e.tel.par.mb_used != M[b]) continue;
                got[n++] = e.tel.par.bubble;
            }
            cr_assert_eq(n, 5, "%s: %d steps with %d micro-batches", opts, n, M[b]);
            qsort(got, 5, sizeof got[0], cmp_double);
            double want = (double)(P[a] - 1) / (M[b] + P[a] - 1);
            cr_assert_eq(e.tel.par.bubble_formula, want);
            if (getenv("PAR_VERBOSE")) fprintf(stderr, "%s: bubble %.3f formula %.3f\n", opts, got[2], want);
            cr_assert(fabs(got[2] - want) <= 0.03, "%s: measured bubble %.3f (median of 5), formula %.3f", opts,
                      got[2], want);
            engine_free(&e);
            workload_free(&w);
        }
}

Test(parallel, bad_splits_name_the_option, .init = setup, .fini = teardown)
{
    static const struct { const char *opts, *msg; } BAD[] = {
        {"tp=3", "tp=3: tiny has 4 heads in 2 KV groups"},
        {"pp=5", "pp=5: tiny has 4 layers; expected pp <= 4"},
        {"sp=on", "sp=on: sequence parallelism"},
        {"tp=16 pp=2", "expected tp × pp <= 16"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char err[256];
        struct options o;
        struct scenario sc;
        struct workload w;
        struct engine e;
        options_defaults(&o);
        cr_assert_eq(options_set_list(&o, BAD[i].opts, err, sizeof err), 0, "%s", err);
        cr_assert_eq(scenario_parse_buffer("t.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0);
        cr_assert_eq(workload_generate(&sc, g_model.cfg.vocab, 0, &w, err, sizeof err), 0);
        cr_assert_eq(engine_init(&e, &o, &g_model, g_be, &w, err, sizeof err), -1, "%s", BAD[i].opts);
        cr_assert(strstr(err, BAD[i].msg), "%s: %s", BAD[i].opts, err);
        workload_free(&w);
    }
}

/* Vocab-parallel embedding: for N = 2 and 4 ranks over a prime vocabulary
 * (unequal shares) each rank's table is its V/N rows, its lookup of random tokens
 * (the first and last ids among them) is the full table's row for its tokens
 * and zeros for the others, and the sum over ranks is the full lookup exactly.
 * On q8_0 too (rows decoded per block). */
Test(parallel, vocab_parallel_embedding_sums_to_the_lookup, .init = setup, .fini = teardown)
{
    char err[256];
    const int m = 37;
    struct model f32, q8;
    struct model_config cfg = model_preset_find("tiny")->cfg;
    cfg.vocab = 509;                /* prime: 2 and 4 ranks get unequal shares */
    cr_assert_eq(model_synth(&f32, &cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&q8, &cfg, DT_Q8_0, 5, 2, err, sizeof err), 0, "%s", err);
    const struct model *models[2] = {&f32, &q8};
    for (int mi = 0; mi < 2; mi++) {
        const struct model *full = models[mi];
        int V = full->cfg.vocab, D = full->cfg.dim;
        int tok[37];
        srand(11 + mi);
        for (int i = 0; i < m; i++) tok[i] = rand() % V;
        tok[0] = 0;
        tok[1] = V - 1;
        float *ref = malloc(sizeof(float) * (size_t)m * D), *sum = calloc((size_t)m * D, sizeof(float)),
              *part = malloc(sizeof(float) * (size_t)m * D);
        backend_embed(g_be, ref, &full->tok_embd, tok, m);
        for (int tp = 2; tp <= (mi == 0 ? 4 : 2); tp += 2) {   /* q8_0: tp=4 would split wo blocks */
            memset(sum, 0, sizeof(float) * (size_t)m * D);
            int rows = 0;
            for (int r = 0; r < tp; r++) {
                struct model sh;
                struct tp_split sp;
                cr_assert_eq(tp_shard_model(&sh, full, tp, r, err, sizeof err), 0, "tp=%d: %s", tp, err);
                cr_assert_eq(tp_split_of(full, tp, r, &sp, err, sizeof err), 0);
                cr_assert_eq(sh.tok_embd.rows, sp.vocab_hi - sp.vocab_lo, "tp=%d rank %d holds its V/N rows", tp, r);
                rows += sh.tok_embd.rows;
                backend_embed(g_be, part, &sh.tok_embd, tok, m);
                for (int i = 0; i < m; i++) {
                    bool mine = tok[i] >= sp.vocab_lo && tok[i] < sp.vocab_hi;
                    for (int j = 0; j < D; j++) {
                        float want = mine ? ref[(size_t)i * D + j] : 0.0f;
                        cr_assert_eq(part[(size_t)i * D + j], want, "tp=%d rank %d token %d col %d", tp, r, tok[i], j);
                        sum[(size_t)i * D + j] += part[(size_t)i * D + j];
                    }
                }
                tp_shard_free(&sh);
            }
            cr_assert_eq(rows, V, "tp=%d: the shards cover the vocabulary once", tp);
            cr_assert_eq(memcmp(sum, ref, sizeof(float) * (size_t)m * D), 0, "tp=%d: the sum is the lookup", tp);
        }
        free(ref); free(sum); free(part);
    }
    model_free(&f32);
    model_free(&q8);
}

/* Brute force: the smallest max stage cost over every contiguous split. */
static double brute_best(const double *c, int L, double first, double last, int pp, int from, int s, double cur)
{
    if (s == pp - 1) {
        double t = (from == 0 ? first : 0) + last;
        for (int l = from; l < L; l++) t += c[l];
        return cur > t ? cur : t;
    }
    double best = 1e300;
    for (int to = from + 1; to <= L - (pp - 1 - s); to++) {
        double t = from == 0 ? first : 0;
        for (int l = from; l < to; l++) t += c[l];
        double m = brute_best(c, L, first, last, pp, to, s + 1, cur > t ? cur : t);
        if (m < best) best = m;
    }
    return best;
}

/* pp_balance=time's split: contiguous stages of >= 1 layer whose slowest
 * stage is as fast as brute force finds, on 300 random cost vectors
 * (L <= 9, pp <= 4, heavy heads included); a head worth 3 layers moves layers
 * off the last stage. */
Test(parallel, balanced_split_minimizes_the_slowest_stage, .init = setup, .fini = teardown)
{
    srand(5);
    for (int it = 0; it < 300; it++) {
        int L = 1 + rand() % 9, pp = 1 + rand() % (L < 4 ? L : 4);
        double c[9], first = (rand() % 100) / 50.0, last = (rand() % 400) / 50.0;
        for (int l = 0; l < L; l++) c[l] = 0.1 + (rand() % 100) / 40.0;
        int l0[4], l1[4];
        cr_assert_eq(par_balance_split(c, L, first, last, pp, l0, l1), 0);
        double worst = 0;
        for (int s = 0; s < pp; s++) {
            cr_assert(l0[s] < l1[s] && l0[s] == (s ? l1[s - 1] : 0), "it %d: stage %d [%d, %d)", it, s, l0[s], l1[s]);
            double t = (s == 0 ? first : 0) + (s == pp - 1 ? last : 0);
            for (int l = l0[s]; l < l1[s]; l++) t += c[l];
            if (t > worst) worst = t;
        }
        cr_assert_eq(l1[pp - 1], L);
        cr_assert_float_eq(worst, brute_best(c, L, first, last, pp, 0, 0, 0), 1e-9, "it %d: L=%d pp=%d", it, L, pp);
    }
    double even[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int l0[2], l1[2];
    cr_assert_eq(par_balance_split(even, 8, 0, 0, 2, l0, l1), 0);
    cr_assert(l1[0] == 4, "equal layers, no extras: an even split, got %d", l1[0]);
    cr_assert_eq(par_balance_split(even, 8, 0, 3, 2, l0, l1), 0);
    cr_assert(l1[0] == 6 || l1[0] == 5, "a head worth 3 layers: stage 1 keeps fewer layers, got [%d, 8)", l1[0]);
    cr_assert_eq(par_balance_split(even, 8, 0, 0, 9, l0, l1), -1, "more stages than layers");
}

/* pp_balance=time on a model whose head dwarfs its layers (tiny with a
 * 32768-word vocabulary): the measured split gives the last stage fewer
 * layers than the even one, the devices say so, and greedy tokens are those
 * of one device. */
Test(parallel, time_balanced_stages_move_layers_off_the_head_stage, .init = setup, .fini = teardown)
{
    char err[256];
    struct model big;
    struct model_config cfg = model_preset_find("tiny")->cfg;
    cfg.vocab = 32768;
    cr_assert_eq(model_synth(&big, &cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    struct model saved = g_model;
    g_model = big;
    uint64_t one = tokens_hash("tp=1");
    struct engine e;
    struct workload w;
    make_engine(&e, &w, "pp=2 pp_balance=time", SCENARIO);
    while (engine_step(&e, 0.01) == 0) {}
    const struct tel_parallel *t = &e.tel.par;
    cr_assert_eq(t->n_devices, 2);
    cr_assert(t->dev[0].l0 == 0 && t->dev[0].l1 == t->dev[1].l0 && t->dev[1].l1 == cfg.n_layers);
    cr_assert_lt(t->dev[1].l1 - t->dev[1].l0, cfg.n_layers / 2, "the head's stage has fewer layers: [%d, %d)",
                 t->dev[1].l0, t->dev[1].l1);
    engine_free(&e);
    workload_free(&w);
    cr_assert_eq(tokens_hash("pp=2 pp_balance=time"), one, "same greedy tokens as one device");
    cr_assert_eq(tokens_hash("tp=2 pp=2 micro_batches=2 pp_balance=time"), one);
    g_model = saved;
    model_free(&big);
}

Test(parallel, memory_and_activation_report_per_device, .init = setup, .fini = teardown)
{
    struct engine e;
    struct workload w;
    make_engine(&e, &w, "tp=2 pp=2 kv_dtype=f32", SCENARIO);
    while (engine_step(&e, 0.01) == 0) {}
    const struct tel_parallel *t = &e.tel.par;
    cr_assert_eq(t->n_devices, 4);
    cr_assert_str_eq(t->comm_algo, "ring");
    double w_sum = 0;
    for (int d = 0; d < 4; d++) {
        cr_assert_gt(t->dev[d].weight_bytes, 0);
        cr_assert_gt(t->dev[d].kv_bytes, 0);
        w_sum += t->dev[d].kv_bytes;
    }
    /* the pool is split, not copied: 4 shards hold what one device would */
    size_t one = kvcache_bytes_per_token(g_model.cfg.n_layers, g_model.cfg.n_kv_heads * g_model.cfg.head_dim, 4);
    cr_assert_float_eq(w_sum, (double)one * kvcache_pool_tokens(e.target->kv), 1);
    int M = 0;
    for (int k = 0; k < e.tel.n_items; k++) M += e.tel.items[k].n_tokens;
    cr_assert_float_eq(t->dev[0].resid_bytes, (double)M * g_model.cfg.dim * 4, 0.5);
    engine_free(&e);
    workload_free(&w);
    /* with sp each rank keeps its share of the tokens: B×(S/N)×D */
    make_engine(&e, &w, "tp=2 sp=on kv_dtype=f32", SCENARIO);
    while (engine_step(&e, 0.01) == 0) {}
    M = 0;
    for (int k = 0; k < e.tel.n_items; k++) M += e.tel.items[k].n_tokens;
    cr_assert_float_eq(e.tel.par.dev[0].resid_bytes, (double)(M / 2) * g_model.cfg.dim * 4, 0.5);
    cr_assert_float_eq(e.tel.par.dev[1].resid_bytes, (double)(M - M / 2) * g_model.cfg.dim * 4, 0.5);
    engine_free(&e);
    workload_free(&w);
}
