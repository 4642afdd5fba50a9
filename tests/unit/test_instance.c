/* Model instances and the seams under them: the one-instance engine keeps its
 * tokens, layer-range stages compose to the whole forward, weight shards
 * compose to the unsplit matmul, CPU virtual devices match one device, and a
 * shape-only model costs (almost) nothing and refuses to run. */
#include "core/engine/engine.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/formats.h"
#include "kernels/registry.h"

#include <criterion/criterion.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1      /* ASan's allocator is invisible to glibc's mallinfo2 */
#else
#define UNDER_ASAN 0
#endif

/* ---- the one-instance engine generates exactly what it did before ---- */

static const char *SCENARIO =
    "[scenario]\nname = instance-test\nseed = 3\nrequests = 10\n"
    "[arrival]\nprocess = all\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 40\n"
    "[output]\ndist = uniform\nmin = 3\nmax = 20\n"
    "[prefix]\ngroups = 2\nlength = 16\n";

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h;
}

/* FNV-1a over every request's whole context after a greedy run on synth:tiny. */
static uint64_t engine_tokens_hash(const char *opts)
{
    char err[256];
    struct model m;
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    struct backend *be = cpu_backend_create(2, CPU_SIMD_AMX);
    cr_assert_not_null(be);
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, opts, err, sizeof err), 0, "%s", err);
    cr_assert_eq(scenario_parse_buffer("test.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, &m, be, &w, err, sizeof err), 0, "%s", err);
    int guard = 0;
    while (engine_step(&e, 0.01) >= 0 && guard++ < 100000) {}
    cr_assert(!e.failed, "%s", e.error);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < e.sched.n_reqs; i++)
        h = fnv(e.sched.reqs[i].tokens, (size_t)e.sched.reqs[i].n_tokens * sizeof(int32_t), h);
    engine_free(&e);
    workload_free(&w);
    backend_destroy(be);
    model_free(&m);
    return h;
}

/* FNV-1a of every request's tokens, recorded on main before the engine held
 * instances (commit be44805, the same scenario and weights): the one-target
 * engine must reproduce them bit for bit, greedy and sampled. */
Test(instance, one_target_engine_keeps_greedy_tokens)
{
    static const struct { const char *opts; uint64_t hash; } RUNS[] = {
        {"kv_dtype=f32 batching=continuous", 0x8e2606daf050461dull},
        {"kv_dtype=f16 batching=continuous", 0x8e2606daf050461dull},
        {"kv_dtype=f32 kv=paged block=8 kv_blocks=14 prefix_cache=off admission=watermark", 0x8e2606daf050461dull},
        {"kv_dtype=f32 kv=paged block=8 kv_blocks=14 prefix_cache=off admission=reserve", 0x8e2606daf050461dull},
        {"kv_dtype=f16 kv=contiguous max_seq=80 batching=static max_batch=4", 0x8e2606daf050461dull},
        {"kv_dtype=f32 temperature=0.9 top_k=40 top_p=0.95 seed=7", 0xa9de96ca4cc6a437ull},
    };
    for (size_t i = 0; i < sizeof RUNS / sizeof RUNS[0]; i++) {
        uint64_t h = engine_tokens_hash(RUNS[i].opts);
        cr_assert_eq(h, RUNS[i].hash, "%s: tokens hash 0x%016llx, was 0x%016llx", RUNS[i].opts,
                     (unsigned long long)h, (unsigned long long)RUNS[i].hash);
    }
}

