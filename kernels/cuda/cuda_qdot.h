/* kernels/cuda/cuda_qdot.h — per-block math of the CUDA matmul for ggml's block
 * formats (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K; layouts in kernels/quant_blocks.h),
 * shared by kernels/cuda/cuda_qdot.cu and the CPU unit tests
 * (tests/unit/test_cuda_qdot.c), which compare it with the CPU backend's
 * scalar integer dots and a double-precision dequantized product.
 *
 * The method is the CPU backend's: every activation row is quantized once to
 * int8 blocks (qd_act32 per 32 elements for Q8_0/Q4_0/Q4_1, qd_act256 per 256
 * for the K formats, the same rounding as the CPU's act_q8 / act_q8k so the
 * integer sums are identical), then each weight block is dequantized in
 * registers only as far as its integer codes and dotted with the codes four
 * bytes at a time (qd_dp4a: the dp4a instruction on the GPU, the same sum in
 * C on the host). Scales are applied once per block in f32.
 *
 * Weight blocks are 34/18/20/144/210 bytes, so their codes are only 2-byte
 * aligned: they are read byte-wise and packed (qd_pack4). Activation blocks
 * keep their int8 codes 4-byte aligned. Everything is `static inline HD`,
 * C11 and CUDA C++ alike; no libc beyond <math.h>/<string.h>. */
#ifndef INFERTOP_CUDA_QDOT_H
#define INFERTOP_CUDA_QDOT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/formats.h"
#include "kernels/hd.h"
#include "kernels/xq_blocks.h"

#define QD_FN HD static inline

/* Activation blocks (device scratch, never stored in files). */
struct qd_act32 { float d, s; int8_t qs[32]; };                    /* s = d·Σqs, both f16-rounded */
struct qd_act256 { float d; int8_t qs[256]; int16_t bsums[16]; };  /* bsums[j] = Σ qs[16j..16j+15] */

/* Block geometry of a ggml block format: elements, bytes; 0 when not one. */
QD_FN int qd_block_elems(int t) { return t == DT_Q4_K || t == DT_Q6_K ? 256 : t >= DT_Q8_0 && t <= DT_Q4_1 ? 32 : 0; }
QD_FN int qd_block_bytes(int t)
{
    switch (t) {
    case DT_Q8_0: return 34;
    case DT_Q4_0: return 18;
    case DT_Q4_1: return 20;
    case DT_Q4_K: return 144;
    case DT_Q6_K: return 210;
    default: return 0;
    }
}
/* Whether t's activations are qd_act256 (the K formats) rather than qd_act32. */
QD_FN int qd_uses_act256(int t) { return t == DT_Q4_K || t == DT_Q6_K; }
QD_FN int qd_act_bytes(int t) { return qd_uses_act256(t) ? (int)sizeof(struct qd_act256) : (int)sizeof(struct qd_act32); }

/* Little-endian u16 at p (any alignment). */
QD_FN uint16_t qd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
QD_FN float qd_half(const uint8_t *p) { return xq_half_to_f32(qd_u16(p)); }

/* f32 → nearest f16 → f32 (round to nearest even), as fp32_to_fp16 + fp16_to_fp32
 * in kernels/formats.c: ggml keeps Q8 activation scales in f16. */
QD_FN float qd_round_half(float f)
{
    uint32_t u = fp8_f32_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    uint16_t h;
    if (a > 0x7f800000u) h = (uint16_t)(sign | 0x7e00u);
    else if (a >= 0x477ff000u) h = (uint16_t)(sign | 0x7c00u);
    else if (a < 0x38800000u) h = (uint16_t)(sign | (uint32_t)rintf(fp8_bits_f32(a) * 16777216.0f));
    else h = (uint16_t)(sign | ((a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u) >> 13));
    return xq_half_to_f32(h);
}

/* Four signed bytes → one int (byte 0 lowest), for qd_dp4a. */
QD_FN int qd_pack4(int b0, int b1, int b2, int b3)
{
    return (int)((uint32_t)(uint8_t)b0 | (uint32_t)(uint8_t)b1 << 8 | (uint32_t)(uint8_t)b2 << 16 |
                 (uint32_t)(uint8_t)b3 << 24);
}

/* c + Σ_{j<4} a.byte[j] · b.byte[j], bytes signed: dp4a on sm_61+, the same
 * integer sum on the host (exact either way). */
