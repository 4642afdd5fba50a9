/* tui/cmd_list.c — `infertop options` and `infertop models`. */
#include "core/model/draft_info.h"
#include "core/model/model.h"
#include "core/quant/sparsity.h"
#include "core/workload/workload.h"
#include "tui/setup.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "tui/cli.h"

#include <stdio.h>

int cmd_options(struct cli_args *a)
{
    (void)a;
    options_print_table(stdout);
    printf("\nSet with --set k=v (repeatable, or \"k=v k2=v2\"). CLASS: what a change mid-run does (live: next\n"
           "step; rebuild: restarts the scenario; process: next start of infertop). USED BY: all, runs (tui,\n"
           "bench, ab) or generate; other commands refuse it (exit 2).\n");
    return 0;
}

static void human_bytes(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) { b /= 1024; i++; }
    snprintf(out, n, "%.1f %s", b, u[i]);
}

/* Bytes of every weight matrix and how many carry each format ("q4_1 x169,
 * q6_k x1"), for one GGUF's summary. */
static double file_weight_bytes(const struct model *m, char *fmts, size_t n)
{
    int count[DT_COUNT] = {0};
    double bytes = 0;
    const struct weight *ws[] = {&m->tok_embd, &m->output};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && m->cfg.tied_output) break;
        bytes += (double)weight_bytes(ws[i]);
        count[ws[i]->type]++;
    }
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        const struct weight *lw[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7; k++) { bytes += (double)weight_bytes(lw[k]); count[lw[k]->type]++; }
    }
    size_t used = 0;
    fmts[0] = '\0';
    for (int t = 0; t < DT_COUNT && used < n; t++)
        if (count[t])
            used += (size_t)snprintf(fmts + used, n - used, "%s%s x%d", used ? ", " : "", dtype_info(t)->name,
                                     count[t]);
    return bytes;
}

/* `infertop models FILE.gguf`: the file's shape, formats and sizes, and the
 * distillation summary a draft written by `infertop distill` carries. */
static int model_file_summary(const char *path)
{
    struct model m;
    char err[512];
    if (model_load_gguf(&m, path, err, sizeof err) < 0) { cli_error("%s", err); return EXIT_BAD_INPUT; }
    const struct model_config *c = &m.cfg;
    char fmts[256], wb[24], kv[24];
    human_bytes(file_weight_bytes(&m, fmts, sizeof fmts), wb, sizeof wb);
    human_bytes(model_kv_bytes_per_token(c, 2), kv, sizeof kv);
    const char *attn = c->n_kv_heads == c->n_heads ? "MHA" : c->n_kv_heads == 1 ? "MQA" : "GQA";
    printf("%s\n", path);
    printf("  name %s, architecture %s, %.1fM parameters\n", c->name, c->arch, model_param_count(c) / 1e6);
    printf("  layers %d, dim %d, heads %d:%d %s (head_dim %d), ffn %d, vocab %d, context %d%s\n", c->n_layers,
           c->dim, c->n_heads, c->n_kv_heads, attn, c->head_dim, c->ffn_dim, c->vocab, c->max_ctx,
           c->tied_output ? ", head tied to the embedding" : "");
    printf("  weights %s (%s), KV/token %s (kv_dtype=f16)\n", wb, fmts, kv);
    struct draft_info d;
    if (draft_info_read(path, &d, err, sizeof err) == 0 && d.distilled) {
        char line[512];
        draft_info_format(&d, line, sizeof line);
        printf("  %s\n", line);
    }
    model_free(&m);
    return 0;
}

int cmd_models(struct cli_args *a)
{
    if (a->n_positional > 0) {
        for (int i = 0; i < a->n_positional; i++) {
            int rc = model_file_summary(a->positional[i]);
            if (rc) return rc;
        }
        return 0;
    }
    int n;
    const struct model_preset *p = model_presets(&n);
    enum dtype fmts[] = {DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_K};
    printf("Synthetic presets (--model synth:NAME): deterministic pseudo-random weights.\n");
    printf("KV/token = 2 x layers x kv_heads x head_dim x bytes (kv_dtype=f16, the default: 2 bytes;"
           " f32: 4).\n\n");
    printf("2:4 f16 = layer matrices 2:4-pruned to kept f16 values + 2-bit indices (9 bits per original\n"
           "weight), embedding and head f16 (sparsity=2:4-magnitude|2:4-wanda).\n\n");
    printf("%-14s %8s %5s %7s %-9s %10s %10s %10s %10s %10s %10s %11s\n", "NAME", "PARAMS", "LAYER",
           "HEADS", "ATTN", "f32", "f16", "bf16", "q8_0", "q4_k", "2:4 f16", "KV/token");
    for (int i = 0; i < n; i++) {
        const struct model_config *c = &p[i].cfg;
        char heads[16], kv[24], b[6][24];
        snprintf(heads, sizeof heads, "%d:%d", c->n_heads, c->n_kv_heads);
        for (int f = 0; f < 5; f++) human_bytes(model_weight_bytes(c, fmts[f]), b[f], sizeof b[f]);
        human_bytes(sparsity_model_bytes(c, DT_F16, false), b[5], sizeof b[5]);
        human_bytes(model_kv_bytes_per_token(c, 2), kv, sizeof kv);
        const char *attn = c->n_kv_heads == c->n_heads ? "MHA" : c->n_kv_heads == 1 ? "MQA" : "GQA";
        printf("%-14s %7.2fB %5d %7s %-9s %10s %10s %10s %10s %10s %10s %11s\n", p[i].name,
               model_param_count(c) / 1e9, c->n_layers, heads, attn, b[0], b[1], b[2], b[3], b[4], b[5], kv);
    }
    printf("\nOr a path to a .gguf file (Llama architecture; `make model` fetches SmolLM2-135M):\n"
           "`infertop models FILE.gguf` shows its shape, formats and sizes, and a distilled draft's training\n"
           "summary.\n");
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* `infertop scenarios`: every .ini file in scenarios/ with what it runs. */
int cmd_scenarios(struct cli_args *a)
{
    (void)a;
    char buf[PATH_MAX], path[PATH_MAX + 300], err[512];
    const char *dir = setup_find_path("scenarios", buf, sizeof buf);
    DIR *d = opendir(dir);
    if (!d) { cli_error("%s: cannot open the scenarios folder", dir); return 1; }
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".ini") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    printf("%-28s %-20s %8s  %-10s %s\n", "FILE", "MODEL", "REQUESTS", "ARRIVAL", "DESCRIPTION");
    for (int i = 0; i < n; i++) {
        struct scenario sc;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (scenario_load(path, &sc, err, sizeof err) < 0) {
            printf("%-28s (invalid: %s)\n", path, err);
        } else {
            char req[16];
            if (sc.requests) snprintf(req, sizeof req, "%d", sc.requests);
            else snprintf(req, sizeof req, "%.0fs", sc.duration_s);
            printf("%-28s %-20s %8s  %-10s %s\n", path, sc.model[0] ? sc.model : "(default)", req,
                   arrival_process_name(sc.arrival.process), sc.description);
        }
        free(names[i]);
    }
    printf("\nRun one: infertop tui --scenario F, or infertop bench --scenario F (keys: scenarios/README.md)\n");
    return 0;
}
