/* tui/cmd_plan.c — `infertop plan`: the thin wrapper over core/plan (memory
 * and roofline, MODELED) and core/plan/validate (sim:host vs the CPU). */
#include "core/plan/hw.h"
#include "core/plan/plan.h"
#include "core/plan/validate.h"
#include "core/quant/transform.h"
#include "traces/export.h"
#include "traces/outfile.h"
#include "tui/cli.h"
#include "tui/setup.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATE_SCENARIO "scenarios/chat.ini"

static int write_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root), err[1200];
    int rc = 0;
    if (!text) { cli_error("%s: out of memory formatting the JSON", path); return 1; }
    size_t n = strlen(text);
    text[n] = '\n';
    if (outfile_write_all(path, text, n + 1, err, sizeof err) < 0) { cli_error("%s", err); rc = 1; }
    free(text);
    return rc;
}

static void human(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) { b /= 1024; i++; }
    snprintf(out, n, "%.2f %s", b, u[i]);
}

/* ---- the plan ---- */

/* --tp/--pp against the device count: none given = tp over all devices. */
static int group_split(const struct cli_args *a, int n, int *tp, int *pp)
{
    *tp = a->tp ? a->tp : (a->pp ? 1 : n);
    *pp = a->pp ? a->pp : 1;
    if (*tp * *pp == n) return 0;
    cli_error("--tp %d x --pp %d = %d devices; expected the %d of --gpu", *tp, *pp, *tp * *pp, n);
    return -1;
}

static void print_device(const struct hw_row *row, const struct roof_device *d, int tp, int pp)
{
    printf("device   %s", d->name);
    if (tp * pp > 1) printf(" x%d (tp %d, pp %d)", tp * pp, tp, pp);
    printf(" — MODELED (roofline of the hardware table, nothing runs)\n");
    if (row) {
        printf("         %.0f GB, %.0f GB/s, dense TFLOP/s fp32 %.1f tf32 %.1f fp16 %.1f bf16 %.1f fp8 %.1f int8 %.1f\n",
               row->mem_gb, row->bw_gbs, row->dense_tflops[RP_FP32], row->dense_tflops[RP_TF32],
               row->dense_tflops[RP_FP16], row->dense_tflops[RP_BF16], row->dense_tflops[RP_FP8],
               row->dense_tflops[RP_INT8]);
        printf("         sparse 2:4 (not used here) fp16 %.1f fp8 %.1f int8 %.1f | %d SMs, L2 %.0f MB, "
               "smem/SM %.0f KB, %s\n", row->sparse_tflops[RP_FP16], row->sparse_tflops[RP_FP8],
               row->sparse_tflops[RP_INT8], row->sms, row->l2_mb, row->smem_kb, row->link);
        printf("         source: %s\n", row->source);
    } else {
        printf("         measured: %.1f GB/s read, f32 matmul %.1f GFLOP/s, %.2f us per op\n", d->bw / 1e9,
               d->wtype_flops[DT_F32] / 1e9, d->op_overhead_s * 1e6);
        printf("         ops timed from the measured operator profile (matmul per format at 1-128 rows, attention, "
               "small ops; plan --validate shows it), the roofline where it has none\n");
    }
    printf("efficiency memory %.2f of peak for large transfers (%.2f tiny, half-way at %.1f MiB), compute %.2f "
           "(%.2f tiny, half-way at %.2g FLOP), %.1f us per op (sim_mem_eff, sim_flop_eff, sim_op_us)\n",
           d->mem_eff.large, d->mem_eff.small, d->mem_eff.half / 1048576, d->flop_eff.large, d->flop_eff.small,
           d->flop_eff.half, d->op_overhead_s * 1e6);
}

