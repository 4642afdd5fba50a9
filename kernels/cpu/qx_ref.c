/* kernels/cpu/qx_ref.c — scalar kernels of the own quantized formats and the
 * dispatch by format and SIMD level; see qx.h. The scalar path dequantizes
 * element by element (the reference the vector paths are tested against). */
#include "kernels/cpu/qx.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

#include <string.h>

static float i4_block_dot(const uint8_t *blk, int g, bool zp, const float *x)
{
    uint16_t dh;
    memcpy(&dh, blk, 2);
    int z = zp ? (int8_t)blk[2] : 8;
    const uint8_t *qs = blk + xq_i4_hdr(zp);
    float s = 0;
    for (int i = 0; i < g; i++) s += (float)(xq_i4_get(qs, g, i) - z) * x[i];
    return fp16_to_fp32(dh) * s;
}

void qx_dot_rows_ref(enum dtype t, const void *w, const float *x, size_t ldx, int nx, int K, float *out)
{
    const uint8_t *b = (const uint8_t *)w + XQ_ROW_HDR;
    float sc = xq_row_scale(w);
    int g = dtype_i4_group(t);
    for (int r = 0; r < nx; r++) {
        const float *xr = x + (size_t)r * ldx;
        float s = 0;
        if (g) {
            bool zp = t >= DT_I4A_32;
            int bb = dtype_info(t)->block_bytes;
            for (int k = 0; k < K / g; k++) s += i4_block_dot((const uint8_t *)w + (size_t)k * bb, g, zp, xr + (size_t)k * g);
            out[r] = s;
            continue;
        }
        for (int k = 0; k < K; k++) {
            float v = t == DT_I8 ? (float)(int8_t)b[k] : t == DT_E5M2 ? fp8_e5m2_to_f32(b[k]) : fp8_e4m3_to_f32(b[k]);
            s += v * xr[k];
        }
        out[r] = sc * s;
    }
}

#define DEFINE_REF(tag, T)                                                                   \
    static void dot_rows_ref_##tag(const void *w, const float *x, size_t ldx, int nx, int K,  \
                                   float *out) { qx_dot_rows_ref(T, w, x, ldx, nx, K, out); }
DEFINE_REF(i8, DT_I8)
DEFINE_REF(e4m3, DT_E4M3)
DEFINE_REF(e5m2, DT_E5M2)
DEFINE_REF(i4s32, DT_I4S_32)
DEFINE_REF(i4s64, DT_I4S_64)
DEFINE_REF(i4s128, DT_I4S_128)
DEFINE_REF(i4a32, DT_I4A_32)
DEFINE_REF(i4a64, DT_I4A_64)
DEFINE_REF(i4a128, DT_I4A_128)

static dot_rows_fn ref_fn(enum dtype t)
{
    switch (t) {
    case DT_I8: return dot_rows_ref_i8;
    case DT_E4M3: return dot_rows_ref_e4m3;
    case DT_E5M2: return dot_rows_ref_e5m2;
    case DT_I4S_32: return dot_rows_ref_i4s32;
    case DT_I4S_64: return dot_rows_ref_i4s64;
    case DT_I4S_128: return dot_rows_ref_i4s128;
    case DT_I4A_32: return dot_rows_ref_i4a32;
    case DT_I4A_64: return dot_rows_ref_i4a64;
    case DT_I4A_128: return dot_rows_ref_i4a128;
    default: return NULL;
    }
}

dot_rows_fn qx_dot_rows_fn(enum dtype t, enum cpu_simd s)
{
    dot_rows_fn f = ref_fn(t);
    if (!f || s == CPU_SIMD_SCALAR) return f;
    dot_rows_fn v = s >= CPU_SIMD_AVX512 ? qx_dot_rows_avx512(t) : NULL;
    if (!v) v = qx_dot_rows_avx2(t);
    return v ? v : f;
}

qx_wrows4_fn qx_wrows4_fn_for(enum dtype t, enum cpu_simd s)
{
    if (s == CPU_SIMD_SCALAR || !ref_fn(t)) return NULL;
    qx_wrows4_fn v = s >= CPU_SIMD_AVX512 ? qx_wrows4_avx512(t) : NULL;
    return v ? v : qx_wrows4_avx2(t);
}

/* ---- activation-quantized formats ---- */

size_t qx_act_bytes(enum dtype wt, int K)
{
    (void)wt;
    return XQ_ROW_HDR + (size_t)K;          /* both: f32 scale + one byte per element */
}

void qx_act_row(enum dtype wt, const float *x, float s, void *xq, int K)
{
    if (wt == DT_F8A8) xq_e4m3_encode_scaled(x, xq, K, s);
    else xq_i8_encode_scaled(x, xq, K, s);
}

static void act_dot_ref_w8a8(const void *w, const void *xq, size_t xs, int nx, int K, float *out)
{
    const int8_t *wq = (const int8_t *)w + XQ_ROW_HDR;
    for (int r = 0; r < nx; r++) {
        const uint8_t *a = (const uint8_t *)xq + (size_t)r * xs;
        out[r] = xq_row_scale(w) * xq_row_scale(a) * (float)xq_dot_i8(wq, (const int8_t *)(a + XQ_ROW_HDR), K);
    }
}

static void act_dot_ref_f8a8(const void *w, const void *xq, size_t xs, int nx, int K, float *out)
{
    const uint8_t *wb = (const uint8_t *)w + XQ_ROW_HDR;
    for (int r = 0; r < nx; r++) {
        const uint8_t *a = (const uint8_t *)xq + (size_t)r * xs;
        float s = 0;
        for (int k = 0; k < K; k++) s += fp8_e4m3_to_f32(wb[k]) * fp8_e4m3_to_f32(a[XQ_ROW_HDR + k]);
        out[r] = xq_row_scale(w) * xq_row_scale(a) * s;
    }
}

qx_act_dot_fn qx_act_dot_fn_for(enum dtype wt, enum cpu_simd s)
{
    qx_act_dot_fn f = wt == DT_W8A8 ? act_dot_ref_w8a8 : wt == DT_F8A8 ? act_dot_ref_f8a8 : NULL;
    if (!f || s == CPU_SIMD_SCALAR) return f;
    qx_act_dot_fn v = qx_act_dot_avx2(wt, s >= CPU_SIMD_AVX512 && qx_have_vnni());
    return v ? v : f;
}