Test(instance, engine_holds_one_target_on_its_backend)
{
    char err[256];
    struct model m;
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AMX);
    options_defaults(&o);
    cr_assert_eq(scenario_parse_buffer("test.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, &m, be, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(e.n_inst, 1);
    cr_assert_eq(e.target, &e.inst[0]);
    cr_assert_eq(e.target->role, KROLE_TARGET);
    cr_assert_str_eq(kernel_role_name(e.target->role), "target");
    cr_assert_eq(engine_backend(&e), be);
    cr_assert_eq(engine_model(&e), &m);
    cr_assert_eq(e.sched.kv, e.target->kv, "the scheduler plans against the target's pool");
    cr_assert_eq(e.target->l0, 0);
    cr_assert_eq(e.target->l1, m.cfg.n_layers);
    cr_assert_eq(kvcache_get_config(e.target->kv)->n_layers, m.cfg.n_layers);
    cr_assert_eq(be->log, &e.target->log);
    cr_assert_eq(engine_step(&e, 0.01), 1);
    cr_assert_gt(engine_kernel_log(&e)->n, 0, "the step's records are in the target's log");
    engine_free(&e);
    cr_assert_null(be->log, "engine_free unbinds the log");
    workload_free(&w);
    backend_destroy(be);
    model_free(&m);
}

/* ---- layer ranges: stage [0, L/2) then [L/2, L) == the whole forward ---- */

/* A GQA 6:2 shape with an odd layer count, so the halves are unequal. */
static const struct model_config GQA5 = {"gqa5", "llama", 96, 5, 6, 2, 16, 160, 300, 256, 1e-5f,
                                         {10000, 0, 0, 0, 0}, false};

static struct instance_spec spec_for(struct model *m, struct backend *be, int l0, int l1)
{
    struct instance_spec sp = {
        .role = KROLE_TARGET, .m = m, .l0 = l0, .l1 = l1, .max_tokens = 64,
        .kv = {.kind = KV_PAGED, .block_size = 8, .n_blocks = 32, .max_seq = 64, .max_requests = 4},
    };
    device_group_one(&sp.group, be);
    return sp;
}

/* Two sequences (ids 0, 1) in every instance: reserve room for the step's
 * tokens and fill their KV views for instance `in`. */
static void stage_seqs(struct model_instance *in, struct fwd_seq *q, const int32_t *const toks[2],
                       const int pos0[2], const int n[2], bool admit)
{
    for (int s = 0; s < 2; s++) {
        if (admit) cr_assert_geq(kvcache_admit(in->kv, s, NULL, 0, 64), 0);
        cr_assert_eq(kvcache_append(in->kv, s, n[s]), KVC_OK);
        q[s] = (struct fwd_seq){toks[s] + pos0[s], n[s], pos0[s], {0}, false, pos0[s] > 0};
        cr_assert_eq(kvcache_view(in->kv, s, &q[s].kv), KVC_OK);
    }
}

static void check_stages_compose(const struct model_config *cfg, enum dtype wt)
{
    char err[256];
    struct model m;
    cr_assert_eq(model_synth(&m, cfg, wt, 3, 2, err, sizeof err), 0, "%s", err);
    struct backend *be = cpu_backend_create(2, CPU_SIMD_AMX);
    int L = cfg->n_layers, half = L / 2, V = cfg->vocab, D = cfg->dim;
    struct model_instance whole, a, b;
    struct instance_spec sw = spec_for(&m, be, 0, 0), sa = spec_for(&m, be, 0, half), sb = spec_for(&m, be, half, L);
    sb.stage = 1;
    cr_assert_eq(instance_init(&whole, &sw, err, sizeof err), 0, "%s", err);
    cr_assert_eq(instance_init(&a, &sa, err, sizeof err), 0, "%s", err);
    cr_assert_eq(instance_init(&b, &sb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(kvcache_get_config(a.kv)->n_layers, half, "a stage's pool holds its layers only");
    cr_assert_eq(kvcache_get_config(b.kv)->n_layers, L - half);
    cr_assert_null(a.fw.logits, "no head buffer before the last layer");

    static const int32_t t0[12] = {5, 77, 200, 2, 41, 9, 128, 33, 64, 250, 7, 1};
    static const int32_t t1[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12};
    const int32_t *const toks[2] = {t0, t1};
    float *lw = malloc(2 * (size_t)V * sizeof(float)), *ls = malloc(2 * (size_t)V * sizeof(float));
    float *hidden = malloc(64 * (size_t)D * sizeof(float));
    /* prefill 7 and 4 tokens, then three decode steps of one token each */
    int pos0[2] = {0, 0}, n[2] = {7, 4};
    for (int step = 0; step < 4; step++) {
        struct fwd_seq qw[2], qa[2], qb[2];
        stage_seqs(&whole, qw, toks, pos0, n, step == 0);
        stage_seqs(&a, qa, toks, pos0, n, step == 0);
        stage_seqs(&b, qb, toks, pos0, n, step == 0);
        cr_assert_eq(instance_forward(&whole, qw, 2, NULL, lw), 2);
        cr_assert_eq(instance_forward(&a, qa, 2, hidden, NULL), n[0] + n[1], "a stage returns its tokens");
        cr_assert_eq(instance_forward(&b, qb, 2, hidden, ls), 2);
        cr_assert_gt(b.log.n, 0);
        cr_assert_eq(b.log.recs[0].stage, 1, "stage b's records carry its stage tag");
        cr_assert_eq(a.log.recs[a.log.n - 1].stage, 0);
        kernel_log_clear(&a.log); kernel_log_clear(&b.log); kernel_log_clear(&whole.log);
        cr_assert(memcmp(lw, ls, 2 * (size_t)V * sizeof(float)) == 0,
                  "%s %s step %d: staged logits differ from the whole forward", cfg->name,
                  dtype_info(wt)->name, step);
        for (int s = 0; s < 2; s++) { pos0[s] += n[s]; n[s] = 1; }
    }
    /* the same split inside one forward: forward_stage over the whole instance */
    struct fwd_seq qw[2];
    stage_seqs(&whole, qw, toks, pos0, n, false);
    cr_assert_eq(forward_stage(&whole.fw, 0, half, FWD_EMBED, qw, 2, hidden, NULL), 2);
    cr_assert_eq(forward_stage(&whole.fw, half, L, FWD_HEAD, qw, 2, hidden, ls), 2);
    struct fwd_seq qa[2], qb[2];
    stage_seqs(&a, qa, toks, pos0, n, false);
    stage_seqs(&b, qb, toks, pos0, n, false);
    cr_assert_eq(instance_forward(&a, qa, 2, hidden, NULL), 2);
    cr_assert_eq(instance_forward(&b, qb, 2, hidden, lw), 2);
    cr_assert(memcmp(lw, ls, 2 * (size_t)V * sizeof(float)) == 0, "%s: split stages differ", cfg->name);
    free(lw); free(ls); free(hidden);
    instance_free(&whole); instance_free(&a); instance_free(&b);
    backend_destroy(be);
    model_free(&m);
}

Test(instance, layer_range_stages_equal_whole_forward_tiny) { check_stages_compose(&model_preset_find("tiny")->cfg, DT_F32); }
Test(instance, layer_range_stages_equal_whole_forward_gqa) { check_stages_compose(&GQA5, DT_F32); }
Test(instance, layer_range_stages_equal_whole_forward_q8) { check_stages_compose(&GQA5, DT_Q8_0); }

Test(instance, forward_stage_rejects_what_does_not_fit)
{
    char err[256];
    struct model m;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 3, 1, err, sizeof err), 0, "%s", err);
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AMX);
    struct model_instance a;
    struct instance_spec sp = spec_for(&m, be, 1, 3);
    sp.role = KROLE_DRAFT;
    cr_assert_eq(instance_init(&a, &sp, err, sizeof err), 0, "%s", err);
    static const int32_t t[4] = {1, 2, 3, 4};
    const int32_t *const toks[2] = {t, t};
    int pos0[2] = {0, 0}, n[2] = {2, 2};
    struct fwd_seq q[2];
    stage_seqs(&a, q, toks, pos0, n, true);
    float hidden[4 * 64], logits[2 * 512];
    cr_assert_eq(forward_stage(&a.fw, 1, 3, FWD_EMBED, q, 2, hidden, NULL), -1, "embed needs layer 0");
    cr_assert_eq(forward_stage(&a.fw, 1, 3, FWD_HEAD, q, 2, hidden, logits), -1, "head needs the last layer");
    cr_assert_eq(forward_stage(&a.fw, 1, 3, 0, q, 2, NULL, NULL), -1, "a middle stage needs hidden");
    cr_assert_eq(forward_stage(&a.fw, 0, 3, 0, q, 2, hidden, NULL), -1, "layer 0 is outside [1, 3)");
    cr_assert_eq(instance_forward(&a, q, 2, hidden, NULL), 4, "a middle stage: hidden in, hidden out");
    cr_assert_gt(a.log.n, 0);
    cr_assert_eq(a.log.recs[0].role, KROLE_DRAFT, "records carry the instance's role");
    cr_assert_eq(a.log.recs[0].layer, 1, "and the model layer, not the KV layer");
    instance_free(&a);
    struct instance_spec bad = spec_for(&m, be, 3, 2);
    cr_assert_eq(instance_init(&a, &bad, err, sizeof err), -1);
    cr_assert(strstr(err, "layers [3, 2)") != NULL, "%s", err);
    backend_destroy(be);
    model_free(&m);
}