static void print_memory(const struct plan_config *c, const struct plan_result *r)
{
    const struct model_config *mc = &c->m->cfg;
    char w[32], wd[32], kt[32], kv[32], kd[32], ad[32], nd[32], bd[32];
    human(r->weights, w, sizeof w); human(r->weights_dev, wd, sizeof wd); human(r->kv_token, kt, sizeof kt);
    human(r->kv, kv, sizeof kv); human(r->kv_dev, kd, sizeof kd); human(r->act_dev, ad, sizeof ad);
    human(r->need_dev, nd, sizeof nd); human(r->budget, bd, sizeof bd);
    printf("\nmemory per device (MODELED)\n");
    printf("  weights       %12s  (%.2f GB; model %s = %.2f GB)\n", wd, r->weights_dev / 1e9, w, r->weights / 1e9);
    printf("  KV per token  %12s  (2 x %d layers x %d kv_heads x %d head_dim x %d B)\n", kt, mc->n_layers,
           mc->n_kv_heads, mc->head_dim, c->kv_type == DT_F32 ? 4 : 2);
    printf("  KV            %12s  (batch %d x ctx %d = %s for the group)\n", kd, c->batch, c->ctx, kv);
    printf("  activations   %12s  (one prefill step of %d tokens)\n", ad, c->batch * c->ctx);
    printf("  total         %12s  of %s budget: %s | largest batch at ctx %d: %d\n", nd, bd,
           r->fits ? "fits" : "DOES NOT FIT", c->ctx, r->max_batch);
}

static void print_phase(const char *name, const struct plan_phase *p)
{
    double ai = p->bytes > 0 ? p->flops / p->bytes : 0;
    printf("  %-8s %8d %12.2f %12.3f %9.1f %10.3f %9.3f\n", name, p->tokens, p->flops / 1e9, p->bytes / 1e9, ai,
           p->t_s * 1e3, p->comm_s * 1e3);
}

static void print_ops(const char *title, const struct plan_phase *p)
{
    printf("\n%s step, per op (per device, summed over layers and sequences; MODELED)\n", title);
    printf("  %-18s %-20s %6s %11s %11s %8s %-7s %10s %6s\n", "op", "shape", "count", "GFLOP", "MB", "FLOP/B",
           "bound", "time ms", "share");
    for (int i = 0; i < p->n_ops; i++) {
        const struct plan_op *o = &p->ops[i];
        char shape[40];
        snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)o->shape[0], (long long)o->shape[1],
                 (long long)o->shape[2]);
        printf("  %-18s %-20s %6d %11.3f %11.2f %8.1f %-7s %10.4f %5.1f%%\n", o->name, shape, o->count, o->flops / 1e9,
               o->bytes / 1e6, o->bytes > 0 ? o->flops / o->bytes : 0, o->memory_bound ? "memory" : "compute",
               o->t_s * 1e3, p->t_s > 0 ? 100 * o->t_s / p->t_s : 0);
    }
    if (p->comm_s > 0) printf("  %-18s %-20s %6s %11s %11s %8s %-7s %10.4f %5.1f%%\n", "comm (tp/pp)", "-", "-", "-",
                              "-", "-", "link", p->comm_s * 1e3, 100 * p->comm_s / p->t_s);
}

static cJSON *phase_json(const struct plan_phase *p)
{
    cJSON *o = cJSON_CreateObject(), *ops = cJSON_CreateArray();
    cJSON_AddNumberToObject(o, "tokens", p->tokens);
    cJSON_AddNumberToObject(o, "flops", p->flops);
    cJSON_AddNumberToObject(o, "bytes", p->bytes);
    cJSON_AddNumberToObject(o, "time_s", p->t_s);
    cJSON_AddNumberToObject(o, "comm_s", p->comm_s);
    for (int i = 0; i < p->n_ops; i++) {
        const struct plan_op *q = &p->ops[i];
        cJSON *j = cJSON_CreateObject();
        json_add_text(j, "op", q->name);
        json_add_text(j, "class", op_class_name(q->cls));
        cJSON_AddItemToObject(j, "shape", cJSON_CreateIntArray((int[]){(int)q->shape[0], (int)q->shape[1],
                                                                       (int)q->shape[2]}, 3));
        cJSON_AddNumberToObject(j, "count", q->count);
        cJSON_AddNumberToObject(j, "flops", q->flops);
        cJSON_AddNumberToObject(j, "bytes", q->bytes);
        cJSON_AddNumberToObject(j, "intensity", q->bytes > 0 ? q->flops / q->bytes : 0);
        json_add_text(j, "bound", q->memory_bound ? "memory" : "compute");
        cJSON_AddNumberToObject(j, "time_s", q->t_s);
        cJSON_AddItemToArray(ops, j);
    }
    cJSON_AddItemToObject(o, "ops", ops);
    return o;
}

