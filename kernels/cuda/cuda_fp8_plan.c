/* kernels/cuda/cuda_fp8_plan.c — path choice, layouts and sizes of the fp8a8
 * cuBLASLt FP8 GEMM (plain C; see cuda_fp8_plan.h). */
#include "kernels/cuda/cuda_fp8_plan.h"
#include "kernels/xq_blocks.h"

#include <stdio.h>

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

bool f8lt_device_ok(int cc_major, int cc_minor)
{
    return cc_major > 8 || (cc_major == 8 && cc_minor >= 9);
}

size_t f8lt_workspace_bytes(int cc_major) { return cc_major >= 9 ? F8LT_WS_HOPPER : F8LT_WS_OTHER; }

/* The first reason, in the order a reader checks them: device, switch, shape. */
static enum f8lt_why plan_why(int cc_major, int cc_minor, bool enabled, int m, int N, int K)
{
    if (!f8lt_device_ok(cc_major, cc_minor)) return F8LT_OLD_DEVICE;
    if (!enabled) return F8LT_OFF;
    if (m < F8LT_MIN_M) return F8LT_SMALL_M;
    if (N % F8LT_ALIGN != 0) return F8LT_N_ALIGN;
    if (K % F8LT_ALIGN != 0) return F8LT_K_ALIGN;
    return F8LT_OK;
}

void f8lt_plan_make(struct f8lt_plan *p, int cc_major, int cc_minor, bool enabled, int m, int N, int K,
                    uintptr_t y_addr)
{
    p->why = plan_why(cc_major, cc_minor, enabled, m, N, K);
    p->gemm = p->why == F8LT_OK;
    p->m = m;
    p->N = N;
    p->K = K;
    p->m_pad = (int)round_up((size_t)m, F8LT_ALIGN);
    p->d_in_place = p->m_pad == m && y_addr % F8LT_ALIGN == 0;
    p->codes_bytes = (size_t)p->m_pad * (size_t)K;
    p->tmax_off = round_up(p->codes_bytes, F8LT_ALIGN);
    p->acc_off = p->tmax_off + F8LT_ALIGN;
    p->acc_bytes = p->d_in_place ? 0 : sizeof(float) * (size_t)p->m_pad * (size_t)N;
    p->scratch_bytes = p->acc_off + p->acc_bytes;
    p->workspace_bytes = f8lt_workspace_bytes(cc_major);
}

const char *f8lt_why_text(enum f8lt_why w)
{
    static const char *T[F8LT_WHY_COUNT] = {
        [F8LT_OK] = "cuBLASLt FP8 GEMM",
        [F8LT_OFF] = "cuBLASLt FP8 GEMM turned off: the fp8a8 kernels",
        [F8LT_OLD_DEVICE] = "compute capability below 8.9 has no FP8 tensor cores: the fp8a8 kernels",
        [F8LT_SMALL_M] = "m < 16: decode and small batches stay on the fp8a8 kernels",
        [F8LT_N_ALIGN] = "N not a multiple of 16 (cuBLASLt FP8): the fp8a8 kernels",
        [F8LT_K_ALIGN] = "K not a multiple of 16 (cuBLASLt FP8): the fp8a8 kernels",
        [F8LT_NO_ALGO] = "cuBLASLt offered no FP8 algorithm for this shape: the fp8a8 kernels",
    };
    return (unsigned)w < F8LT_WHY_COUNT ? T[w] : "unknown reason";
}

int f8lt_device_note(char *buf, size_t n, int cc_major, int cc_minor)
{
    if (f8lt_device_ok(cc_major, cc_minor)) return 0;
    snprintf(buf, n, "fp8a8: cuBLASLt FP8 GEMM not supported on sm_%d%d (needs sm_89+); using the fp8a8 CUDA kernels",
             cc_major, cc_minor);
    return 1;
}

struct f8lt_wlayout f8lt_wlayout_rows(int N, int K, size_t row_bytes)
{
    (void)K;
    struct f8lt_wlayout l = {XQ_ROW_HDR, row_bytes, 0, row_bytes, row_bytes * (size_t)N};
    return l;
}

struct f8lt_wlayout f8lt_wlayout_split(int N, int K)
{
    size_t codes = (size_t)N * (size_t)K, soff = round_up(codes, F8LT_ALIGN);
    struct f8lt_wlayout l = {0, (size_t)K, soff, sizeof(float), soff + sizeof(float) * (size_t)N};
    return l;
}

void f8lt_upload_copies(struct f8lt_copy2d out[2], int N, int K, size_t row_stride)
{
    struct f8lt_wlayout l = f8lt_wlayout_split(N, K);
    out[0] = (struct f8lt_copy2d){l.codes_off, l.code_stride, XQ_ROW_HDR, row_stride, (size_t)K, (size_t)N};
    out[1] = (struct f8lt_copy2d){l.scale_off, l.scale_stride, 0, row_stride, sizeof(float), (size_t)N};
}