/* ---- shards: the Megatron MLP pair over split weights == the unsplit product ---- */

static float frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / (float)0x800000 - 1.0f;
}

/* W[rows][cols] in format t from uniform values in [-amp, amp). */
static struct weight rand_weight(enum dtype t, int rows, int cols, float amp, uint64_t seed, const char *name)
{
    struct weight w = {.type = t, .rows = rows, .cols = cols};
    snprintf(w.name, sizeof w.name, "%s", name);
    w.data = malloc(weight_bytes(&w));
    float *row = malloc((size_t)cols * sizeof *row);
    cr_assert(w.data && row);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) row[c] = amp * frand(&seed);
        dtype_encode_row(t, row, (uint8_t *)w.data + (size_t)r * dtype_row_bytes(t, cols), cols);
    }
    free(row);
    return w;
}

/* A dense copy of a (possibly strided) weight view. */
static struct weight dense_copy(const struct weight *v)
{
    struct weight d = {.type = v->type, .rows = v->rows, .cols = v->cols};
    size_t rb = dtype_row_bytes(v->type, v->cols);
    d.data = malloc(weight_bytes(&d));
    cr_assert_not_null(d.data);
    for (int r = 0; r < v->rows; r++)
        memcpy((uint8_t *)d.data + (size_t)r * rb, (const uint8_t *)v->data + (size_t)r * weight_row_stride(v), rb);
    return d;
}

