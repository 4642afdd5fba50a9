/* tests/unit/test_backend.c — the backend seam (kernels/backend.{h,c}): the op
 * list of kernels/ops_table.h, backend_supports, and the weight upload that
 * converts a format a backend cannot multiply. The conversion runs on the CPU
 * backend with a restricted supports() (a test-only copy of its vtable), so it
 * is checked on every machine, not only on a GPU. */
#include "core/model/forward.h"
#include "core/model/model.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/formats.h"
#include "kernels/registry.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static float rnd(void)   /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / (float)(1 << 23) - 1.0f;
}

/* Weight [rows][cols] of type t from random floats (encoded per row). */
static struct weight quant_weight(enum dtype t, int rows, int cols, const char *name)
{
    struct weight w = {.type = t, .rows = rows, .cols = cols};
    snprintf(w.name, sizeof w.name, "%s", name);
    w.data = malloc(weight_bytes(&w));
    float *row = malloc(sizeof *row * (size_t)cols);
    cr_assert(w.data && row);
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < cols; k++) row[k] = rnd();
        dtype_encode_row(t, row, (char *)w.data + (size_t)r * dtype_row_bytes(t, cols), cols);
    }
    free(row);
    return w;
}

/* wd[rows][cols]: w's host rows decoded, then rounded through `via` (the
 * format the backend was given): the values the converted copy holds. */
static double *decoded_through(const struct weight *w, enum dtype via)
{
    double *wd = malloc(sizeof *wd * (size_t)w->rows * w->cols);
    float *row = malloc(sizeof *row * (size_t)w->cols);
    uint16_t *h = malloc(sizeof *h * (size_t)w->cols);
    cr_assert(wd && row && h);
    for (int r = 0; r < w->rows; r++) {
        dtype_decode_row(w->type, (const char *)w->data + (size_t)r * dtype_row_bytes(w->type, w->cols),
                         row, w->cols);
        if (via == DT_F16) {
            dtype_encode_row(DT_F16, row, h, w->cols);
            dtype_decode_row(DT_F16, h, row, w->cols);
        }
        for (int k = 0; k < w->cols; k++) wd[(size_t)r * w->cols + k] = row[k];
    }
    free(row);
    free(h);
    return wd;
}

/* A CPU backend whose supports() answers `matmul` only for the formats in
 * mask (bit per dtype) — a stand-in for a device without quantized kernels. */
static uint32_t restricted_mask;
static struct backend_ops restricted_ops;

static bool restricted_supports(struct backend *be, enum backend_op op, enum dtype t)
{
    (void)be;
    if (op == OP_MATMUL || op == OP_EMBED) return (restricted_mask >> t) & 1u;
    return t == DT_F32 || ((op == OP_ATTENTION || op == OP_KV_STORE) && t == DT_F16);
}

static struct backend *restricted_cpu(uint32_t matmul_mask)
{
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    cr_assert_not_null(be);
    restricted_ops = *be->ops;
    restricted_ops.name = "restricted";
    restricted_ops.supports = restricted_supports;
    restricted_mask = matmul_mask;
    be->ops = &restricted_ops;
    return be;
}

/* Note sink: keeps the lines. */
static char notes[8][256];
static int n_notes;

static void keep_note(void *user, const char *line)
{
    (void)user;
    if (n_notes < 8) snprintf(notes[n_notes], sizeof notes[0], "%s", line);
    n_notes++;
}

/* ---- the op list ------------------------------------------------------ */

