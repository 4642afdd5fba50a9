/* kernels/cpu/cpu_backend.c — the CPU backend's vtable, lifecycle and memory.
 * Activations live in ordinary (64-byte aligned) host memory, so upload and
 * download are memcpy and weights are read in place from w->data. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/quant_amx.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CPU_ALIGN 64

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

void *cpu_scratch_get(struct cpu_scratch *s, size_t bytes, const char *what)
{
    if (bytes <= s->bytes) return s->p;
    void *p = aligned_alloc(CPU_ALIGN, round_up(bytes ? bytes : 1, CPU_ALIGN));
    if (!p) {
        fprintf(stderr, "cpu backend: out of memory for %s (%zu bytes)\n", what, bytes);
        abort();
    }
    free(s->p);
    s->p = p;
    s->bytes = bytes;
    return p;
}

void cpu_scratch_free(struct cpu_scratch *s)
{
    free(s->p);
    s->p = NULL;
    s->bytes = 0;
}

/* Weights: every format (float formats through cpu_dot, block formats through
 * quant.h). K/V caches: f32 and f16. Activations: f32. */
static bool cpu_supports(struct backend *be, enum backend_op op, enum dtype t)
{
    (void)be;
    switch (op) {
    case OP_MATMUL:
    case OP_EMBED: return true;
    case OP_ATTENTION:
    case OP_KV_STORE: return t == DT_F32 || t == DT_F16;
    default: return t == DT_F32;
    }
}

/* Host memory, counted per (virtual) device so a group's devices each show
 * their own footprint. */
static void *cpu_alloc(struct backend *be, size_t bytes)
{
    void *p = aligned_alloc(CPU_ALIGN, round_up(bytes ? bytes : 1, CPU_ALIGN));
    if (p) cpu_ctx(be)->allocated += malloc_usable_size(p);
    return p;
}

static void cpu_free(struct backend *be, void *p)
{
    if (p) cpu_ctx(be)->allocated -= malloc_usable_size(p);
    free(p);
}

size_t cpu_backend_allocated(struct backend *be) { return cpu_ctx(be)->allocated; }

static void cpu_copy(struct backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    memcpy(dst, src, bytes);
}

static void cpu_destroy(struct backend *be)
{
    struct cpu_ctx *c = cpu_ctx(be);
    pool_destroy(c->pool);
    cpu_scratch_free(&c->act);
    cpu_scratch_free(&c->attn);
    cpu_scratch_free(&c->cand);
    free(c);
    free(be);
}

static const struct backend_ops CPU_OPS = {
    .name = "cpu",
    .async = false,
    .supports = cpu_supports,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload_weight = NULL,           /* weights are read from w->data */
    .upload = cpu_copy,
    .download = cpu_copy,
    .matmul = cpu_matmul,
    .attention = cpu_attention,
    .kv_store = cpu_kv_store,
    .rmsnorm = cpu_rmsnorm,
    .rope = cpu_rope,
    .swiglu = cpu_swiglu,
    .add = cpu_add,
    .embed = cpu_embed,
    .all_reduce = cpu_all_reduce,
    .all_gather = cpu_all_gather,
    .reduce_scatter = cpu_reduce_scatter,
    .send = cpu_send,
    .recv = cpu_recv,
    .sample = cpu_sample,
    .sync = NULL,                    /* every op is synchronous */
    .destroy = cpu_destroy,
};

/* "AMD EPYC" from /proc/cpuinfo's model name, or "CPU" where there is none. */
static void cpu_model_name(char *out, size_t n)
{
    snprintf(out, n, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = '\0';
        if (*v) snprintf(out, n, "%s", v);
        break;
    }
    fclose(f);
}

static int online_threads(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

/* "; amx: <why>" when the processor has AMX but this process may not use it
 * (the kernel refused the tile state), so the fallback to VNNI is visible
 * wherever the device is named; "" otherwise. */
static const char *amx_refusal(enum cpu_simd got, enum cpu_simd max_simd)
{
    static _Thread_local char buf[80];
    const char *why = NULL;
    if (got != CPU_SIMD_AVX512 || max_simd < CPU_SIMD_AMX || quant_amx_available(&why) || !why ||
        strncmp(why, "no amx", 6) == 0)
        return "";
    snprintf(buf, sizeof buf, "; amx: %s", why);
    return buf;
}

enum cpu_simd cpu_backend_simd(const struct backend *be) { return ((const struct cpu_ctx *)be->ctx)->simd; }

struct backend *cpu_backend_create(int n_threads, enum cpu_simd max_simd)
{
    if (n_threads <= 0) n_threads = online_threads();
    struct backend *be = calloc(1, sizeof *be);
    struct cpu_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) { free(be); free(c); return NULL; }
    c->pool = pool_create(n_threads);
    if (!c->pool) { free(be); free(c); return NULL; }
    enum cpu_simd best = cpu_simd_detect();
    c->simd = best < max_simd ? best : max_simd;

    be->ops = &CPU_OPS;
    be->ctx = c;
    be->n_threads = n_threads;
    char model[64];
    cpu_model_name(model, sizeof model);
    snprintf(be->device_name, sizeof be->device_name, "%.40s (%d thread%s, %s%.40s)", model, n_threads,
             n_threads == 1 ? "" : "s", cpu_simd_name(c->simd), amx_refusal(c->simd, max_simd));
    snprintf(be->reason, sizeof be->reason, "cpu");
    return be;
}

int cpu_backend_create_group(int n_devices, int n_threads, enum cpu_simd max_simd, struct backend **out)
{
    if (n_devices < 1) return -1;
    if (n_threads <= 0) n_threads = online_threads();
    for (int k = 0; k < n_devices; k++) {
        int share = n_threads / n_devices + (k < n_threads % n_devices);
        out[k] = cpu_backend_create(share < 1 ? 1 : share, max_simd);
        if (!out[k]) {
            while (k-- > 0) backend_destroy(out[k]);
            return -1;
        }
        out[k]->device = k;
        if (n_devices > 1) {
            char name[sizeof out[k]->device_name];
            snprintf(name, sizeof name, "%s", out[k]->device_name);
            snprintf(out[k]->device_name, sizeof out[k]->device_name, "vdev %d/%d: %.64s", k, n_devices, name);
        }
    }
    return 0;
}