static void check_megatron_pair(enum dtype t, double tol)
{
    enum { M = 5, D = 64, F = 256, P = 2 };   /* x [M][D], W1 [F][D], W2 [D][F], P shards */
    char err[256];
    struct backend *be = cpu_backend_create(2, CPU_SIMD_AMX);
    struct weight w1 = rand_weight(t, F, D, 0.125f, 1, "w1"), w2 = rand_weight(t, D, F, 0.0625f, 2, "w2");
    uint64_t s = 3;
    float x[M * D], h[M * F], y[M * D], hk[M * F / P], yk[M * D], ysum[M * D] = {0}, yd[M * D];
    for (int i = 0; i < M * D; i++) x[i] = frand(&s);
    backend_matmul(be, h, &w1, x, M);        /* unsplit: y = (x · W1ᵀ) · W2ᵀ */
    backend_matmul(be, y, &w2, h, M);
    for (int k = 0; k < P; k++) {
        struct weight r1, c2;
        cr_assert_eq(weight_shard(&r1, &w1, SHARD_ROWS, k * F / P, F / P, err, sizeof err), 0, "%s", err);
        cr_assert_eq(weight_shard(&c2, &w2, SHARD_COLS, k * F / P, F / P, err, sizeof err), 0, "%s", err);
        cr_assert_eq(r1.rows, F / P); cr_assert_eq(r1.full_rows, F); cr_assert_eq(r1.shard_offset, k * F / P);
        cr_assert_eq(c2.cols, F / P); cr_assert_eq(c2.full_cols, F); cr_assert_eq(c2.shard_dim, SHARD_COLS);
        cr_assert_eq(r1.data, (uint8_t *)w1.data + (size_t)k * (F / P) * dtype_row_bytes(t, D), "row shard: zero copy");
        cr_assert_eq(c2.data, (uint8_t *)w2.data + dtype_row_bytes(t, k * F / P), "column shard: zero copy");
        backend_matmul(be, hk, &r1, x, M);   /* column-parallel: this shard's slice of h */
        for (int i = 0; i < M; i++)
            cr_assert(memcmp(hk + i * (F / P), h + i * F + k * (F / P), sizeof(float) * (F / P)) == 0,
                      "%s row shard %d: h slice differs", dtype_info(t)->name, k);
        backend_matmul(be, yk, &c2, hk, M);  /* row-parallel: a partial sum of y */
        struct weight c2d = dense_copy(&c2);
        backend_matmul(be, yd, &c2d, hk, M);
        cr_assert(memcmp(yk, yd, sizeof yk) == 0, "%s column shard %d: strided view != dense copy",
                  dtype_info(t)->name, k);
        free(c2d.data);
        for (int i = 0; i < M * D; i++) ysum[i] += yk[i];   /* the all-reduce */
    }
    double mx = 0, scale = 0;
    for (int i = 0; i < M * D; i++) { mx = fmax(mx, fabs(ysum[i] - y[i])); scale = fmax(scale, fabs(y[i])); }
    cr_assert(scale > 0 && mx / scale < tol, "%s: Σ shards vs unsplit: max err %g of %g", dtype_info(t)->name, mx, scale);
    free(w1.data); free(w2.data);
    backend_destroy(be);
}

