/* core/plan/hw.c — the GPU rows of the hardware table (data) and the spec
 * parser; the host's measurement is core/plan/hw_host.c. Specs as roofline
 * devices (with the options) are core/plan/hw_device.c.
 *
 * Columns: dense TFLOP/s per path {fp32, tf32, fp16, bf16, fp8, int8}, then
 * the 2:4 sparse figures in their own column. Traps kept out: LLM-Viewer's
 * H100 row put the sparse FP16 figure (1979) in the dense column; some pages
 * list H200 FP8 "3958 dense" — that is the sparse figure. */
#include "core/plan/hw.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct hw_row ROWS[] = {
    /* NVIDIA H100 Tensor Core GPU datasheet (SXM column): 80 GB HBM3, 3.35 TB/s, FP32 67,
     * TF32 989 / FP16 1979 / BF16 1979 / FP8 3958 / INT8 3958 "with sparsity" (dense = half),
     * NVLink 900 GB/s bidirectional; 132 SMs and 50 MB L2 from the Hopper architecture
     * whitepaper. Shared memory per SM 228 KB: [unchecked] (Hopper tuning guide figure from
     * memory; not verified against a source here). */
    {"h100", "NVIDIA H100 SXM", 80, 3350, {67, 494.5, 989.5, 989.5, 1979, 1979},
     {0, 989, 1979, 1979, 3958, 3958}, 132, 50, 228, 450, HW_LINK_HOP_NVLINK_US, "NVLink 4 (900 GB/s bidirectional)",
     "NVIDIA H100 datasheet (SXM), Hopper whitepaper; smem/SM unchecked"},
    /* NVIDIA H200 datasheet (SXM): 141 GB HBM3e, 4.8 TB/s, the same GH100 die and compute as
     * the H100 SXM (FP8 3958 TFLOPS with sparsity), NVLink 900 GB/s. L2 50 MB and smem/SM
     * 228 KB: [unchecked] — taken as the H100's because the die is the same. */
    {"h200", "NVIDIA H200 SXM", 141, 4800, {67, 494.5, 989.5, 989.5, 1979, 1979},
     {0, 989, 1979, 1979, 3958, 3958}, 132, 50, 228, 450, HW_LINK_HOP_NVLINK_US, "NVLink 4 (900 GB/s bidirectional)",
     "NVIDIA H200 datasheet (SXM); L2 and smem/SM unchecked (same die as H100)"},
    /* NVIDIA A100 datasheet (80GB SXM): 2039 GB/s HBM2e, FP32 19.5, TF32 156 (312 sparse),
     * FP16/BF16 312 (624), INT8 624 (1248) TOPS, no FP8; NVLink 600 GB/s bidirectional;
     * 108 SMs, 40 MB L2 (Ampere whitepaper); 164 KB shared memory per SM (Ampere tuning
     * guide: carveout up to 164 KB; deviceQuery). */
    {"a100", "NVIDIA A100 80GB SXM", 80, 2039, {19.5, 156, 312, 312, 0, 624},
     {0, 312, 624, 624, 0, 1248}, 108, 40, 164, 300, HW_LINK_HOP_NVLINK_US, "NVLink 3 (600 GB/s bidirectional)",
     "NVIDIA A100 datasheet (80GB SXM), Ampere whitepaper and tuning guide"},
    /* NVIDIA L4 datasheet: 24 GB GDDR6, 300 GB/s, FP32 30.3, TF32 120 / FP16 242 / BF16 242 /
     * FP8 485 / INT8 485 with sparsity (dense = half), PCIe Gen4 x16 (64 GB/s bidirectional);
     * 48 MB L2; SMs 58 (sources differ: 58 or 60); 100 KB shared memory per SM (Ada,
     * compute capability 8.9, as 8.6: carveout up to 100 KB). */
    {"l4", "NVIDIA L4", 24, 300, {30.3, 60, 121, 121, 242.5, 242.5},
     {0, 120, 242, 242, 485, 485}, 58, 48, 100, 32, HW_LINK_HOP_PCIE_US, "PCIe 4.0 x16 (64 GB/s bidirectional)",
     "NVIDIA L4 datasheet; Ada whitepaper (SM count: sources differ, 58 or 60)"},
    /* NVIDIA Ada Lovelace architecture whitepaper (GeForce RTX 4090): 24 GB GDDR6X,
     * 1008 GB/s, FP32 82.6, tensor FP16/BF16 165.2 (330.4 sparse) and FP8 330.3 (660.6) with
     * FP32 accumulate, INT8 660.6 (1321.2) TOPS, TF32 82.6 (165.2); 128 SMs, 72 MB L2, 100 KB
     * shared memory per SM (128 KB L1/shared); no NVLink: PCIe 4.0 x16. */
    {"rtx4090", "NVIDIA GeForce RTX 4090", 24, 1008, {82.6, 82.6, 165.2, 165.2, 330.3, 660.6},
     {0, 165.2, 330.4, 330.4, 660.6, 1321.2}, 128, 72, 100, 32, HW_LINK_HOP_PCIE_US, "PCIe 4.0 x16 (64 GB/s bidirectional)",
     "NVIDIA Ada Lovelace whitepaper (RTX 4090, FP32-accumulate tensor figures)"},
};
#define N_ROWS (int)(sizeof ROWS / sizeof ROWS[0])