Test(backend_ops, op_ids_names_and_slots_follow_the_table)
{
    const char *want[] = {"matmul", "attention", "kv_store", "rmsnorm", "rope", "swiglu", "add", "embed",
                          "all_reduce", "all_gather", "reduce_scatter", "send", "recv"};
    cr_assert_eq(OP_COUNT, (int)(sizeof want / sizeof want[0]));
    for (int op = 0; op < OP_COUNT; op++)
        cr_assert_str_eq(backend_op_name((enum backend_op)op), want[op]);
    cr_assert_str_eq(backend_op_name(OP_COUNT), "?");
    /* the generated slots sit between download and sync, in table order */
    cr_assert_lt(offsetof(struct backend_ops, download), offsetof(struct backend_ops, matmul));
    cr_assert_lt(offsetof(struct backend_ops, matmul), offsetof(struct backend_ops, embed));
    cr_assert_lt(offsetof(struct backend_ops, embed), offsetof(struct backend_ops, sync));
}

Test(backend_ops, cpu_supports_what_it_runs)
{
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    cr_assert_not_null(be);
    for (int t = 0; t < DT_COUNT; t++) {
        cr_assert(backend_supports(be, OP_MATMUL, (enum dtype)t), "matmul %s", dtype_info(t)->name);
        cr_assert(backend_supports(be, OP_EMBED, (enum dtype)t), "embed %s", dtype_info(t)->name);
        bool kv = t == DT_F32 || t == DT_F16;
        cr_assert_eq(backend_supports(be, OP_ATTENTION, (enum dtype)t), kv, "attention %s", dtype_info(t)->name);
        cr_assert_eq(backend_supports(be, OP_KV_STORE, (enum dtype)t), kv);
        cr_assert_eq(backend_supports(be, OP_RMSNORM, (enum dtype)t), t == DT_F32);
        cr_assert_eq(backend_supports(be, OP_ADD, (enum dtype)t), t == DT_F32);
    }
    cr_assert_not(backend_supports(be, OP_MATMUL, DT_COUNT));
    backend_destroy(be);
}

Test(backend_ops, a_missing_slot_is_not_supported)
{
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    cr_assert_not_null(be);
    struct backend_ops ops = *be->ops;
    const struct backend_ops *orig = be->ops;
    ops.rope = NULL;
    be->ops = &ops;
    cr_assert_not(backend_supports(be, OP_ROPE, DT_F32));
    cr_assert(backend_supports(be, OP_ADD, DT_F32));
    be->ops = orig;
    backend_destroy(be);
}

/* The generated dispatcher runs the slot and logs one record named by the op. */
Test(backend_ops, dispatcher_runs_the_slot_and_logs_a_record)
{
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    struct kernel_log log;
    kernel_log_init(&log, 4);
    be->log = &log;
    log.layer = 3;
    float y[5] = {1, 2, 3, 4, 5}, x[5] = {10, 20, 30, 40, 50};
    backend_add(be, y, x, 5);
    cr_assert_float_eq(y[4], 55.0f, 0);
    cr_assert_eq(log.n, 1);
    cr_assert_str_eq(log.recs[0].name, "add");
    cr_assert_eq(log.recs[0].cls, OPC_ELTWISE);
    cr_assert_eq(log.recs[0].layer, 3);
    cr_assert_eq(log.recs[0].shape[0], 5);
    cr_assert_float_eq(log.recs[0].dram_rd, 40.0, 0);   /* two f32 inputs of 5 */
    cr_assert(log.recs[0].dur_measured);
    be->log = NULL;
    kernel_log_free(&log);
    backend_destroy(be);
}

/* ---- upload: in place, or converted ----------------------------------- */

/* device=cpu:LEVEL caps the CPU backend's SIMD level (how a run picks the
 * VNNI kernels over AMX); an unknown level is refused with the choices. */