Test(instance, shards_megatron_mlp_pair_f32) { check_megatron_pair(DT_F32, 1e-5); }
Test(instance, shards_megatron_mlp_pair_q8_0) { check_megatron_pair(DT_Q8_0, 1e-5); }
Test(instance, shards_megatron_mlp_pair_q4_0) { check_megatron_pair(DT_Q4_0, 1e-5); }

Test(instance, shard_checks_its_bounds_and_blocks)
{
    char err[256];
    struct weight q = {.type = DT_Q8_0, .rows = 8, .cols = 64, .name = "blk.0.ffn_down.weight"}, v, vv;
    cr_assert_eq(weight_shard(&v, &q, SHARD_COLS, 16, 32, err, sizeof err), -1);
    cr_assert(strstr(err, "q8_0 block") && strstr(err, "multiples of 32"), "%s", err);
    cr_assert_eq(weight_shard(&v, &q, SHARD_COLS, 32, 32, err, sizeof err), 0, "%s", err);
    cr_assert_null(v.data, "a shard of a shape-only weight has shapes only");
    cr_assert_eq(weight_row_stride(&v), dtype_row_bytes(DT_Q8_0, 64), "stride of the full row");
    cr_assert(!weight_is_dense(&v));
    cr_assert_eq(weight_bytes(&v), 8 * dtype_row_bytes(DT_Q8_0, 32));
    cr_assert_eq(weight_shard(&vv, &v, SHARD_ROWS, 0, 4, err, sizeof err), -1, "no shard of a shard");
    cr_assert_eq(weight_shard(&v, &q, SHARD_ROWS, 6, 3, err, sizeof err), -1);
    cr_assert(strstr(err, "rows [6, 9) out of range"), "%s", err);
    cr_assert_eq(weight_shard(&v, &q, SHARD_ROWS, 3, 5, err, sizeof err), 0, "rows: any offset, any format");
    cr_assert(weight_is_dense(&v));
}

/* ---- CPU virtual devices ---- */

struct vdev_job {
    struct backend *be;
    struct weight w;
    const float *x;
    float *y;
    int m;
};

static void *vdev_run(void *p)
{
    struct vdev_job *j = p;
    backend_matmul(j->be, j->y, &j->w, j->x, j->m);
    return NULL;
}

/* N devices, each driven by its own thread at once, each a row shard of W:
 * together they give exactly the single device's product. */