static cJSON *plan_json(const struct plan_config *c, const struct plan_result *r, const char *gpu)
{
    cJSON *o = cJSON_CreateObject(), *mem = cJSON_CreateObject(), *pred = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "modeled", 1);
    json_add_text(o, "model", c->m->source);
    json_add_text(o, "gpu", gpu);
    json_add_text(o, "device", c->dev.name);
    cJSON_AddNumberToObject(o, "tp", c->tp);
    cJSON_AddNumberToObject(o, "pp", c->pp);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "ctx", c->ctx);
    json_add_text(o, "weights_dtype", dtype_info(c->m->wtype)->name);
    json_add_text(o, "weights_formats", c->m->wformat[0] ? c->m->wformat : dtype_info(c->m->wtype)->name);
    json_add_text(o, "kv_dtype", dtype_info(c->kv_type)->name);
    cJSON_AddNumberToObject(mem, "weights_bytes", r->weights);
    cJSON_AddNumberToObject(mem, "weights_per_device_bytes", r->weights_dev);
    cJSON_AddNumberToObject(mem, "kv_per_token_bytes", r->kv_token);
    cJSON_AddNumberToObject(mem, "kv_bytes", r->kv);
    cJSON_AddNumberToObject(mem, "kv_per_device_bytes", r->kv_dev);
    cJSON_AddNumberToObject(mem, "activations_per_device_bytes", r->act_dev);
    cJSON_AddNumberToObject(mem, "need_per_device_bytes", r->need_dev);
    cJSON_AddNumberToObject(mem, "budget_per_device_bytes", r->budget);
    cJSON_AddBoolToObject(mem, "fits", r->fits);
    cJSON_AddNumberToObject(mem, "max_batch", r->max_batch);
    cJSON_AddItemToObject(o, "memory", mem);
    cJSON_AddItemToObject(o, "prefill", phase_json(&r->prefill));
    cJSON_AddItemToObject(o, "decode", phase_json(&r->decode));
    cJSON_AddNumberToObject(pred, "ttft_s", r->ttft_s);
    cJSON_AddNumberToObject(pred, "tpot_s", r->tpot_s);
    cJSON_AddNumberToObject(pred, "prefill_tok_s", r->prefill_tok_s);
    cJSON_AddNumberToObject(pred, "decode_tok_s", r->decode_tok_s);
    cJSON_AddItemToObject(o, "predicted", pred);
    return o;
}

static int run_plan(struct cli_args *a)
{
    if (!a->gpu) { cli_error("plan: --gpu NAME[xN] is required (h100, h200, a100, l4, rtx4090, host)"); return EXIT_BAD_INPUT; }
    char err[512];
    const struct hw_row *row;
    bool host;
    int n, tp, pp;
    if (hw_parse(a->gpu, &row, &host, &n, err, sizeof err) < 0) { cli_error("--gpu %s", err); return EXIT_BAD_INPUT; }
    if (group_split(a, n, &tp, &pp) < 0) return EXIT_BAD_INPUT;
    int64_t budget = 0;
    if (a->budget && (parse_size(a->budget, &budget) < 0 || budget <= 0)) {
        cli_error("--budget %s: expected a size like 40G or 512M", a->budget);
        return EXIT_BAD_INPUT;
    }
    struct roof_device dev;
    if (hw_device(host ? "host" : row->key, &a->opt, &dev, a->quiet ? NULL : stderr, err, sizeof err) < 0) {
        cli_error("%s", err);
        return host ? 1 : EXIT_BAD_INPUT;
    }
    struct model m;
    const char *spec = a->model ? a->model : SESSION_DEFAULT_MODEL;
    if (model_load_flags(&m, spec, opt_enum(&a->opt, WTYPE), (uint64_t)opt_i(&a->opt, OPT_SEED), 1,
                         MODEL_SHAPES_ONLY, err, sizeof err) < 0) {
        cli_error("%s", err);
        return EXIT_BAD_INPUT;
    }
    /* quant / sparsity: the formats they make, on the shapes (MODELED bytes and FLOPs) */
    if (quant_apply_transforms(&m, &a->opt, NULL, 1, NULL, NULL, err, sizeof err) < 0) {
        cli_error("plan: %s", err);
        model_free(&m);
        return EXIT_BAD_INPUT;
    }
    struct plan_config c = {.m = &m, .dev = dev, .tp = tp, .pp = pp, .batch = a->batch ? a->batch : 1,
                            .ctx = a->ctx ? a->ctx : (m.cfg.max_ctx < 4096 ? m.cfg.max_ctx : 4096),
                            .kv_type = opt_enum(&a->opt, KV_DTYPE), .attn = opt_enum(&a->opt, ATTN),
                            .budget = (double)budget};
    static struct plan_result r;
    int rc = 0;
    if (plan_compute(&c, &r, err, sizeof err) < 0) { cli_error("%s", err); model_free(&m); return EXIT_BAD_INPUT; }
    printf("plan     %s — %.2fB params, %s weights, kv_dtype %s, attn %s, batch %d, ctx %d\n", m.source,
           model_param_count(&m.cfg) / 1e9, dtype_info(m.wtype)->name, dtype_info(c.kv_type)->name,
           c.attn == ATTN_FLASH ? "flash" : "naive", c.batch, c.ctx);
    if (m.wformat[0]) printf("weights  %s (quant/sparsity formats on the shapes: MODELED)\n", m.wformat);
    print_device(row, &dev, tp, pp);
    print_memory(&c, &r);
    printf("\nphases (one step each, per device; MODELED)\n");
    printf("  %-8s %8s %12s %12s %9s %10s %9s\n", "phase", "tokens", "GFLOP", "GB moved", "FLOP/B", "time ms", "comm ms");
    print_phase("prefill", &r.prefill);
    print_phase("decode", &r.decode);
    printf("predicted: TTFT %.2f ms | prefill %.0f tok/s | TPOT %.3f ms | decode %.1f tok/s (batch %d)\n",
           r.ttft_s * 1e3, r.prefill_tok_s, r.tpot_s * 1e3, r.decode_tok_s, c.batch);
    print_ops("decode", &r.decode);
    print_ops("prefill", &r.prefill);
    if (a->json) {
        cJSON *root = plan_json(&c, &r, a->gpu);
        rc = write_json(a->json, root);
        cJSON_Delete(root);
    }
    model_free(&m);
    return rc;
}

