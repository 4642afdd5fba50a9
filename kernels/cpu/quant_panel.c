/* kernels/cpu/quant_panel.c — the prefill tile on AVX-512 VNNI from packed
 * operands (contract: quant_panel.h).
 *
 * Packed x row of K elements, P = ceil(K/64) block pairs (nb = K/32 blocks):
 *   [P][64] bytes  x pair (Q8_0: xor 0x80), an odd last block's upper half zero
 *   [P][16] floats dx spread (lanes 0-7 d of block 2p, 8-15 of block 2p+1, or 0)
 *   [P][2]  floats s of blocks 2p, 2p+1 (0 for a missing block)
 * Packed group of 4 weight rows, per pair (PAIR_Q4 / PAIR_Q8 bytes):
 *   Q4:   [4][64] nibbles of rows c, [4][16] floats dw spread, mw0[4], mw1[4]
 *         (the offset factors k·m, k = 1 for Q4_1 and -8 for Q4_0, of the
 *         pair's two blocks for the four rows)
 *   Q8_0: [4][64] weights, [4][16] int32 -128·Σw per lane, [4][16] floats dw spread
 * Each value is what quant_vnni.c's tile computes in registers (the same
 * helpers), and the tile below applies the same float operations in the same
 * order, so the results are identical bits. */
#include "kernels/cpu/quant_panel.h"
#include "kernels/cpu/quant_blocks.h"

static int pairs_of(int K) { return (K / QK32 + 1) / 2; }

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t quant_panel_x_bytes(int K)
{
    return round64((size_t)pairs_of(K) * (64 + 64 + 8));
}

#define PAIR_Q4 (4 * 64 + 4 * 64 + 64)   /* 32 bytes of mw0/mw1, padded to keep pairs 64-aligned */
#define PAIR_Q8 (3 * 4 * 64)

static size_t pair_bytes(enum dtype wt) { return wt == DT_Q8_0 ? PAIR_Q8 : PAIR_Q4; }

size_t quant_panel_w_bytes(enum dtype wt, int K)
{
    return (size_t)pairs_of(K) * pair_bytes(wt);
}

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/cpu/quant_vnni.h"

_Static_assert(QUANT_TILE_M == 4 && QUANT_TILE_N == 4, "the panels below are written for 4x4 tiles");

bool quant_panel_usable(enum dtype wt, enum cpu_simd simd)
{
    return simd >= CPU_SIMD_AVX512 && (wt == DT_Q8_0 || wt == DT_Q4_0 || wt == DT_Q4_1) && quant_have_vnni512();
}

VNNI512 void quant_panel_pack_x(enum dtype wt, const void *xq, int K, void *xp)
{
    const struct act_q8 *a = xq;
    const int nb = K / QK32, P = pairs_of(K);
    uint8_t *qs = xp;
    float *dx = (float *)(qs + (size_t)P * 64), *s = dx + (size_t)P * 16;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int p = 0; p < P; p++) {
        int i = 2 * p;
        bool two = i + 1 < nb;
        __m512i xv = x_pair(a, i, two);
        if (wt == DT_Q8_0) xv = _mm512_xor_si512(xv, flip);
        _mm512_storeu_si512(qs + (size_t)p * 64, xv);
        _mm512_storeu_ps(dx + (size_t)p * 16,
                         spread2(_mm_unpacklo_ps(_mm_set_ss(a[i].d), _mm_set_ss(two ? a[i + 1].d : 0.f))));
        s[2 * p] = a[i].s;
        s[2 * p + 1] = two ? a[i + 1].s : 0.f;
    }
}

/* Q4_0 / Q4_1: one pair of 4 rows into g (PAIR_Q4 bytes). */
#define DEFINE_PACK_Q4(name, BLK, Q41)                                                                   \
    VNNI512 static void name(const uint8_t *w, size_t ws, int i, bool two, uint8_t *g)                   \
    {                                                                                                    \
        uint16_t m0[4], m1[4];                                                                           \
        for (int c = 0; c < 4; c++) {                                                                    \
            const struct BLK *b = (const struct BLK *)(w + c * ws) + i;                                  \
            uint16_t d1 = two ? ld_u16(&b[1].d) : 0;                                                     \
            _mm512_storeu_si512(g + 64 * c, nibble_pair(b[0].qs, sizeof *b, two));                       \
            _mm512_storeu_ps((float *)(g + 256 + 64 * c), spread_f16(ld_u16(&b[0].d), d1));              \
            m0[c] = Q41 ? ld_u16((const uint8_t *)&b[0] + 2) : ld_u16(&b[0].d);                          \
            m1[c] = !two ? 0 : Q41 ? ld_u16((const uint8_t *)&b[1] + 2) : d1;                            \
        }                                                                                                \
        __m128 k = _mm_set1_ps(Q41 ? 1.f : -8.f);                                                        \
        _mm_storeu_ps((float *)(g + 512), _mm_mul_ps(k, _mm_cvtph_ps(_mm_cvtsi64_si128(                  \
                                              (long long)pack4_h(m0[0], m0[1], m0[2], m0[3])))));        \
        _mm_storeu_ps((float *)(g + 528), _mm_mul_ps(k, _mm_cvtph_ps(_mm_cvtsi64_si128(                  \
                                              (long long)pack4_h(m1[0], m1[1], m1[2], m1[3])))));        \
    }

DEFINE_PACK_Q4(pack_pair_q4_1, blk_q4_1, 1)
DEFINE_PACK_Q4(pack_pair_q4_0, blk_q4_0, 0)