static void check_vdevs(enum dtype t, int n_dev)
{
    enum { M = 6, N = 96, K = 128 };
    char err[256];
    struct backend *devs[BACKEND_GROUP_MAX], *one = cpu_backend_create(2, CPU_SIMD_AMX);
    cr_assert_eq(backend_create_group("cpu", n_dev, 2, devs, err, sizeof err), 0, "%s", err);
    struct weight w = rand_weight(t, N, K, 0.1f, 9, "w");
    uint64_t s = 5;
    float x[M * K], y1[M * N], yk[BACKEND_GROUP_MAX][M * N];
    for (int i = 0; i < M * K; i++) x[i] = frand(&s);
    backend_matmul(one, y1, &w, x, M);
    struct vdev_job jobs[BACKEND_GROUP_MAX];
    pthread_t th[BACKEND_GROUP_MAX];
    int rows = N / n_dev;
    for (int k = 0; k < n_dev; k++) {
        cr_assert_eq(devs[k]->device, k);
        cr_assert_eq(devs[k]->n_threads, 2 / n_dev + (k < 2 % n_dev) > 0 ? 2 / n_dev + (k < 2 % n_dev) : 1);
        jobs[k] = (struct vdev_job){devs[k], {0}, x, yk[k], M};
        cr_assert_eq(weight_shard(&jobs[k].w, &w, SHARD_ROWS, k * rows, rows, err, sizeof err), 0, "%s", err);
        cr_assert_eq(pthread_create(&th[k], NULL, vdev_run, &jobs[k]), 0);
    }
    for (int k = 0; k < n_dev; k++) pthread_join(th[k], NULL);
    /* float formats: bit for bit. Block formats: a device's share of rows
     * changes which rows take the 4x4 register tile and which the pair loop
     * (kernels/cpu/cpu_matmul.c), the same sum in another order. */
    double tol = dtype_info(t)->block_elems > 1 ? 1e-6 : 0;
    for (int k = 0; k < n_dev; k++)
        for (int i = 0; i < M; i++)
            for (int r = 0; r < rows; r++) {
                float got = yk[k][i * rows + r], want = y1[i * N + k * rows + r];
                cr_assert(fabs(got - want) <= tol * (1 + fabs(want)), "%s: device %d of %d, y[%d][%d] = %g, "
                          "one device %g", dtype_info(t)->name, k, n_dev, i, k * rows + r, got, want);
            }
    for (int k = 0; k < n_dev; k++) backend_destroy(devs[k]);
    backend_destroy(one);
    free(w.data);
}

Test(instance, cpu_virtual_devices_match_one_device)
{
    check_vdevs(DT_F32, 2);
    check_vdevs(DT_F16, 3);
    check_vdevs(DT_Q4_1, 4);
}

Test(instance, cpu_virtual_devices_split_threads_and_own_allocations)
{
    struct backend *d[3];
    cr_assert_eq(cpu_backend_create_group(3, 7, CPU_SIMD_AMX, d), 0);
    cr_assert_eq(d[0]->n_threads, 3); cr_assert_eq(d[1]->n_threads, 2); cr_assert_eq(d[2]->n_threads, 2);
    cr_assert(strstr(d[1]->device_name, "vdev 1/3") != NULL, "%s", d[1]->device_name);
    size_t a0 = cpu_backend_allocated(d[0]), a1 = cpu_backend_allocated(d[1]);
    void *p = backend_alloc(d[0], 1 << 20);
    cr_assert_not_null(p);
    cr_assert_geq(cpu_backend_allocated(d[0]), a0 + (1 << 20));
    cr_assert_eq(cpu_backend_allocated(d[1]), a1, "device 1 does not see device 0's memory");
    backend_free(d[0], p);
    cr_assert_eq(cpu_backend_allocated(d[0]), a0);
    for (int k = 0; k < 3; k++) backend_destroy(d[k]);
}

