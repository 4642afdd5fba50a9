/* kernels/cuda/cuda_fp8_plan.h — the fp8a8 matmul's cuBLASLt FP8 GEMM path:
 * which path a call takes, the device layout of an fp8a8 weight, scratch and
 * workspace sizes (cuda_fp8_plan.c), and the per-element math the kernels run
 * (CM_FN: plain C11 here and in the CPU tests, __host__ __device__ under nvcc).
 * No CUDA headers. Tested on the CPU by tests/unit/test_cuda_fp8.c.
 *
 * The math, W fp8a8 [N][K] (E4M3 codes qw, one f32 scale ws[n] per output
 * channel), x [m][K] quantized to E4M3 codes qx with ONE per-tensor scale a:
 *     y[i][n] = (ws[n] · a) · Σ_k e4m3(qw[n][k]) · e4m3(qx[i][k])
 * cuBLASLt computes the raw sum (column-major: A = the weight codes, K×N with
 * ld K, op T; B = the x codes, K×m_pad with ld K, op N — the "TN" layout FP8
 * requires on sm_89/sm_90; compute and output f32; no A/B scale pointers, so
 * both scales are 1; fast accumulation off), then k_f8lt_epilogue multiplies
 * each element by ws[n]·a (f8lt_epilogue).
 *
 * Why a separate column-scale step: the weight scale is a vector of N, and
 * CUBLASLT_MATMUL_DESC_A/B_SCALE_POINTER in the default SCALAR_32F mode take
 * one float per matrix. CUDA 13's cublasLt.h also has
 * CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F (an A vector of M and a B vector
 * of N multiplying element (i, j)), which could fold ws in, but the header
 * does not say on which architectures it runs and nothing here has run on a
 * GPU; the post-scale works wherever the FP8 GEMM does and multiplies in the
 * CPU backend's order, (ws·a)·Σ, so only the sum's order differs from it.
 * Its cost: one extra read + write of y [m][N] f32.
 *
 * When: cc >= 8.9 (FP8 tensor cores: L4, RTX 4090, H100, H200; not A100),
 * N and K multiples of 16, m >= F8LT_MIN_M; the x codes are padded with zero
 * rows to m_pad (a multiple of 16). cuBLASLt's FP8 rules (cublasLtMatmul in
 * the cuBLAS reference): every matrix pointer 16-byte aligned, A transposed and
 * B not ("TN"), compute type CUBLAS_COMPUTE_32F, scale type CUDA_R_32F; the
 * multiples of 16 keep every leading dimension and offset 16-byte aligned. Everything else runs the fp8a8 CUDA
 * kernels of cuda_xq.cu, and f8lt_why_text says why. Decode (m = 1) stays on
 * them: a matvec reads each weight byte once on either path and is bound by
 * that read, while the GEMM would pad m to 16 (15/16 of the MMA work wasted)
 * and add a quantize and an epilogue launch. F8LT_MIN_M = 16 is a choice (the
 * first m the padding wastes nothing at), NOT a measured crossover: bench_gpu's
 * "fp8a8 m sweep" on a GPU is what should set it. */
#ifndef INFERTOP_CUDA_FP8_PLAN_H
#define INFERTOP_CUDA_FP8_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/cuda/cuda_math.h"
#include "kernels/fp8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define F8LT_MIN_M  16          /* smallest m sent to the GEMM (see above: chosen, not measured) */
#define F8LT_ALIGN  16          /* N, K multiples of it; m padded to it; buffers aligned to it */
/* cuBLAS API reference (cublasSetWorkspace): 32 MiB recommended on Hopper, 4 MiB elsewhere */
#define F8LT_WS_HOPPER ((size_t)32 << 20)
#define F8LT_WS_OTHER  ((size_t)4 << 20)

enum f8lt_why {
    F8LT_OK,            /* the cuBLASLt FP8 GEMM runs */
    F8LT_OFF,           /* turned off (cuda_fp8_gemm_enable) */
    F8LT_OLD_DEVICE,    /* compute capability below 8.9 */
    F8LT_SMALL_M,       /* m < F8LT_MIN_M (decode, small batches) */
    F8LT_N_ALIGN,       /* N not a multiple of 16 */
    F8LT_K_ALIGN,       /* K not a multiple of 16 */
    F8LT_NO_ALGO,       /* cuBLASLt's heuristic offered no algorithm (found at run time) */
    F8LT_WHY_COUNT
};