Test(backend_ops, cpu_device_takes_a_simd_cap)
{
    char err[256];
    struct backend *be = backend_create("cpu:avx2", 1, err, sizeof err);
    cr_assert_not_null(be, "%s", err);
    cr_assert_leq(cpu_backend_simd(be), CPU_SIMD_AVX2);
    cr_assert(strstr(be->device_name, cpu_simd_name(cpu_backend_simd(be))), "%s", be->device_name);
    backend_destroy(be);
    be = backend_create("cpu", 1, err, sizeof err);
    cr_assert_not_null(be, "%s", err);
    cr_assert_eq(cpu_backend_simd(be), cpu_simd_detect(), "plain cpu runs the best level");
    backend_destroy(be);
    cr_assert_null(backend_create("cpu:sse9", 1, err, sizeof err));
    cr_assert(strstr(err, "cpu:scalar|avx2|avx512|amx"), "%s", err);
    enum cpu_simd s;
    cr_assert(cpu_simd_parse("amx", &s) && s == CPU_SIMD_AMX);
    cr_assert_not(cpu_simd_parse("vnni", &s));
}

Test(backend_upload, supported_format_is_left_in_place)
{
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    be->note = keep_note;
    n_notes = 0;
    struct weight w = quant_weight(DT_Q4_1, 4, 64, "blk.0.ffn_up.weight");
    cr_assert_eq(backend_upload_weight(be, &w), 0);
    cr_assert_null(w.dev);
    cr_assert_eq(weight_run_type(&w), DT_Q4_1);
    cr_assert_eq(n_notes, 0);
    free(w.data);
    backend_destroy(be);
}

/* y = x · Wᵀ on the converted copy vs the double-precision product with the
 * dequantized (then f16-rounded) weights, for every block format. */
static void check_converted_matmul(enum dtype t, uint32_t mask, enum dtype want_to)
{
    const int N = 19, m = 3;
    const int K = dtype_info(t)->block_elems == 256 ? 512 : 96;
    struct backend *be = restricted_cpu(mask);
    be->note = keep_note;
    n_notes = 0;
    struct weight w = quant_weight(t, N, K, "blk.7.attn_q.weight");
    void *host = malloc(weight_bytes(&w));
    cr_assert_not_null(host);
    memcpy(host, w.data, weight_bytes(&w));

    cr_assert_eq(backend_upload_weight(be, &w), 0);
    cr_assert_not_null(w.dev, "%s: no converted copy", dtype_info(t)->name);
    cr_assert_eq(w.dev_type, want_to);
    cr_assert_eq(w.type, t, "host format unchanged");
    cr_assert_eq(memcmp(host, w.data, weight_bytes(&w)), 0, "host bytes unchanged");
    cr_assert_eq(n_notes, 1);
    cr_assert(strstr(notes[0], "blk.7.attn_q.weight") && strstr(notes[0], dtype_info(t)->name) &&
              strstr(notes[0], dtype_info(want_to)->name) && strstr(notes[0], "restricted"),
              "note: %s", notes[0]);

    float x[3 * 512], y[3 * 19];
    for (int i = 0; i < m * K; i++) x[i] = rnd();
    struct kernel_log log;
    kernel_log_init(&log, 4);
    be->log = &log;
    backend_matmul(be, y, &w, x, m);
    double *wd = decoded_through(&w, want_to);
    for (int i = 0; i < m; i++)
        for (int n = 0; n < N; n++) {
            double ref = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)x[i * K + k] * wd[(size_t)n * K + k];
                ref += p;
                mag += fabs(p);
            }
            /* f32 accumulation of K exact products */
            cr_assert(fabs(y[i * N + n] - ref) <= 1e-5 * mag + 1e-7, "%s→%s y[%d][%d]=%.8g ref %.8g",
                      dtype_info(t)->name, dtype_info(want_to)->name, i, n, (double)y[i * N + n], ref);
        }
    /* the record names and counts the format the backend read */
    char name[24];
    snprintf(name, sizeof name, "matmul_%s", dtype_info(want_to)->name);
    cr_assert_str_eq(log.recs[0].name, name);
    cr_assert_float_eq(log.recs[0].dram_rd, (double)N * dtype_row_bytes(want_to, K) + 4.0 * m * K, 1e-9);

    /* embed reads the same copy: row 5 equals the decoded (rounded) row */
    float e[512];
    int tok = 5;
    backend_embed(be, e, &w, &tok, 1);
    for (int k = 0; k < K; k++) cr_assert_float_eq(e[k], (float)wd[(size_t)tok * K + k], 0);

    /* a second weight of the same format: converted, not noted again */
    struct weight w2 = quant_weight(t, 2, K, "blk.8.attn_q.weight");
    cr_assert_eq(backend_upload_weight(be, &w2), 0);
    cr_assert_eq(w2.dev_type, want_to);
    cr_assert_eq(n_notes, 1);

    be->log = NULL;
    kernel_log_free(&log);
    backend_free_weight(be, &w);
    backend_free_weight(be, &w2);
    cr_assert_null(w.dev);
    free(wd); free(host); free(w.data); free(w2.data);
    backend_destroy(be);
}