/* ---- --validate ---- */

/* "+12.3%" of pred against meas into out ("-" without a measurement). */
static const char *error_text(char out[16], double pred, double meas)
{
    if (meas > 0) snprintf(out, 16, "%+.1f%%", 100 * (pred - meas) / meas);
    else snprintf(out, 16, "-");
    return out;
}

/* The load beside the numbers: a loaded machine's measured side waits for the CPU. */
static void print_load(const struct validate_result *v)
{
    printf("load average %.2f at the start, %.2f after the CPU run (%d of it this run's threads), on %d CPUs\n",
           v->load_start, v->load_end, v->threads, v->cores);
    char pr[16] = "unknown", ru[16] = "unknown";
    if (v->others_probe >= 0) snprintf(pr, sizeof pr, "%.2f", v->others_probe);
    if (v->others_run >= 0) snprintf(ru, sizeof ru, "%.2f", v->others_run);
    printf("other processes used %s CPUs during the probes, %s during the CPU run (/proc/stat less this process)", pr,
           ru);
    if (validate_loaded(v))
        printf(" — LOADED: other processes hold the cores, so measured op times include waiting for a CPU and the "
               "probes ran slow; the errors below say little about the model. Rerun on a quiet machine.\n");
    else printf(" (quiet enough: other processes under %.0f%% of the CPUs)\n", 100 * VALIDATE_LOADED_CPUS);
}

