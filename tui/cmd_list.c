/* tui/cmd_list.c — `infertop options` and `infertop models`. */
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

int cmd_models(struct cli_args *a)
{
    (void)a;
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
    printf("\nOr a path to a .gguf file (Llama architecture; `make model` fetches SmolLM2-135M).\n");
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