/* One fp8a8 matmul's path and buffers. The scratch holds, in order, the x
 * codes [m_pad][K], the f32 tensor max (dynamic scale) and, when the GEMM
 * cannot write y directly, the raw sums [m_pad][N] f32; each part starts at a
 * multiple of F8LT_ALIGN. */
struct f8lt_plan {
    bool gemm;                  /* true: cuBLASLt; false: the fp8a8 kernels, for `why` */
    enum f8lt_why why;
    int m, N, K, m_pad;
    bool d_in_place;            /* the GEMM writes y itself (m == m_pad, y 16-byte aligned) */
    size_t codes_bytes;         /* m_pad * K */
    size_t tmax_off;            /* offset of the f32 tensor max */
    size_t acc_off, acc_bytes;  /* raw sums; acc_bytes 0 when d_in_place */
    size_t scratch_bytes;
    size_t workspace_bytes;     /* cuBLASLt workspace (f8lt_workspace_bytes) */
};

/* FP8 tensor-core GEMM needs compute capability >= 8.9. */
bool f8lt_device_ok(int cc_major, int cc_minor);
/* cuBLASLt workspace for a device of this major version (see F8LT_WS_*). */
size_t f8lt_workspace_bytes(int cc_major);
/* Fills p for y[m][N] = x[m][K] · Wᵀ on a device of compute capability
 * cc_major.cc_minor; `enabled` false forces the kernels (F8LT_OFF); y_addr is
 * y's device address (alignment decides d_in_place). Sizes are filled for
 * either path; m, N, K >= 1. */
void f8lt_plan_make(struct f8lt_plan *p, int cc_major, int cc_minor, bool enabled, int m, int N, int K,
                    uintptr_t y_addr);
/* Why the kernels run instead ("m < 16: decode and small batches stay on the
 * fp8a8 kernels", ...); "cuBLASLt FP8 GEMM" for F8LT_OK. */
const char *f8lt_why_text(enum f8lt_why w);
/* The one-line note a device without FP8 GEMM gets, "fp8a8: cuBLASLt FP8 GEMM
 * not supported on sm_80 (needs sm_89+); using the fp8a8 CUDA kernels", into
 * buf; returns 0 (and writes nothing) when the device has it. */
int f8lt_device_note(char *buf, size_t n, int cc_major, int cc_minor);

/* Where an activation-quantized weight's codes and scales sit in its device
 * copy: code k of row n at codes_off + n*code_stride + k, the f32 scale of row
 * n at scale_off + n*scale_stride. */
struct f8lt_wlayout {
    size_t codes_off, code_stride, scale_off, scale_stride, bytes;
};
/* The host row format (kernels/xq_blocks.h: [f32 scale][K codes] per row of
 * row_bytes): what W8A8 keeps on the device. */
struct f8lt_wlayout f8lt_wlayout_rows(int N, int K, size_t row_bytes);
/* The split layout fp8a8 gets on the CUDA backend (every compute capability,
 * so both paths read one copy): the codes [N][K] dense (the GEMM's A, ld K),
 * then the scales [N] f32 from the next multiple of 16. */
struct f8lt_wlayout f8lt_wlayout_split(int N, int K);

/* One 2D copy (cudaMemcpy2D's arguments): `height` rows of `width` bytes,
 * from src + src_off with pitch spitch to dst + dst_off with pitch dpitch. */
struct f8lt_copy2d {
    size_t dst_off, dpitch, src_off, spitch, width, height;
};
/* The two copies that turn N host rows (pitch row_stride, [f32 scale][K
 * codes] each) into the split layout: [0] the codes, [1] the scales. */
void f8lt_upload_copies(struct f8lt_copy2d out[2], int N, int K, size_t row_stride);

/* The per-tensor activation scale: the static one when > 0 (calibrated),
 * else max|x| / 448 (1 when x is all zeros) — the CPU backend's rule
 * (kernels/cpu/cpu_matmul.c act_tensor_scale). */
CM_FN float f8lt_act_scale(float static_scale, float tensor_max)
{
    if (static_scale > 0) return static_scale;
    return tensor_max > 0 ? tensor_max / FP8_E4M3_MAX : 1.0f;
}

/* E4M3 code of x at scale s (> 0): round-to-nearest-even, saturating at
 * ±448 — the CPU's xq_e4m3_encode_scaled, code for code. */
CM_FN uint8_t f8lt_encode(float x, float s) { return fp8_e4m3_from_f32(x / s); }

/* The column-scale epilogue: y = (ws · a) · acc, the CPU's order. */
CM_FN float f8lt_epilogue(float acc, float ws, float a) { return ws * a * acc; }

#ifdef __cplusplus
}
#endif

#endif