#define FLOATS ((1u << DT_F32) | (1u << DT_F16) | (1u << DT_BF16))

Test(backend_upload, block_formats_become_f16_where_unsupported)
{
    /* ggml's block formats (the own formats have their own kernels: test_xquant.c) */
    for (int t = DT_Q8_0; t < DT_GGML_COUNT; t++) check_converted_matmul((enum dtype)t, FLOATS, DT_F16);
}

Test(backend_upload, f32_when_the_backend_has_no_f16)
{
    check_converted_matmul(DT_Q4_1, 1u << DT_F32, DT_F32);
    check_converted_matmul(DT_Q6_K, 1u << DT_F32, DT_F32);
}

Test(backend_upload, no_float_path_fails_with_a_note)
{
    struct backend *be = restricted_cpu(1u << DT_Q8_0);
    be->note = keep_note;
    n_notes = 0;
    struct weight w = quant_weight(DT_Q4_0, 2, 32, "output.weight");
    cr_assert_eq(backend_upload_weight(be, &w), -1);
    cr_assert_null(w.dev);
    cr_assert_eq(n_notes, 1);
    cr_assert(strstr(notes[0], "output.weight") && strstr(notes[0], "q4_0"), "note: %s", notes[0]);
    free(w.data);
    backend_destroy(be);
}

/* Without a sink the conversion still happens, silently. */
Test(backend_upload, no_sink_still_converts)
{
    struct backend *be = restricted_cpu(FLOATS);
    struct weight w = quant_weight(DT_Q8_0, 3, 64, "token_embd.weight");
    cr_assert_eq(backend_upload_weight(be, &w), 0);
    cr_assert_eq(weight_run_type(&w), DT_F16);
    backend_free_weight(be, &w);
    free(w.data);
    backend_destroy(be);
}

/* ---- a whole block-quantized model on a backend without its matmul ---- */

/* The weights model_upload sends, tok_embd first. */
static int model_weights(struct model *m, struct weight **out)
{
    int n = 0;
    out[n++] = &m->tok_embd;
    if (!m->cfg.tied_output) out[n++] = &m->output;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) out[n++] = ws[i];
    }
    return n;
}

/* Last-token logits [vocab] of a 5-token prefill. */
static float *prefill_logits(struct model *m, struct backend *be)
{
    char err[256];
    const int ctx = 8;
    struct forward fw;
    cr_assert_eq(forward_init(&fw, m, be, ctx, err, sizeof err), 0, "%s", err);
    int kvd = m->cfg.n_kv_heads * m->cfg.head_dim;
    float *k = calloc((size_t)m->cfg.n_layers * ctx * kvd, sizeof *k);
    float *v = calloc((size_t)m->cfg.n_layers * ctx * kvd, sizeof *v);
    float *logits = malloc(sizeof *logits * (size_t)m->cfg.vocab);
    int32_t table[1] = {0}, toks[5] = {3, 141, 59, 265, 35};
    cr_assert(k && v && logits);
    struct kv_view kv = {.k = k, .v = v, .layer_stride = (size_t)ctx * kvd, .table = table,
                         .n_blocks = 1, .block_size = ctx, .kv_dim = kvd, .kv_type = DT_F32};
    struct fwd_seq s = {.tokens = toks, .n_tokens = 5, .pos0 = 0, .kv = kv};
    cr_assert_eq(forward_batch(&fw, &s, 1, logits), 1);
    forward_free(&fw);
    free(k);
    free(v);
    return logits;
}