Test(instance, registry_group_rejects_what_it_cannot_open)
{
    char err[256];
    struct backend *d[BACKEND_GROUP_MAX];
    cr_assert_eq(backend_create_group("cpu", 0, 2, d, err, sizeof err), -1);
    cr_assert(strstr(err, "expected 1..16"), "%s", err);
    cr_assert_eq(backend_create_group("tpu", 2, 2, d, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown 'tpu'"), "%s", err);
    if (backend_cuda_count() < 2) {
        cr_assert_eq(backend_create_group("cuda", 2, 2, d, err, sizeof err), -1);
        cr_assert(strstr(err, "device=cuda"), "%s", err);
    }
    cr_assert_eq(backend_create_group("auto", 1, 1, d, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d[0]->device, 0);
    backend_destroy(d[0]);
}

/* ---- shape-only weights ---- */

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Heap bytes in use by glibc's allocator (arena + mmap'd chunks). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

Test(instance, shape_only_llama2_70b_is_cheap_and_refuses_to_run)
{
    char err[256];
    const struct model_config *cfg = &model_preset_find("llama2-70b")->cfg;
    struct model m;
    size_t h0 = heap_in_use();
    double t0 = seconds();
    cr_assert_eq(model_synth_flags(&m, cfg, DT_F32, 1, 2, MODEL_SHAPES_ONLY, err, sizeof err), 0, "%s", err);
    double dt = seconds() - t0;
    size_t grew = heap_in_use() - h0;
    cr_assert_lt(dt, 1.0, "built in %.3f s", dt);
    cr_assert_lt(m.owned_bytes, (size_t)16 << 20, "owns %zu bytes", m.owned_bytes);
    cr_assert_gt(m.owned_bytes, 0, "the layer table is counted");
    if (!UNDER_ASAN) cr_assert_lt(grew, (size_t)16 << 20, "heap grew %zu bytes", grew);
    cr_assert(m.shapes_only);
    cr_assert(strstr(m.source, "shapes-only") != NULL, "%s", m.source);
    /* every shape and format is there: they add up to the formula's 70B parameters */
    double bytes = (double)weight_bytes(&m.tok_embd) + (double)weight_bytes(&m.output) + 4.0 * cfg->dim;
    for (int l = 0; l < cfg->n_layers; l++) {
        const struct layer_weights *L = &m.layers[l];
        const struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) {
            cr_assert_null(ws[i]->data);
            bytes += (double)weight_bytes(ws[i]);
        }
        bytes += 8.0 * cfg->dim;
    }
    cr_assert_float_eq(bytes, model_weight_bytes(cfg, DT_F32), 1.0);
    cr_assert_gt(bytes, 270e9, "%.0f bytes described, none allocated", bytes);
    cr_assert_eq(m.layers[79].w_down.rows, 8192);
    cr_assert_eq(m.layers[79].w_down.cols, 28672);
    cr_assert_eq(m.layers[0].wk.rows, 8 * 128);
    /* a shape-only model cannot run: a clear error, not a crash */
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AMX);
    struct forward f;
    cr_assert_eq(forward_init(&f, &m, be, 16, err, sizeof err), -1);
    cr_assert(strstr(err, "shapes only") && strstr(err, "llama2-70b"), "%s", err);
    cr_assert_eq(model_upload(&m, be), -1);
    struct model_instance in;
    struct instance_spec sp = spec_for(&m, be, 0, 0);
    cr_assert_eq(instance_init(&in, &sp, err, sizeof err), -1);
    cr_assert(strstr(err, "shapes only"), "%s", err);
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    options_defaults(&o);
    cr_assert_eq(scenario_parse_buffer("test.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, cfg->vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, &m, be, &w, err, sizeof err), -1);
    cr_assert(strstr(err, "shapes only"), "%s", err);
    workload_free(&w);
    backend_destroy(be);
    model_free(&m);
}

/* The measurement is real: the same probe sees a full model's weights. */
Test(instance, full_synth_is_counted_by_the_same_measurement)
{
    char err[256];
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    struct model m;
    size_t h0 = heap_in_use();
    cr_assert_eq(model_synth(&m, cfg, DT_F32, 1, 2, err, sizeof err), 0, "%s", err);
    size_t grew = heap_in_use() - h0;
    double want = model_weight_bytes(cfg, DT_F32);
    cr_assert_geq((double)m.owned_bytes, want, "owned %zu of %.0f", m.owned_bytes, want);
    cr_assert_lt((double)m.owned_bytes, want + 65536);
    if (!UNDER_ASAN) cr_assert_geq((double)grew, want, "heap grew %zu, weights are %.0f", grew, want);
    cr_assert(!m.shapes_only);
    model_free(&m);
}