/* The measured operator profile of the run's weight format and KV type. */
static void print_profile(const struct validate_result *v, const struct options *opt)
{
    enum dtype kv = opt_enum(opt, KV_DTYPE);
    enum attn_impl impl = opt_enum(opt, ATTN);
    const struct roof_profile *p = &v->host.prof;
    enum { REF = 1 * ROOF_MM_NN + 1 };                      /* the grid's middle shape */
    int rk, rn;
    roof_mm_shape(REF, &rk, &rn);
    const double *g = p->mm_elem_s[v->wtype][REF];
    double rb = dtype_row_bytes(v->wtype, rk) / (double)rk; /* bytes per weight element */
    printf("profile (measured, median of the probe passes): matmul %s per weight element at K %d N %d:",
           dtype_info(v->wtype)->name, rk, rn);
    for (int i = 0; i < ROOF_MM_ROWS_N; i++) printf("%s m=%d %.3g ns", i ? "," : "", ROOF_MM_ROWS[i], g[i] * 1e9);
    if (g[0] > 0) printf(" (m=1: %.1f GB/s of weights)", rb / g[0] / 1e9);
    int i128 = roof_mm_row_index(128), i512 = roof_mm_row_index(512);
    printf("\n  m=1/m=128/m=512 by shape KxN:");
    for (int s = 0; s < ROOF_MM_SHAPES; s++) {
        int k, n;
        roof_mm_shape(s, &k, &n);
        printf(" %dx%d %.3g/%.3g/%.3g ns", k, n, p->mm_elem_s[v->wtype][s][0] * 1e9,
               p->mm_elem_s[v->wtype][s][i128] * 1e9, p->mm_elem_s[v->wtype][s][i512] * 1e9);
    }
    int kd = roof_attn_kind(impl, kv, 1), kp = roof_attn_kind(impl, kv, 64);
    printf("\n  attention %s %.2f us + %.1f GFLOP/s, %s %.2f us + %.1f GFLOP/s (%d queries: %.2f us + %.1f GFLOP/s); "
           "small ops at 256 elements:",
           roof_attn_kind_name(kd), p->attn_fixed_s[kd] * 1e6, p->attn_flop_s[kd] > 0 ? 1e-9 / p->attn_flop_s[kd] : 0,
           roof_attn_kind_name(kp), p->attn_fixed_s[kp] * 1e6, p->attn_flop_s[kp] > 0 ? 1e-9 / p->attn_flop_s[kp] : 0,
           ROOF_ATTN_WIDE_Q, p->attn_wide_fixed_s[kp] * 1e6,
           p->attn_wide_flop_s[kp] > 0 ? 1e-9 / p->attn_wide_flop_s[kp] : 0);
    for (int k = 0; k < RSO_COUNT; k++) printf(" %s %.2f us", roof_small_name((enum roof_small_op)k), p->small_s[k][0] * 1e6);
    printf("\n");
}

/* Seconds of the steps in phase ph (decode-only, or with prefill), measured. */
static double phase_step_s(const struct validate_result *v, enum validate_phase ph)
{
    double t = 0;
    for (int i = 0; i < v->n_steps; i++) {
        const struct validate_step *s = &v->steps[i];
        bool pf = s->prefill_tokens > 0, dec = !pf && s->decode_tokens > 0;
        if (ph == VP_PREFILL ? pf : dec) t += s->meas_s;
    }
    return t;
}

/* The op kinds (validate_ops.h) of phase ph that took the most measured
 * time, at most `rows`: where in the class the model is off, and by how
 * much of those steps' time ("of steps": (pred − meas) ÷ the phase's
 * measured step seconds, so the column sums to the step error less the
 * time outside ops). */
static void print_kinds(struct validate_result *v, enum validate_phase ph, int rows)
{
    double steps_s = phase_step_s(v, ph);
    validate_kinds_sort(&v->kinds, ph);
    printf("\nper op kind, %s (the %d with the most measured time; \"of steps\": (predicted - measured) / those "
           "steps' %.3f s)\n", ph == VP_DECODE ? "decode-only steps" : "steps with prefill", rows, steps_s);
    printf("  %-14s %-22s %7s %10s %10s %8s %9s\n", "op", "shape / size", "ops", "meas us", "pred us", "error",
           "of steps");
    for (int i = 0; i < v->kinds.n && i < rows; i++) {
        const struct validate_kind *k = &v->kinds.k[i];
        const struct validate_class *c = &k->ph[ph];
        if (!c->count) break;
        char key[64], e[16];
        printf("  %-14s %-22s %7d %10.2f %10.2f %8s %+8.1f%%\n", k->name, validate_kind_key(k, key, sizeof key),
               c->count, 1e6 * c->meas_s / c->count, 1e6 * c->pred_s / c->count, error_text(e, c->pred_s, c->meas_s),
               steps_s > 0 ? 100 * (c->pred_s - c->meas_s) / steps_s : 0);
    }
}

/* How far the machine's own speed moved from the probes' moment during the
 * run (hw_speed.h), and the decode error were the prediction to follow it. */