/* synth:tiny in q4_1 (w_down, 176 wide, stays f32) on the restricted backend:
 * model_upload converts every q4_1 weight with one note, the tied head shares
 * the embedding's f16 copy, and the logits are bit-identical to the same model
 * converted to f16 on the host and run on the full CPU backend. */
Test(backend_upload, quantized_model_runs_as_its_f16_conversion)
{
    char err[256];
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    cr_assert(cfg->tied_output, "the test wants a tied head");
    struct model a, b;
    cr_assert_eq(model_synth(&a, cfg, DT_Q4_1, 5, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&b, cfg, DT_Q4_1, 5, 1, err, sizeof err), 0, "%s", err);

    struct backend *ra = restricted_cpu(FLOATS);
    ra->note = keep_note;
    n_notes = 0;
    cr_assert_eq(model_upload(&a, ra), 0);
    cr_assert_eq(n_notes, 1, "one note for q4_1 (got %d)", n_notes);
    cr_assert(strstr(notes[0], "q4_1") && strstr(notes[0], "f16"), "note: %s", notes[0]);
    cr_assert(a.output.dev == a.tok_embd.dev && a.output.dev_type == DT_F16);
    struct weight *wa[256], *wb[256];
    int n = model_weights(&a, wa), nq = 0;
    cr_assert_eq(model_weights(&b, wb), n);
    for (int i = 0; i < n; i++) {
        nq += wa[i]->type == DT_Q4_1;
        cr_assert_eq(weight_run_type(wa[i]), wa[i]->type == DT_Q4_1 ? DT_F16 : wa[i]->type, "%s", wa[i]->name);
    }
    cr_assert_gt(nq, 0);

    /* b: every q4_1 weight replaced on the host by its f16 rows */
    struct weight saved[256];
    for (int i = 0; i < n; i++) {
        saved[i] = *wb[i];
        if (wb[i]->type != DT_Q4_1) continue;
        struct weight f = *wb[i];
        f.type = DT_F16;
        f.data = malloc(weight_bytes(&f));
        float *row = malloc(sizeof *row * (size_t)f.cols);
        cr_assert(f.data && row);
        for (int r = 0; r < f.rows; r++) {
            dtype_decode_row(DT_Q4_1, (const char *)wb[i]->data + (size_t)r * dtype_row_bytes(DT_Q4_1, f.cols), row, f.cols);
            dtype_encode_row(DT_F16, row, (char *)f.data + (size_t)r * dtype_row_bytes(DT_F16, f.cols), f.cols);
        }
        free(row);
        *wb[i] = f;
    }
    struct weight saved_out = b.output;
    b.output = b.tok_embd;   /* tied */
    struct backend *cb = cpu_backend_create(1, CPU_SIMD_SCALAR);   /* same code path as ra */
    cr_assert_not_null(cb);

    float *la = prefill_logits(&a, ra), *lb = prefill_logits(&b, cb);
    for (int i = 0; i < cfg->vocab; i++)
        cr_assert(la[i] == lb[i] && isfinite(la[i]), "logit %d: converted %.9g, host f16 %.9g", i,
                  (double)la[i], (double)lb[i]);

    for (int i = 0; i < n; i++) {
        if (wb[i]->data != saved[i].data) free(wb[i]->data);
        *wb[i] = saved[i];
        backend_free_weight(ra, wa[i]);
    }
    b.output = saved_out;
    a.output.dev = NULL;     /* shared with tok_embd, freed above */
    free(la); free(lb);
    model_free(&a); model_free(&b);
    backend_destroy(ra); backend_destroy(cb);
}