QD_FN int qd_dp4a(int a, int b, int c)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 610
    return __dp4a(a, b, c);
#else
    for (int j = 0; j < 4; j++) c += (int)(int8_t)(uint8_t)((uint32_t)a >> (8 * j)) * (int)(int8_t)(uint8_t)((uint32_t)b >> (8 * j));
    return c;
#endif
}

/* Four aligned activation codes as one int. */
QD_FN int qd_load4(const int8_t *q)
{
    uint32_t v;
    memcpy(&v, q, 4);
    return (int)v;
}

/* ---- activation quantization: symmetric int8, scale amax/127 ---- */

QD_FN float qd_quantize_span(const float *x, int8_t *q, int n)
{
    float amax = 0.f;
    for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.f, id = amax > 0.f ? 127.f / amax : 0.f;
    for (int i = 0; i < n; i++) {
        float v = rintf(x[i] * id);
        q[i] = (int8_t)(v > 127.f ? 127.f : v < -127.f ? -127.f : v);
    }
    return d;
}

/* x[32] → a (the CPU's act_q8_row block: d and d·Σq rounded through f16). */
QD_FN void qd_act32_quantize(const float *x, struct qd_act32 *a)
{
    float d = qd_quantize_span(x, a->qs, 32);
    int sum = 0;
    for (int i = 0; i < 32; i++) sum += a->qs[i];
    a->d = qd_round_half(d);
    a->s = qd_round_half(d * (float)sum);
}

/* x[256] → a (the CPU's act_q8k_row block). */
QD_FN void qd_act256_quantize(const float *x, struct qd_act256 *a)
{
    a->d = qd_quantize_span(x, a->qs, 256);
    for (int j = 0; j < 16; j++) {
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += a->qs[16 * j + i];
        a->bsums[j] = (int16_t)sum;
    }
}

/* ---- one weight block · one activation block ---- */

/* Σ nibble·x over a Q4_0/Q4_1 block's 16 code bytes (byte l: elem l low, l+16 high). */
QD_FN int qd_nibble_dot32(const uint8_t *qs, const int8_t *x)
{
    int s = 0;
    for (int l = 0; l < 16; l += 4) {
        int lo = qd_pack4(qs[l] & 15, qs[l + 1] & 15, qs[l + 2] & 15, qs[l + 3] & 15);
        int hi = qd_pack4(qs[l] >> 4, qs[l + 1] >> 4, qs[l + 2] >> 4, qs[l + 3] >> 4);
        s = qd_dp4a(lo, qd_load4(x + l), s);
        s = qd_dp4a(hi, qd_load4(x + l + 16), s);
    }
    return s;
}

/* Q8_0 (d f16, qs int8[32]): d·dx·Σq·qx. */
QD_FN float qd_dot_q8_0(const uint8_t *b, const struct qd_act32 *a)
{
    const uint8_t *q = b + 2;
    int s = 0;
    for (int l = 0; l < 32; l += 4) s = qd_dp4a(qd_pack4(q[l], q[l + 1], q[l + 2], q[l + 3]), qd_load4(a->qs + l), s);
    return qd_half(b) * a->d * (float)s;
}

/* Q4_0 (d f16, 16 code bytes): d·(q-8)·x = d·(dx·Σq·qx - 8·s). */
QD_FN float qd_dot_q4_0(const uint8_t *b, const struct qd_act32 *a)
{
    int s = qd_nibble_dot32(b + 2, a->qs);
    return qd_half(b) * (a->d * (float)s - 8.f * a->s);
}

/* Q4_1 (d, m f16, 16 code bytes): (d·q + m)·x = d·dx·Σq·qx + m·s. */
QD_FN float qd_dot_q4_1(const uint8_t *b, const struct qd_act32 *a)
{
    int s = qd_nibble_dot32(b + 4, a->qs);
    return qd_half(b) * a->d * (float)s + qd_half(b + 2) * a->s;
}

/* Q4_K (d, dmin f16, 12 scale bytes, 128 code bytes): Σ_j (d·sc_j·q - dmin·mn_j)·x
 * over 8 sub-blocks of 32; the min term uses the activation's 16-element sums. */