static void print_speed(const struct validate_result *v)
{
    if (v->n_speed == 0) return;
    const struct hw_speed *p = v->speed_probe;
    printf("  host speed (a %zu MiB read and an FMA loop on each of the engine's %d threads, best of %d each, every %.0f s of the "
           "run): at the probes %.1f / %.1f GB/s, %.2f / %.2f GFLOP/s (before / after); during the run %.2f-%.2fx "
           "and %.2f-%.2fx of their mean (%d samples). Decode median |error| with each step's prediction divided by "
           "the read speed at its time: %.1f%% (signed %+.1f%%) — the machine's drift, not the model's error\n",
           HW_SPEED_BYTES >> 20, v->threads > 0 ? v->threads : 1, HW_SPEED_READS, VALIDATE_SPEED_EVERY_S, p[0].bw / 1e9, p[1].bw / 1e9,
           p[0].fma_flops / 1e9, p[1].fma_flops / 1e9, v->bw_ratio_min, v->bw_ratio_max, v->fma_ratio_min,
           v->fma_ratio_max, v->n_speed, 100 * v->decode_err_speed_median, 100 * v->decode_err_speed_signed);
    printf("  steadiness: the speed moved %.0f%% across the probe used (%d probe%s, at most %d until within %.0f%%); "
           "the run's samples' median %.2fx read, %.2fx FMA of the probe's",
           100 * v->probe_moved, v->probe_tries, v->probe_tries == 1 ? "" : "s", VALIDATE_PROBE_TRIES,
           100 * VALIDATE_STEADY, v->bw_ratio_median, v->fma_ratio_median);
    if (validate_steady(v)) printf(" (steady: within %.0f%%)\n", 100 * VALIDATE_STEADY);
    else
        printf(" — NOT STEADY: by these samples the host's own speed moved more than %.0f%% across the probes or "
               "between them and the run, so errors of that size may be the machine's, not the model's; rerun "
               "when it holds\n", 100 * VALIDATE_STEADY);
}

static void print_validation(struct validate_result *v, const struct run_setup *b)
{
    printf("validate %s on %s — sim:host (SIMULATED, roofline of the measured host) vs the CPU backend (measured)\n",
           b->sc.name, v->device);
    print_load(v);
    printf("host row: %.1f GB/s read (working set in the %.0f MB last-level cache: %.1f GB/s; in the %.1f MB "
           "private caches: %.1f GB/s), f32 matmul %.1f GFLOP/s, %.2f us per op\n", v->bw / 1e9, v->llc_bytes / 1e6,
           v->llc_bw / 1e9, v->near_bytes / 1e6, v->near_bw / 1e9, v->f32_flops / 1e9, v->op_overhead_s * 1e6);
    print_profile(v, &b->opt);
    printf("\nper op class, over every step of the CPU run (predicted = each measured op's record timed by the host "
           "row); error by phase: decode-only steps, steps with prefill\n");
    printf("  %-10s %8s %12s %12s %8s %9s %9s\n", "class", "ops", "measured s", "predicted s", "error", "decode",
           "prefill");
    for (int c = 0; c < OPC_COUNT; c++) {
        const struct validate_class *k = &v->cls[c], *d = &v->phase_cls[VP_DECODE][c], *p = &v->phase_cls[VP_PREFILL][c];
        if (!k->count) continue;
        char e[3][16];
        printf("  %-10s %8d %12.4f %12.4f %8s %9s %9s\n", op_class_name((enum op_class)c), k->count, k->meas_s,
               k->pred_s, error_text(e[0], k->pred_s, k->meas_s), error_text(e[1], d->pred_s, d->meas_s),
               error_text(e[2], p->pred_s, p->meas_s));
    }
    print_kinds(v, VP_DECODE, 16);
    print_kinds(v, VP_PREFILL, 8);
    printf("\nper step: %d steps, %d decode-only | median |error| of decode steps %.1f%% (signed median %+.1f%%), "
           "of steps with prefill %.1f%%; a decode step's measured time outside its ops (scheduling, sampling): "
           "median %.1f%%\n", v->n_steps, v->n_decode, 100 * v->decode_err_median,
           100 * v->decode_err_signed, 100 * v->prefill_err_median, 100 * v->decode_outside_median);
    print_speed(v);
    printf("  %-6s %5s %8s %8s %12s %12s %12s %8s\n", "step", "batch", "prefill", "decode", "measured ms", "ops meas ms",
           "predicted ms", "error");
    int shown = 0;
    for (int i = 0; i < v->n_steps && shown < 12; i += v->n_steps / 12 + 1, shown++) {
        const struct validate_step *s = &v->steps[i];
        printf("  %-6d %5d %8d %8d %12.3f %12.3f %12.3f %+7.1f%%\n", s->index, s->batch, s->prefill_tokens,
               s->decode_tokens, s->meas_s * 1e3, s->ops_meas_s * 1e3, s->pred_s * 1e3,
               s->meas_s > 0 ? 100 * (s->pred_s - s->meas_s) / s->meas_s : 0);
    }
    const struct report *m = &v->measured, *s = &v->simulated;
    printf("\nend to end, same requests (%s):  measured (CPU)  SIMULATED (sim:host)  sim/measured\n",
           v->capacity > 0 ? "same arrivals at the CPU's measured capacity" : "same arrivals");
    printf("  %-16s %14.2f %20.2f %12.3f\n", "duration s", m->duration_s, s->duration_s,
           m->duration_s > 0 ? s->duration_s / m->duration_s : 0);
    printf("  %-16s %14.1f %20.1f %12.3f\n", "output tok/s", m->output_tok_s, s->output_tok_s,
           m->output_tok_s > 0 ? s->output_tok_s / m->output_tok_s : 0);
    printf("  %-16s %14.2f %20.2f %12.3f\n", "TTFT p50 ms", m->ttft_ms.p50, s->ttft_ms.p50,
           m->ttft_ms.p50 > 0 ? s->ttft_ms.p50 / m->ttft_ms.p50 : 0);
    printf("  %-16s %14.2f %20.2f %12.3f\n", "TPOT p50 ms", m->tpot_ms.p50, s->tpot_ms.p50,
           m->tpot_ms.p50 > 0 ? s->tpot_ms.p50 / m->tpot_ms.p50 : 0);
}