VNNI512 static void pack_pair_q8_0(const uint8_t *w, size_t ws, int i, bool two, uint8_t *g)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int c = 0; c < 4; c++) {
        const struct blk_q8_0 *b = (const struct blk_q8_0 *)(w + c * ws) + i;
        __m256i w0 = _mm256_loadu_si256((const __m256i *)b[0].qs);
        __m512i wv = two ? _mm512_inserti64x4(_mm512_castsi256_si512(w0), _mm256_loadu_si256((const __m256i *)b[1].qs), 1)
                         : _mm512_zextsi256_si512(w0);
        _mm512_storeu_si512(g + 64 * c, wv);
        _mm512_storeu_si512(g + 256 + 64 * c,
                            _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, wv)));
        _mm512_storeu_ps((float *)(g + 512 + 64 * c), spread_f16(ld_u16(&b[0].d), two ? ld_u16(&b[1].d) : 0));
    }
}

void quant_panel_pack_w(enum dtype wt, const void *w, size_t w_stride, int K, void *wp)
{
    void (*pack)(const uint8_t *, size_t, int, bool, uint8_t *) =
        wt == DT_Q8_0 ? pack_pair_q8_0 : wt == DT_Q4_0 ? pack_pair_q4_0 : pack_pair_q4_1;
    const int nb = K / QK32, P = pairs_of(K);
    for (int p = 0; p < P; p++) pack(w, w_stride, 2 * p, 2 * p + 1 < nb, (uint8_t *)wp + (size_t)p * pair_bytes(wt));
}

/* Q4: the float steps of quant_vnni.c's DEFINE_TILE512_Q4, operands loaded. */
VNNI512 static void tile_q4(const uint8_t *wp, const uint8_t *xp, size_t xs, int K, float *out, size_t ldo)
{
    const int nb = K / QK32, P = pairs_of(K);
    const size_t dx_off = (size_t)P * 64, s_off = (size_t)P * 128;
    __m512 acc[4][4];
    __m128 side[4];
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
        side[r] = _mm_setzero_ps();
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int p = 0; p < P; p++) {
        const uint8_t *g = wp + (size_t)p * PAIR_Q4;
        bool two = 2 * p + 1 < nb;
        __m512i wu[4];
        __m512 dw[4];
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {
            wu[c] = _mm512_loadu_si512(g + 64 * c);
            dw[c] = _mm512_loadu_ps((const float *)(g + 256 + 64 * c));
        }
        __m128 mw0 = _mm_loadu_ps((const float *)(g + 512)), mw1 = _mm_loadu_ps((const float *)(g + 528));
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
            const uint8_t *x = xp + (size_t)r * xs;
            const float *s = (const float *)(x + s_off) + 2 * p;
            __m512i xv = _mm512_loadu_si512(x + (size_t)p * 64);
            __m512 dx = _mm512_loadu_ps((const float *)(x + dx_off) + (size_t)p * 16);
            side[r] = _mm_fmadd_ps(mw0, _mm_set1_ps(s[0]), side[r]);
            if (two) side[r] = _mm_fmadd_ps(mw1, _mm_set1_ps(s[1]), side[r]);
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {
                __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wu[c], xv);
                acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw[c]), _mm512_cvtepi32_ps(d), acc[r][c]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) _mm_storeu_ps(out + (size_t)r * ldo, _mm_add_ps(hsum4x16(acc[r]), side[r]));
}

/* Q8_0: the float steps of quant_vnni.c's tile512_q8_0. */
VNNI512 static void tile_q8_0(const uint8_t *wp, const uint8_t *xp, size_t xs, int K, float *out, size_t ldo)
{
    const int P = pairs_of(K);
    const size_t dx_off = (size_t)P * 64;
    __m512 acc[4][4];
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++)
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int p = 0; p < P; p++) {
        const uint8_t *g = wp + (size_t)p * PAIR_Q8;
        __m512i wv[4];
        __m512 dw[4];
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {
            wv[c] = _mm512_loadu_si512(g + 64 * c);
            dw[c] = _mm512_loadu_ps((const float *)(g + 512 + 64 * c));
        }
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
            const uint8_t *x = xp + (size_t)r * xs;
            __m512i xv = _mm512_loadu_si512(x + (size_t)p * 64);
            __m512 dx = _mm512_loadu_ps((const float *)(x + dx_off) + (size_t)p * 16);
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {
                __m512i neg = _mm512_loadu_si512(g + 256 + 64 * c);
                __m512i d = _mm512_dpbusd_epi32(neg, xv, wv[c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw[c]), _mm512_cvtepi32_ps(d), acc[r][c]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) _mm_storeu_ps(out + (size_t)r * ldo, hsum4x16(acc[r]));
}

void quant_panel_tile(enum dtype wt, const void *wp, const void *xp, size_t xp_stride, int K, float *out,
                      size_t ldo)
{
    if (wt == DT_Q8_0) tile_q8_0(wp, xp, xp_stride, K, out, ldo);
    else tile_q4(wp, xp, xp_stride, K, out, ldo);
}

#else

bool quant_panel_usable(enum dtype wt, enum cpu_simd simd)
{
    (void)wt; (void)simd;
    return false;
}

/* Never called where quant_panel_usable is false. */
void quant_panel_pack_x(enum dtype wt, const void *xq, int K, void *xp) { (void)wt; (void)xq; (void)K; (void)xp; }
void quant_panel_pack_w(enum dtype wt, const void *w, size_t w_stride, int K, void *wp)
{
    (void)wt; (void)w; (void)w_stride; (void)K; (void)wp;
}
void quant_panel_tile(enum dtype wt, const void *wp, const void *xp, size_t xp_stride, int K, float *out,
                      size_t ldo)
{
    (void)wt; (void)wp; (void)xp; (void)xp_stride; (void)K; (void)out; (void)ldo;
}

#endif
