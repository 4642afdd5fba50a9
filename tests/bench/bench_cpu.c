/* tests/bench/bench_cpu.c — `make bench`: CPU speed against the bandwidth
 * roofline measured in the same run, and naive vs flash attention.
 *
 * 1. STREAM-style read bandwidth (sum of a buffer, 1 and 2 threads) over a
 *    buffer the size of the model's weights and over 1 GiB.
 * 2. synth:smollm2-135m in f32, f16, bf16: prefill tokens/s (prompt 512) and
 *    decode tokens/s at 1 and 2 threads; decode as % of the roofline
 *    (weight bytes per token ÷ bandwidth at that working-set size).
 * 3. Attention naive vs flash at context 512, 2048, 8192 (prefill: n_q = ctx,
 *    SmolLM2 heads 9:3, d 64): measured time, MODELED main-memory and on-chip bytes. */
#include "core/model/forward.h"
#include "core/model/model.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cost.h"
#include "tests/bench/bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *make_buffer(size_t bytes)
{
    float *b = malloc(bytes);
    if (!b) { fprintf(stderr, "bench: out of memory for %zu bytes\n", bytes); exit(1); }
    for (size_t i = 0; i < bytes / sizeof(float); i++) b[i] = (float)(i & 1023) * 1e-3f;
    return b;
}

/* ---- model throughput ---- */



struct speed { double prefill_tok_s, decode_tok_s; };