static cJSON *validation_json(const struct validate_result *v, const struct run_setup *b)
{
    cJSON *o = cJSON_CreateObject(), *cls = cJSON_CreateObject(), *steps = cJSON_CreateArray();
    cJSON_AddBoolToObject(o, "simulated", 1);
    json_add_text(o, "scenario", b->sc.name);
    json_add_text(o, "host", v->device);
    cJSON_AddNumberToObject(o, "host_bandwidth", v->bw);
    cJSON_AddNumberToObject(o, "decode_step_error_median", v->decode_err_median);
    cJSON_AddNumberToObject(o, "decode_step_error_signed_median", v->decode_err_signed);
    cJSON_AddNumberToObject(o, "prefill_step_error_median", v->prefill_err_median);
    cJSON_AddNumberToObject(o, "load_average_start", v->load_start);
    cJSON_AddNumberToObject(o, "load_average_end", v->load_end);
    cJSON_AddNumberToObject(o, "cpus", v->cores);
    cJSON_AddNumberToObject(o, "threads", v->threads);
    cJSON_AddNumberToObject(o, "other_cpus_probes", v->others_probe);
    cJSON_AddNumberToObject(o, "other_cpus_run", v->others_run);
    cJSON_AddBoolToObject(o, "loaded", validate_loaded(v));
    static const char *const PHASE[VP_COUNT] = {"decode", "prefill"};
    for (int c = 0; c < OPC_COUNT; c++) {
        if (!v->cls[c].count) continue;
        cJSON *k = cJSON_CreateObject();
        cJSON_AddNumberToObject(k, "ops", v->cls[c].count);
        cJSON_AddNumberToObject(k, "measured_s", v->cls[c].meas_s);
        cJSON_AddNumberToObject(k, "predicted_s", v->cls[c].pred_s);
        for (int ph = 0; ph < VP_COUNT; ph++) {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddNumberToObject(q, "measured_s", v->phase_cls[ph][c].meas_s);
            cJSON_AddNumberToObject(q, "predicted_s", v->phase_cls[ph][c].pred_s);
            cJSON_AddItemToObject(k, PHASE[ph], q);
        }
        cJSON_AddItemToObject(cls, op_class_name((enum op_class)c), k);
    }
    cJSON_AddItemToObject(o, "op_classes", cls);
    cJSON *kinds = cJSON_CreateArray();
    for (int i = 0; i < v->kinds.n; i++) {
        const struct validate_kind *vk = &v->kinds.k[i];
        cJSON *k = cJSON_CreateObject();
        char key[64];
        json_add_text(k, "op", vk->name);
        json_add_text(k, "kind", validate_kind_key(vk, key, sizeof key));
        for (int ph = 0; ph < VP_COUNT; ph++) {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddNumberToObject(q, "ops", vk->ph[ph].count);
            cJSON_AddNumberToObject(q, "measured_s", vk->ph[ph].meas_s);
            cJSON_AddNumberToObject(q, "predicted_s", vk->ph[ph].pred_s);
            cJSON_AddItemToObject(k, PHASE[ph], q);
        }
        cJSON_AddItemToArray(kinds, k);
    }
    cJSON_AddItemToObject(o, "op_kinds", kinds);
    cJSON_AddNumberToObject(o, "decode_step_outside_ops_median", v->decode_outside_median);
    if (v->n_speed) {
        cJSON *hs = cJSON_CreateObject(), *samples = cJSON_CreateArray();
        for (int i = 0; i < 2; i++) {
            double row[2] = {v->speed_probe[i].bw, v->speed_probe[i].fma_flops};
            cJSON_AddItemToArray(samples, cJSON_CreateDoubleArray(row, 2));
        }
        cJSON_AddNumberToObject(hs, "threads", v->threads > 0 ? v->threads : 1);
        cJSON_AddNumberToObject(hs, "probe_tries", v->probe_tries);
        cJSON_AddNumberToObject(hs, "probe_moved", v->probe_moved);
        cJSON_AddNumberToObject(hs, "bw_ratio_median", v->bw_ratio_median);
        cJSON_AddNumberToObject(hs, "fma_ratio_median", v->fma_ratio_median);
        cJSON_AddBoolToObject(hs, "steady", validate_steady(v));
        cJSON_AddItemToObject(hs, "probes_bw_fma_flops", samples);
        cJSON *run = cJSON_CreateArray();
        for (int i = 0; i < v->n_speed; i++) {
            double row[3] = {v->speed[i].t_s - v->speed[0].t_s, v->speed[i].bw, v->speed[i].fma_flops};
            cJSON_AddItemToArray(run, cJSON_CreateDoubleArray(row, 3));
        }
        cJSON_AddItemToObject(hs, "run_t_bw_fma_flops", run);
        cJSON_AddNumberToObject(hs, "bw_ratio_min", v->bw_ratio_min);
        cJSON_AddNumberToObject(hs, "bw_ratio_max", v->bw_ratio_max);
        cJSON_AddNumberToObject(hs, "fma_ratio_min", v->fma_ratio_min);
        cJSON_AddNumberToObject(hs, "fma_ratio_max", v->fma_ratio_max);
        cJSON_AddNumberToObject(hs, "decode_step_error_median_speed_adjusted", v->decode_err_speed_median);
        cJSON_AddNumberToObject(hs, "decode_step_error_signed_median_speed_adjusted", v->decode_err_speed_signed);
        cJSON_AddItemToObject(o, "host_speed", hs);
    }
    for (int i = 0; i < v->n_steps; i++) {
        const struct validate_step *s = &v->steps[i];
        double row[6] = {s->index, s->prefill_tokens, s->decode_tokens, s->meas_s, s->ops_meas_s, s->pred_s};
        cJSON_AddItemToArray(steps, cJSON_CreateDoubleArray(row, 6));
    }
    cJSON_AddItemToObject(o, "steps_index_prefill_decode_measured_opsmeasured_predicted", steps);
    cJSON_AddNumberToObject(o, "measured_output_tok_s", v->measured.output_tok_s);
    cJSON_AddNumberToObject(o, "simulated_output_tok_s", v->simulated.output_tok_s);
    cJSON_AddNumberToObject(o, "measured_tpot_p50_ms", v->measured.tpot_ms.p50);
    cJSON_AddNumberToObject(o, "simulated_tpot_p50_ms", v->simulated.tpot_ms.p50);
    return o;
}

static int run_validate(struct cli_args *a)
{
    static struct run_setup b;
    if (setup_load(a, VALIDATE_SCENARIO, &a->opt, &b) < 0) return EXIT_BAD_INPUT;
    static struct validate_result v;
    char err[768];
    int rc = plan_validate(&b, a->quiet ? NULL : stderr, &v, err, sizeof err);
    if (rc) { cli_error("%s", err); validate_free(&v); return rc; }
    print_validation(&v, &b);
    if (a->json) {
        cJSON *root = validation_json(&v, &b);
        rc = write_json(a->json, root);
        cJSON_Delete(root);
    }
    validate_free(&v);
    return rc;
}

int cmd_plan(struct cli_args *a)
{
    if (setup_no_positional(a) < 0) return EXIT_BAD_INPUT;
    if (a->validate) {
        if (a->gpu && strcmp(a->gpu, "host")) {
            cli_error("plan --validate: --gpu %s; validation runs on this machine (host) only", a->gpu);
            return EXIT_BAD_INPUT;
        }
        return run_validate(a);
    }
    return run_plan(a);
}