QD_FN float qd_dot_q4_k(const uint8_t *b, const struct qd_act256 *a)
{
    const uint8_t *s = b + 4, *qs = b + 16;
    int sq = 0, sm = 0;
    for (int c = 0; c < 4; c++) {
        int j0 = 2 * c, j1 = 2 * c + 1;
        /* kernels/quant_decode.c q4k_unpack_scales for sub-blocks j0, j1 */
        int sc0 = j0 < 4 ? s[j0] & 63 : (s[j0 + 4] & 15) | ((s[j0 - 4] >> 6) << 4);
        int mn0 = j0 < 4 ? s[j0 + 4] & 63 : (s[j0 + 4] >> 4) | ((s[j0] >> 6) << 4);
        int sc1 = j1 < 4 ? s[j1] & 63 : (s[j1 + 4] & 15) | ((s[j1 - 4] >> 6) << 4);
        int mn1 = j1 < 4 ? s[j1 + 4] & 63 : (s[j1 + 4] >> 4) | ((s[j1] >> 6) << 4);
        const uint8_t *q = qs + 32 * c;
        const int8_t *x = a->qs + 64 * c;
        int s0 = 0, s1 = 0;
        for (int l = 0; l < 32; l += 4) {
            s0 = qd_dp4a(qd_pack4(q[l] & 15, q[l + 1] & 15, q[l + 2] & 15, q[l + 3] & 15), qd_load4(x + l), s0);
            s1 = qd_dp4a(qd_pack4(q[l] >> 4, q[l + 1] >> 4, q[l + 2] >> 4, q[l + 3] >> 4), qd_load4(x + 32 + l), s1);
        }
        sq += sc0 * s0 + sc1 * s1;
        sm += mn0 * (a->bsums[2 * j0] + a->bsums[2 * j0 + 1]) + mn1 * (a->bsums[2 * j1] + a->bsums[2 * j1 + 1]);
    }
    return a->d * (qd_half(b) * (float)sq - qd_half(b + 2) * (float)sm);
}

/* q in 0..63 of element e of a Q6_K block (ql[128], qh[64]; kernels/quant_decode.c q6k_get). */
QD_FN int qd_q6k_get(const uint8_t *b, int e)
{
    int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
    uint8_t lo = b[64 * half + 32 * (quarter & 1) + l];
    int low4 = quarter < 2 ? (lo & 15) : (lo >> 4);
    int high2 = (b[128 + 32 * half + l] >> (2 * quarter)) & 3;
    return low4 | (high2 << 4);
}

/* Q6_K (ql[128], qh[64], int8 scales[16], d f16): d·dx·Σ_j sc_j·(Σq·qx - 32·bsum_j). */
QD_FN float qd_dot_q6_k(const uint8_t *b, const struct qd_act256 *a)
{
    const int8_t *sc = (const int8_t *)(b + 192);
    int st = 0;
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l += 4) {
            int e = 16 * j + l;
            int q = qd_pack4(qd_q6k_get(b, e), qd_q6k_get(b, e + 1), qd_q6k_get(b, e + 2), qd_q6k_get(b, e + 3));
            s = qd_dp4a(q, qd_load4(a->qs + e), s);
        }
        st += sc[j] * (s - 32 * a->bsums[j]);
    }
    return qd_half(b + 208) * a->d * (float)st;
}

/* Block bi of a weight row (format t) · activation block bi of the row's
 * quantized x (act: qd_act32[] or qd_act256[] by qd_uses_act256). */
QD_FN float qd_block_dot(int t, const uint8_t *wrow, const void *act, int bi)
{
    const uint8_t *b = wrow + (size_t)bi * (size_t)qd_block_bytes(t);
    const struct qd_act32 *a32 = (const struct qd_act32 *)act + bi;
    const struct qd_act256 *a256 = (const struct qd_act256 *)act + bi;
    switch (t) {
    case DT_Q8_0: return qd_dot_q8_0(b, a32);
    case DT_Q4_0: return qd_dot_q4_0(b, a32);
    case DT_Q4_1: return qd_dot_q4_1(b, a32);
    case DT_Q4_K: return qd_dot_q4_k(b, a256);
    case DT_Q6_K: return qd_dot_q6_k(b, a256);
    default: return 0.f;
    }
}

/* Block bi of one x row [K] quantized into act (the per-thread unit of the
 * activation kernel). */
QD_FN void qd_act_block(int t, const float *x, void *act, int bi)
{
    if (qd_uses_act256(t)) qd_act256_quantize(x + (size_t)bi * 256, (struct qd_act256 *)act + bi);
    else qd_act32_quantize(x + (size_t)bi * 32, (struct qd_act32 *)act + bi);
}

#endif