static struct speed model_speed(struct model *m, int threads, int n_prompt, int n_decode)
{
    char err[256];
    struct speed sp = {0};
    struct backend *be = cpu_backend_create(threads, CPU_SIMD_AVX512);
    struct forward fw;
    struct bench_kv kb;
    bench_kv_init(&kb, &m->cfg, n_prompt + n_decode);
    float *logits = malloc((size_t)m->cfg.vocab * sizeof *logits);
    int32_t *toks = malloc((size_t)n_prompt * sizeof *toks);
    for (int i = 0; i < n_prompt; i++) toks[i] = (i * 7919) % m->cfg.vocab;
    if (!be || !logits || !toks || forward_init(&fw, m, be, n_prompt, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    struct fwd_seq s = {toks, n_prompt, 0, kb.view, false, false};
    uint64_t t0 = now_ns();
    forward_batch(&fw, &s, 1, logits);
    sp.prefill_tok_s = n_prompt / ((now_ns() - t0) / 1e9);
    int32_t tok = 1;
    t0 = now_ns();
    for (int i = 0; i < n_decode; i++) {
        struct fwd_seq d = {&tok, 1, n_prompt + i, kb.view, false, true};
        forward_batch(&fw, &d, 1, logits);
        tok = (int32_t)((tok * 31 + 7) % m->cfg.vocab);
    }
    sp.decode_tok_s = n_decode / ((now_ns() - t0) / 1e9);
    forward_free(&fw);
    backend_destroy(be);
    bench_kv_free(&kb);
    free(logits);
    free(toks);
    return sp;
}

/* ---- attention ---- */

static void attention_bench(int threads)
{
    struct backend *be = cpu_backend_create(threads, CPU_SIMD_AVX512);
    struct attn_shape sh = {9, 3, 64, 0.125f};
    int ctxs[] = {512, 2048, 8192};
    printf("\nattention, prefill (n_q = ctx), heads 9:3, d 64, %d threads; bytes MODELED (kernels/cost.c)\n", threads);
    printf("%6s %-6s %10s %14s %14s %10s\n", "ctx", "impl", "time ms", "DRAM MB", "on-chip MB", "flash x");
    for (int c = 0; c < 3; c++) {
        int n = ctxs[c], kvd = sh.n_kv_heads * sh.head_dim, qd = sh.n_heads * sh.head_dim;
        float *q = malloc((size_t)n * qd * 4), *o = malloc((size_t)n * qd * 4);
        float *k = malloc((size_t)n * kvd * 4), *v = malloc((size_t)n * kvd * 4);
        for (size_t i = 0; i < (size_t)n * qd; i++) q[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
        for (size_t i = 0; i < (size_t)n * kvd; i++) {
            k[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
            v[i] = (float)((i * 9973u) % 1000) / 1000 - 0.5f;
        }
        int32_t table[1] = {0};
        struct kv_view kv = {k, v, (size_t)n * kvd, table, 1, n, kvd, DT_F32};
        double t_naive = 0;
        for (int impl = 0; impl < 2; impl++) {
            struct kernel_record r = {0};
            uint64_t t0 = now_ns();
            be->ops->attention(be, (enum attn_impl)impl, o, q, &kv, 0, n, 0, &sh);
            double ms = (now_ns() - t0) / 1e6;
            cost_attention(&r, (enum attn_impl)impl, &kv, n, 0, &sh);
            if (impl == 0) t_naive = ms;
            char ratio[16] = "";
            if (impl == 1) snprintf(ratio, sizeof ratio, "%.2fx", t_naive / ms);
            printf("%6d %-6s %10.1f %14.1f %14.1f %10s\n", n, impl ? "flash" : "naive", ms,
                   (r.dram_rd + r.dram_wr) / 1e6, (r.chip_rd + r.chip_wr) / 1e6, ratio);
        }
        free(q); free(o); free(k); free(v);
    }
    backend_destroy(be);
}

/* Decode attention (one query) over ctx cached tokens, f32 vs f16 K/V: the
 * step that streams the whole cache; best of `reps` runs. */
static void attention_decode_bench(int threads)
{
    struct backend *be = cpu_backend_create(threads, CPU_SIMD_AVX512);
    struct attn_shape sh = {9, 3, 64, 0.125f};
    int ctxs[] = {1024, 4096, 16384}, reps = 50;
    printf("\nattention, decode (n_q = 1), heads 9:3, d 64, %d threads, flash, best of %d; K/V GB/s "
           "from the MODELED bytes\n", threads, reps);
    printf("%6s %-4s %10s %12s %10s\n", "ctx", "K/V", "time us", "K/V GB/s", "f16 x");
    for (int c = 0; c < 3; c++) {
        int n = ctxs[c], kvd = sh.n_kv_heads * sh.head_dim, qd = sh.n_heads * sh.head_dim;
        size_t kn = (size_t)n * kvd;
        float *q = malloc((size_t)qd * 4), *o = malloc((size_t)qd * 4);
        float *k = malloc(kn * 4), *v = malloc(kn * 4);
        uint16_t *kh = malloc(kn * 2), *vh = malloc(kn * 2);
        if (!q || !o || !k || !v || !kh || !vh) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
        for (int i = 0; i < qd; i++) q[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
        for (size_t i = 0; i < kn; i++) {
            k[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
            v[i] = (float)((i * 9973u) % 1000) / 1000 - 0.5f;
            kh[i] = fp32_to_fp16(k[i]);
            vh[i] = fp32_to_fp16(v[i]);
        }
        int32_t table[1] = {0};
        double t_f32 = 0;
        for (int f16 = 0; f16 < 2; f16++) {
            struct kv_view kv = {f16 ? (void *)kh : (void *)k, f16 ? (void *)vh : (void *)v, kn, table, 1, n,
                                 kvd, f16 ? DT_F16 : DT_F32};
            double best = 1e30;
            for (int r = 0; r < reps; r++) {
                uint64_t t0 = now_ns();
                be->ops->attention(be, ATTN_FLASH, o, q, &kv, 0, 1, n - 1, &sh);
                double us = (now_ns() - t0) / 1e3;
                best = us < best ? us : best;
            }
            if (!f16) t_f32 = best;
            char ratio[16] = "";
            if (f16) snprintf(ratio, sizeof ratio, "%.2fx", t_f32 / best);
            printf("%6d %-4s %10.1f %12.1f %10s\n", n, f16 ? "f16" : "f32", best,
                   2.0 * kn * (f16 ? 2 : 4) / (best * 1e3), ratio);
        }
        free(q); free(o); free(k); free(v); free(kh); free(vh);
    }
    backend_destroy(be);
}

/* `bench_cpu attn`: the attention tables only;
 * `bench_cpu bw BYTES THREADS`: one line "GB/s". (Model speed on GGUF files:
 * `infertop speed`, tests/bench/bench_llamacpp.sh.) */
static int sub_command(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "attn") == 0) {
        attention_bench(2);
        attention_decode_bench(1);
        attention_decode_bench(2);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "bw") == 0) {
        size_t bytes = (size_t)atof(argv[2]);
        float *b = make_buffer(bytes);
        printf("%.2f\n", bench_read_bandwidth(b, bytes, atoi(argv[3]), 5));
        free(b);
        return 0;
    }
    fprintf(stderr, "usage: bench_cpu [attn | bw BYTES THREADS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc > 1) return sub_command(argc, argv);
    char err[256];
    const struct model_config *cfg = &model_preset_find("smollm2-135m")->cfg;
    const size_t GiB = 1ull << 30;
    printf("infertop CPU benchmark — %s\n", "synth:smollm2-135m");
    float *big = make_buffer(GiB);
    double bw1g[3] = {0, bench_read_bandwidth(big, GiB, 1, 3), bench_read_bandwidth(big, GiB, 2, 3)};
    printf("\nread bandwidth (STREAM-style sum), measured now\n");
    printf("  1 GiB buffer:           1 thread %6.1f GB/s   2 threads %6.1f GB/s\n", bw1g[1], bw1g[2]);

    enum dtype fmts[] = {DT_F32, DT_F16, DT_BF16};
    double bw_model[3][3];
    for (int f = 0; f < 3; f++) {
        size_t wb = (size_t)model_weight_bytes(cfg, fmts[f]);
        wb = wb > GiB ? GiB : wb;
        bw_model[f][1] = bench_read_bandwidth(big, wb, 1, 5);
        bw_model[f][2] = bench_read_bandwidth(big, wb, 2, 5);
        printf("  %-4s weights %7.1f MB: 1 thread %6.1f GB/s   2 threads %6.1f GB/s\n",
               dtype_info(fmts[f])->name, wb / 1e6, bw_model[f][1], bw_model[f][2]);
    }
    free(big);

    printf("\nmodel throughput: prefill prompt 512, decode 32 tokens after it\n");
    printf("%-5s %7s %14s %13s %14s %14s\n", "fmt", "threads", "prefill tok/s", "decode tok/s",
           "GB/token", "% of roofline");
    for (int f = 0; f < 3; f++) {
        struct model m;
        if (model_synth(&m, cfg, fmts[f], 1, 2, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
        double bytes_tok = model_weight_bytes(cfg, fmts[f]);
        for (int t = 1; t <= 2; t++) {
            struct speed sp = model_speed(&m, t, 512, 32);
            double roof = bw_model[f][t] * 1e9 / bytes_tok;   /* tokens/s if weights stream at bandwidth */
            printf("%-5s %7d %14.1f %13.2f %14.3f %13.1f%%\n", dtype_info(fmts[f])->name, t,
                   sp.prefill_tok_s, sp.decode_tok_s, bytes_tok / 1e9, 100 * sp.decode_tok_s / roof);
        }
        model_free(&m);
    }
    attention_bench(2);
    attention_decode_bench(2);
    return 0;
}
