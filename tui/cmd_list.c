/* tui/cmd_list.c — `infertop options` and `infertop models`. */
#include "core/model.h"
#include "tui/cli.h"

#include <stdio.h>

int cmd_options(struct cli_args *a)
{
    (void)a;
    options_print_table(stdout);
    printf("\nSet with --set k=v (repeatable, or \"k=v k2=v2\"); LIVE options can change mid-run.\n");
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
    printf("KV/token = 2 x layers x kv_heads x head_dim x bytes (f16 cache: 2 bytes).\n\n");
    printf("%-14s %8s %5s %7s %-9s %10s %10s %10s %10s %10s %11s\n", "NAME", "PARAMS", "LAYER",
           "HEADS", "ATTN", "f32", "f16", "bf16", "q8_0", "q4_k", "KV/token");
    for (int i = 0; i < n; i++) {
        const struct model_config *c = &p[i].cfg;
        char heads[16], kv[24], b[5][24];
        snprintf(heads, sizeof heads, "%d:%d", c->n_heads, c->n_kv_heads);
        for (int f = 0; f < 5; f++) human_bytes(model_weight_bytes(c, fmts[f]), b[f], sizeof b[f]);
        human_bytes(model_kv_bytes_per_token(c, 2), kv, sizeof kv);
        const char *attn = c->n_kv_heads == c->n_heads ? "MHA" : c->n_kv_heads == 1 ? "MQA" : "GQA";
        printf("%-14s %7.2fB %5d %7s %-9s %10s %10s %10s %10s %10s %11s\n", p[i].name,
               model_param_count(c) / 1e9, c->n_layers, heads, attn, b[0], b[1], b[2], b[3], b[4], kv);
    }
    printf("\nOr a path to a .gguf file (Llama architecture; `make model` fetches SmolLM2-135M).\n");
    return 0;
}