const struct hw_row *hw_rows(int *n)
{
    *n = N_ROWS;
    return ROWS;
}

const struct hw_row *hw_find(const char *key)
{
    for (int i = 0; i < N_ROWS; i++)
        if (strcmp(ROWS[i].key, key) == 0) return &ROWS[i];
    return NULL;
}

/* s lowercased with everything but letters and digits dropped ("RTX 4090" → "rtx4090"). */
static void alnum_lower(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++)
        if (isalnum((unsigned char)*s)) out[k++] = (char)tolower((unsigned char)*s);
    out[k] = '\0';
}

const struct hw_row *hw_for_device(const char *device_name)
{
    if (!device_name) return NULL;
    char name[128];
    alnum_lower(name, sizeof name, device_name);
    const struct hw_row *best = NULL;
    for (int i = 0; i < N_ROWS; i++)
        if (strstr(name, ROWS[i].key) && (!best || strlen(ROWS[i].key) > strlen(best->key))) best = &ROWS[i];
    return best;
}

void hw_bw_line(char *out, size_t n, double measured_bw, const char *device_name)
{
    if (n) out[0] = '\0';
    if (!(measured_bw > 0)) return;
    const struct hw_row *r = hw_for_device(device_name);
    if (r)
        snprintf(out, n, "copy %.2f TB/s measured vs %.2f TB/s datasheet (%s)", measured_bw / 1e12,
                 r->bw_gbs / 1e3, r->key);
    else
        snprintf(out, n, "copy %.2f TB/s measured (no datasheet row)", measured_bw / 1e12);
}

/* name (the whole spec, or the part before "xN") as a row or the host. */
static bool known(const char *name, const struct hw_row **row, bool *host)
{
    *host = strcmp(name, "host") == 0;
    *row = *host ? NULL : hw_find(name);
    return *host || *row;
}

/* spec as it may appear in a one-line message: printable ASCII, the rest
 * '?', at most 40 characters ("..." when cut). */
static const char *printable(const char *spec, char out[48])
{
    size_t i = 0;
    for (; spec[i] && i < 40; i++) out[i] = spec[i] >= 0x20 && spec[i] < 0x7f ? spec[i] : '?';
    snprintf(out + i, 48 - i, "%s", spec[i] ? "..." : "");
    return out;
}

int hw_parse(const char *spec, const struct hw_row **row, bool *host, int *n, char *err, size_t errlen)
{
    char shown[48];
    char name[32];
    *n = 1;
    if (known(spec, row, host)) return 0;            /* "rtx4090" has an x of its own */
    const char *x = strrchr(spec, 'x');
    size_t len = x ? (size_t)(x - spec) : 0;
    if (x && len > 0 && len < sizeof name && x[1] && strspn(x + 1, "0123456789") == strlen(x + 1)) {
        memcpy(name, spec, len);
        name[len] = 0;
        if (known(name, row, host)) {
            long k = strlen(x + 1) <= 2 ? strtol(x + 1, NULL, 10) : 0;
            if (k >= 1 && k <= 16) { *n = (int)k; return 0; }
            snprintf(err, errlen, "gpu: '%s': device count %s; expected x1..x16", printable(spec, shown), x + 1);
            return -1;
        }
    }
    *row = NULL;
    *host = false;
    snprintf(err, errlen, "gpu: unknown '%s'; expected h100, h200, a100, l4, rtx4090 or host, "
             "optionally xN (N devices, 1..16)", printable(spec, shown));
    return -1;
}

void hw_row_device(const struct hw_row *row, int n, struct roof_device *out)
{
    memset(out, 0, sizeof *out);
    if (n > 1) snprintf(out->name, sizeof out->name, "%dx %s", n, row->name);
    else snprintf(out->name, sizeof out->name, "%s", row->name);
    out->n_devices = n;
    out->mem_bytes = row->mem_gb * 1e9 * n;
    out->bw = row->bw_gbs * 1e9 * n;
    for (int p = 0; p < RP_COUNT; p++) out->flops[p] = row->dense_tflops[p] * 1e12 * n;
    out->link_bw = row->link_gbs * 1e9;
    out->link_base_s = HW_LINK_BASE_US * 1e-6;
    out->link_hop_s = row->link_hop_us * 1e-6;
    out->op_overhead_s = HW_GPU_OP_OVERHEAD_S;
    out->mem_eff = (struct roof_curve){HW_GPU_MEM_EFF_SMALL, HW_GPU_MEM_EFF_LARGE, HW_GPU_MEM_EFF_HALF};
    out->flop_eff = (struct roof_curve){HW_GPU_FLOP_EFF_SMALL, HW_GPU_FLOP_EFF_LARGE, HW_GPU_FLOP_EFF_HALF};
}
