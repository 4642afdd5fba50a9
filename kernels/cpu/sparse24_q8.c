/* kernels/cpu/sparse24_q8.c — 2:4 int8 weights (s24_q8, kernels/sparse24.h)
 * against int8 activations: out[r] = Σ_b d_w[b]·d_x[b] · Σ_k q_k · xq_r[pos_k].
 *
 * Why: widening s24_q8 to float costs ~4 instructions per kept value and
 * lost to dense q8_0's integer dots (0.74–0.98×). Here, as on the Q8_0 path,
 * each x row is quantized once per matmul (s24q8_act_row) and every block is
 * an integer dot of the 8 kept int8 weights with the 8 x bytes their 2-bit
 * indices select:
 *   AVX-512 VNNI + VBMI: 8 blocks (128 original elements) per step: three
 *     vpermt2b pull the 64 kept values, the 8 metadata words and the 8 scales
 *     out of the 96 block bytes, one vpmultishiftqb + one ternary-logic op
 *     turn the metadata into 64 byte indices, one vpermt2b gathers x, one
 *     vpdpbusd multiplies; masked loads for the last < 11 blocks;
 *   AVX2: 4 blocks per step: vpshufb gathers x within 128-bit lanes, the
 *     indices come from the metadata by vpshufb and shifts (s24q8_index256),
 *     vpmaddubsw on |w| and sign(x, w); the last < 5
 *     blocks zero-padded (the step reads 56 bytes);
 *   scalar: the reference the others are tested against.
 *
 * Activation row (ours, never stored), K a multiple of 16:
 *   u8 xu[K]      q + 128 (q = round(x / d_b), |q| <= 127): vpdpbusd takes
 *                 unsigned × signed bytes, so the +128 is paid once per x row;
 *                 the 128·Σw it adds is subtracted per weight block
 *   f32 dd[K/8]   d_b = max|x| / 127 of block b (16 elements), twice
 *                 (dd[2b] = dd[2b+1]): one int32 lane holds 4 of a block's 8
 *                 products, so the lane scales load without a permute.
 * Every (weight row, x row) result takes the same float steps whatever nx is
 * (the x rows only share the weight decode), so batching does not change it. */
#include "kernels/cpu/sparse24_dot.h"
#include "kernels/sparse24.h"
#include "kernels/sparse24_tile.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

size_t s24q8_act_bytes(int K)
{
    return sparse24_act_bytes(K);
}

/* The per-block quantizer the CUDA kernel runs too (kernels/sparse24_tile.h). */
void s24q8_act_row_ref(const float *x, void *xq, int K)
{
    uint8_t *xu = xq;
    float *dd = (float *)(void *)(xu + K);      /* K % 16 == 0: 4-byte aligned */
    for (int b = 0; b < K / S24_BLOCK; b++)
        dd[2 * b] = dd[2 * b + 1] = sparse24_act_block(x + (size_t)b * S24_BLOCK, xu + (size_t)b * S24_BLOCK);
}

/* ---- scalar ------------------------------------------------------------ */

/* Block after block with the tile header's block dot and term (the CUDA
 * matvec sums the same terms per lane, then across the warp). */
static void s24q8_rows_scalar(const void *w, const void *xq, size_t xs, int nx, int K, float *out)
{
    for (int r = 0; r < nx; r++) {
        const uint8_t *xu = (const uint8_t *)xq + (size_t)r * xs;
        const float *dd = (const float *)(const void *)(xu + K);
        const uint8_t *blk = w;
        float acc = 0.f;
        for (int b = 0; b < K / S24_BLOCK; b++, blk += S24_Q8_BLOCK_BYTES)
            acc += sparse24_q8_block_term(blk, dd[2 * b], sparse24_q8_block_idot(blk, xu + b * S24_BLOCK));
        out[r] = acc;
    }
}

/* ---- SIMD -------------------------------------------------------------- */
#if defined(__x86_64__) || defined(__i386__)
#include "kernels/cpu/simd_x86.h"

#define TGT_AVX2 SIMD_TGT_AVX2
#define TGT_VBMI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))

/* The in-block x positions of the step's 4 blocks, in w256's byte order
 * (qwords: blocks 0, 2 | 1, 3; byte k of a qword = kept value k):
 * 4·(k/2) + ((meta >> 2k) & 3), from the metadata words already loaded with
 * the values (LA byte 0: block 0, byte 12: block 1; LB byte 0: block 2, byte
 * 12: block 3). vpshufb puts meta byte d (zero-extended) in dword d of its
 * qword; D = b | b << 6 | b << 12 | b << 18 then holds b's bits 2j, 2j+1 at
 * bits 0, 1 of byte j, and no other shifted copy reaches those bits. */
TGT_AVX2 static inline __m256i s24q8_index256(__m256i LA, __m256i LB)
{
    const __m256i selA = _mm256_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          12, -1, -1, -1, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i selB = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, 1, -1, -1, -1,
                                          -1, -1, -1, -1, -1, -1, -1, -1, 12, -1, -1, -1, 13, -1, -1, -1);
    const __m256i base = _mm256_setr_epi8(0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8, 12, 12,
                                          0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8, 12, 12);
    __m256i b = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_permute4x64_epi64(LA, 0x44), selA),
                                _mm256_shuffle_epi8(_mm256_permute4x64_epi64(LB, 0x44), selB));
    __m256i t = _mm256_or_si256(b, _mm256_slli_epi32(b, 12));
    __m256i d = _mm256_or_si256(t, _mm256_slli_epi32(t, 6));
    return _mm256_or_si256(_mm256_and_si256(d, _mm256_set1_epi8(3)), base);
}

/* AVX2 weight step: blocks b..b+3 of a row (56 readable bytes from p).
 * Lanes hold [block 0 | block 2] and [block 1 | block 3], 8 bytes each:
 * LA = p[0..31] has block 0's values at 4..11 and block 1's at 16..23, LB =
 * p[24..55] block 2's at 28..35 and block 3's at 40..47; the scales as 8
 * halves [d0 d0 d2 d2 d1 d1 d3 d3] (the int32 lanes' order); I the in-block
 * x positions in the same byte order. */
struct w256 { __m256i W, aw, I; __m256 dw; };

TGT_AVX2 static inline __attribute__((always_inline)) struct w256 s24q8_wdecode256(const uint8_t *p)
{
    const __m256i selA = _mm256_setr_epi8(4, 5, 6, 7, 8, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1,
                                          0, 1, 2, 3, 4, 5, 6, 7, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i selB = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, 4, 5, 6, 7, 8, 9, 10, 11,
                                          -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    const __m128i scA = _mm_setr_epi8(2, 3, 2, 3, -1, -1, -1, -1, 14, 15, 14, 15, -1, -1, -1, -1);
    const __m128i scB = _mm_setr_epi8(-1, -1, -1, -1, 2, 3, 2, 3, -1, -1, -1, -1, 14, 15, 14, 15);
    __m256i LA = _mm256_loadu_si256((const __m256i *)p), LB = _mm256_loadu_si256((const __m256i *)(p + 24));
    struct w256 w;
    w.W = _mm256_or_si256(_mm256_shuffle_epi8(LA, selA), _mm256_shuffle_epi8(LB, selB));
    w.aw = _mm256_abs_epi8(w.W);
    w.dw = _mm256_cvtph_ps(_mm_or_si128(_mm_shuffle_epi8(_mm256_castsi256_si128(LA), scA),
                                        _mm_shuffle_epi8(_mm256_castsi256_si128(LB), scB)));
    w.I = s24q8_index256(LA, LB);
    return w;
}

/* acc + d_w·d_x · Σ q·x for the step's 4 blocks of one x row (64 bytes at
 * xu, 8 lane scales at dd): vpshufb gathers within a lane (block 0 of x01's
 * lane 0, block 2 of x23's lane 0, ...), vpmaddubsw takes |w| × sign(x, w). */
TGT_AVX2 static inline __attribute__((always_inline)) __m256 s24q8_xdot256(const struct w256 *w, const uint8_t *xu,
                                                                         const float *dd, __m256 acc)
{
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256i x01 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)xu), flip);
    __m256i x23 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(xu + 32)), flip);
    __m256i G = _mm256_blend_epi32(_mm256_shuffle_epi8(x01, w->I), _mm256_shuffle_epi8(x23, w->I), 0xCC);
    __m256i p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(w->aw, _mm256_sign_epi8(G, w->W)), _mm256_set1_epi16(1));
    __m256 dx = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_loadu_ps(dd)), 0xD8));
    return _mm256_fmadd_ps(_mm256_mul_ps(w->dw, dx), _mm256_cvtepi32_ps(p32), acc);
}

/* The row's last nb - b < 5 blocks, zero-padded to 4 (zero weights and
 * scales add exactly 0): the step would read past the row otherwise. */
struct tail256 { uint8_t w[64], x[DOT_MAX_ROWS][64]; float dd[DOT_MAX_ROWS][8]; };

static void tail_copy_w(struct tail256 *t, const uint8_t *p, int n)
{
    memset(t->w, 0, sizeof t->w);
    memcpy(t->w, p, (size_t)n * S24_Q8_BLOCK_BYTES);
}

static void tail_copy_x(struct tail256 *t, int r, const uint8_t *xu, const float *dd, int n)
{
    memset(t->x[r], 0x80, sizeof t->x[r]);
    memset(t->dd[r], 0, sizeof t->dd[r]);
    memcpy(t->x[r], xu, (size_t)n * S24_BLOCK);
    memcpy(t->dd[r], dd, (size_t)n * 2 * sizeof(float));
}

/* One weight row × NX (a constant) x rows; steps alternate two accumulators. */
#define XU(r) ((const uint8_t *)xq + (size_t)(r) * xs)
#define DD(r) ((const float *)(const void *)(XU(r) + K))
#define DEFINE_ROWS256(name, NXV)                                                                   \
    TGT_AVX2 static void name(const void *w, const void *xq, size_t xs, int K, float *out)          \
    {                                                                                               \
        enum { NX = NXV };                                                                          \
        __m256 acc[2][NX];                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++) acc[0][r] = acc[1][r] = _mm256_setzero_ps(); \
        const uint8_t *p = w;                                                                       \
        const int nb = K / S24_BLOCK;                                                               \
        int b = 0, s = 0;                                                                           \
        for (; nb - b >= 9; b += 8, p += 8 * S24_Q8_BLOCK_BYTES) {                                  \
            struct w256 w0 = s24q8_wdecode256(p), w1 = s24q8_wdecode256(p + 4 * S24_Q8_BLOCK_BYTES); \
            _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++) {                                  \
                acc[0][r] = s24q8_xdot256(&w0, XU(r) + (size_t)b * S24_BLOCK, DD(r) + 2 * b, acc[0][r]); \
                acc[1][r] = s24q8_xdot256(&w1, XU(r) + (size_t)(b + 4) * S24_BLOCK, DD(r) + 2 * (b + 4), acc[1][r]); \
            }                                                                                       \
        }                                                                                           \
        if (nb - b >= 5) {                                                                          \
            struct w256 w0 = s24q8_wdecode256(p);                                                   \
            _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++)                                    \
                acc[0][r] = s24q8_xdot256(&w0, XU(r) + (size_t)b * S24_BLOCK, DD(r) + 2 * b, acc[0][r]); \
            b += 4, p += 4 * S24_Q8_BLOCK_BYTES, s = 1;                                             \
        }                                                                                           \
        if (b < nb) {                                                                               \
            struct tail256 t;                                                                       \
            tail_copy_w(&t, p, nb - b);                                                             \
            struct w256 w0 = s24q8_wdecode256(t.w);                                                 \
            _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++) {                                  \
                tail_copy_x(&t, r, XU(r) + (size_t)b * S24_BLOCK, DD(r) + 2 * b, nb - b);           \
                if (s) acc[1][r] = s24q8_xdot256(&w0, t.x[r], t.dd[r], acc[1][r]);                  \
                else acc[0][r] = s24q8_xdot256(&w0, t.x[r], t.dd[r], acc[0][r]);                    \
            }                                                                                       \
        }                                                                                           \
        _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++) out[r] = simd_hsum8(_mm256_add_ps(acc[0][r], acc[1][r])); \
    }
DEFINE_ROWS256(rows256_x1, 1)
DEFINE_ROWS256(rows256_x2, 2)
DEFINE_ROWS256(rows256_x3, 3)
DEFINE_ROWS256(rows256_x4, 4)
#undef XU
#undef DD

TGT_AVX2 static void s24q8_rows_avx2(const void *w, const void *xq, size_t xs, int nx, int K, float *out)
{
    switch (nx) {
    case 1: rows256_x1(w, xq, xs, K, out); break;
    case 2: rows256_x2(w, xq, xs, K, out); break;
    case 3: rows256_x3(w, xq, xs, K, out); break;
    default: rows256_x4(w, xq, xs, K, out); break;
    }
}

/* vpermt2b index tables over the 128 bytes at a step's 8 blocks (block k at
 * 12k): kept values (byte 8k+j ← 12k+4+j), metadata (qword k's low word ←
 * 12k, 12k+1; vpmultishiftqb reads only bits 0..15), scales (half 2k and
 * 2k+1 ← 12k+2, 12k+3). POS_BASE: byte 8k+j = 16k + 4·(j/2), the group's
 * first x position; SHIFTS: byte j of a qword = 2j, the bit of index j. */
static uint8_t IDX_VALS[64], IDX_META[64], IDX_SCALE[64], POS_BASE[64], SHIFTS[64];

static void build_vbmi_tables(void)
{
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 8; j++) {
            IDX_VALS[8 * k + j] = (uint8_t)(12 * k + 4 + j);
            IDX_META[8 * k + j] = (uint8_t)(12 * k + (j & 1));
            IDX_SCALE[4 * k + (j & 3)] = (uint8_t)(12 * k + 2 + (j & 1));
            POS_BASE[8 * k + j] = (uint8_t)(16 * k + 4 * (j / 2));
            SHIFTS[8 * k + j] = (uint8_t)(2 * j);
        }
}

static inline uint64_t low_bytes(int n) { return n >= 64 ? ~0ull : n <= 0 ? 0ull : (1ull << n) - 1; }

/* One weight step: blocks b..b+n-1 (n <= 8) of a row decoded for every x
 * row: the 64 kept values W, their 64 x positions, the lane scales d_w and
 * -128·Σw per lane (x is stored +128). */
struct w512 { __m512i W, pos, neg; __m512 dw; };

/* Every load masked to what the n blocks own when `masked` (the row's tail),
 * else full (11+ blocks left: the second load reads 128 bytes from p). */
TGT_VBMI static inline __attribute__((always_inline)) struct w512 s24q8_wdecode512(const uint8_t *p, int n, bool masked)
{
    __m512i L0, L1;
    if (masked) {
        L0 = _mm512_maskz_loadu_epi8(low_bytes(12 * n), p);
        L1 = _mm512_maskz_loadu_epi8(low_bytes(12 * n - 64), p + 64);
    } else {
        L0 = _mm512_loadu_si512(p);
        L1 = _mm512_loadu_si512(p + 64);
    }
    struct w512 w;
    w.W = _mm512_permutex2var_epi8(L0, _mm512_loadu_si512(IDX_VALS), L1);
    __m512i M = _mm512_permutex2var_epi8(L0, _mm512_loadu_si512(IDX_META), L1);
    __m512i S = _mm512_permutex2var_epi8(L0, _mm512_loadu_si512(IDX_SCALE), L1);
    w.pos = _mm512_ternarylogic_epi32(_mm512_multishift_epi64_epi8(_mm512_loadu_si512(SHIFTS), M),
                                      _mm512_set1_epi8(3), _mm512_loadu_si512(POS_BASE), 0xEA);
    w.dw = _mm512_cvtph_ps(_mm512_castsi512_si256(S));
    w.neg = _mm512_sub_epi32(_mm512_setzero_si512(),
                             _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), w.W));
    return w;
}

/* acc + d_w·d_x · Σ q·x over the step for the x row at xu (its blocks b..)
 * with lane scales dd. */
TGT_VBMI static inline __attribute__((always_inline)) __m512
s24q8_xdot512(const struct w512 *w, const uint8_t *xu, const float *dd, int n, bool masked, __m512 acc)
{
    __m512i X0, X1;
    __m512 dx;
    if (masked) {
        X0 = _mm512_maskz_loadu_epi8(low_bytes(16 * n), xu);
        X1 = _mm512_maskz_loadu_epi8(low_bytes(16 * n - 64), xu + 64);
        dx = _mm512_maskz_loadu_ps((__mmask16)((1u << (2 * n)) - 1), dd);
    } else {
        X0 = _mm512_loadu_si512(xu);
        X1 = _mm512_loadu_si512(xu + 64);
        dx = _mm512_loadu_ps(dd);
    }
    __m512i p32 = _mm512_dpbusd_epi32(w->neg, _mm512_permutex2var_epi8(X0, w->pos, X1), w->W);
    return _mm512_fmadd_ps(_mm512_mul_ps(w->dw, dx), _mm512_cvtepi32_ps(p32), acc);
}

/* The steps over a row's nb blocks, step k adding into accumulator k & 1
 * (two chains hide the fma latency): full steps while 11+ blocks remain,
 * then at most two masked ones. Written out so the accumulator of every step
 * is a constant (they stay in registers). STEP(b, n, masked, acc index). */
#define S24Q8_MIN8(r) ((r) < 8 ? (r) : 8)
#define S24Q8_WALK(nb, STEP)                                                                        \
    do {                                                                                            \
        int b_ = 0;                                                                                 \
        for (; (nb) - b_ >= 19; b_ += 16) { STEP(b_, 8, false, 0); STEP(b_ + 8, 8, false, 1); }     \
        if ((nb) - b_ >= 11) {                                                                      \
            STEP(b_, 8, false, 0);                                                                  \
            b_ += 8;                                                                                \
            if (b_ < (nb)) STEP(b_, S24Q8_MIN8((nb) - b_), true, 1);                                \
            b_ += 8;                                                                                \
            if (b_ < (nb)) STEP(b_, S24Q8_MIN8((nb) - b_), true, 0);                                \
        } else {                                                                                    \
            if (b_ < (nb)) STEP(b_, S24Q8_MIN8((nb) - b_), true, 0);                                \
            b_ += 8;                                                                                \
            if (b_ < (nb)) STEP(b_, S24Q8_MIN8((nb) - b_), true, 1);                                \
        }                                                                                           \
    } while (0)

/* One weight row × NX (1..4, a constant) x rows; the float steps of one x
 * row are the same for every NX and in s24q8_wrows4_avx512. */
#define XU(r) ((const uint8_t *)xq + (size_t)(r) * xs)
#define DD(r) ((const float *)(const void *)(XU(r) + K))
#define STEP_NX(B, N, MASKED, A)                                                                    \
    do {                                                                                            \
        struct w512 wd = s24q8_wdecode512((const uint8_t *)w + (size_t)(B) * S24_Q8_BLOCK_BYTES, (N), (MASKED)); \
        _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++)                                        \
            acc[A][r] = s24q8_xdot512(&wd, XU(r) + (size_t)(B) * S24_BLOCK, DD(r) + 2 * (B), (N), (MASKED), acc[A][r]); \
    } while (0)

#define DEFINE_ROWS512(name, NXV)                                                                   \
    TGT_VBMI static void name(const void *w, const void *xq, size_t xs, int K, float *out)          \
    {                                                                                               \
        enum { NX = NXV };                                                                          \
        __m512 acc[2][NX];                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++) acc[0][r] = acc[1][r] = _mm512_setzero_ps(); \
        S24Q8_WALK(K / S24_BLOCK, STEP_NX);                                                         \
        _Pragma("GCC unroll 4") for (int r = 0; r < NX; r++)                                        \
            out[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[0][r], acc[1][r]));                     \
    }
DEFINE_ROWS512(rows512_x1, 1)
DEFINE_ROWS512(rows512_x2, 2)
DEFINE_ROWS512(rows512_x3, 3)
DEFINE_ROWS512(rows512_x4, 4)
#undef STEP_NX
#undef XU
#undef DD

TGT_VBMI static void s24q8_rows_avx512(const void *w, const void *xq, size_t xs, int nx, int K, float *out)
{
    switch (nx) {
    case 1: rows512_x1(w, xq, xs, K, out); break;
    case 2: rows512_x2(w, xq, xs, K, out); break;
    case 3: rows512_x3(w, xq, xs, K, out); break;
    default: rows512_x4(w, xq, xs, K, out); break;
    }
}

/* Decode: 4 weight rows (ws bytes apart) × one x row, each row's float steps
 * those of rows512_x1 (same chains, same reduction); the x bytes and scales
 * load once for the four. */
#define STEP_W4(B, N, MASKED, A)                                                                    \
    do {                                                                                            \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                                       \
            struct w512 wd = s24q8_wdecode512((const uint8_t *)w + c * ws + (size_t)(B) * S24_Q8_BLOCK_BYTES, \
                                              (N), (MASKED));                                       \
            acc[A][c] = s24q8_xdot512(&wd, xu + (size_t)(B) * S24_BLOCK, dd + 2 * (B), (N), (MASKED), acc[A][c]); \
        }                                                                                           \
    } while (0)

TGT_VBMI static void s24q8_wrows4_avx512(const void *w, size_t ws, const void *xq, int K, float *out)
{
    const uint8_t *xu = xq;
    const float *dd = (const float *)(const void *)(xu + K);
    __m512 acc[2][4];
    _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[0][c] = acc[1][c] = _mm512_setzero_ps();
    S24Q8_WALK(K / S24_BLOCK, STEP_W4);
    _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)
        out[c] = _mm512_reduce_add_ps(_mm512_add_ps(acc[0][c], acc[1][c]));
}
#undef STEP_W4

static bool have_vbmi_vnni(void)
{
    static _Atomic int cached = -1;     /* every thread computes the same value */
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi") &&
                 __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl");
    }
    return cached;
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static void build_tables(void) { build_vbmi_tables(); }
/* s24q8_act_row_ref with vectors, the same bytes: max is exact, x·id is the
 * same f32 product, vcvtps2dq rounds to nearest even like lrintf. */
TGT_AVX2 static void s24q8_act_row_avx2(const float *x, void *xq, int K)
{
    const __m256i off = _mm256_set1_epi16(128);
    uint8_t *xu = xq;
    float *dd = (float *)(void *)(xu + K);
    for (int b = 0; b < K / S24_BLOCK; b++) {
        const float *xb = x + (size_t)b * S24_BLOCK;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
        float amax = simd_hmax8(_mm256_max_ps(simd_abs8(v0), simd_abs8(v1)));
        float d = amax / 127.f, id = amax > 0.f ? 127.f / amax : 0.f;
        __m256 idv = _mm256_set1_ps(id);
        __m256i q0 = simd_q8_round(v0, idv), q1 = simd_q8_round(v1, idv);
        /* packs interleaves the lanes: [q0 0-3, q1 0-3 | q0 4-7, q1 4-7] → 0xD8 */
        __m256i h = _mm256_add_epi16(_mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8), off);
        _mm_storeu_si128((__m128i *)(xu + (size_t)b * S24_BLOCK),
                         _mm_packus_epi16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
        dd[2 * b] = dd[2 * b + 1] = d;
    }
}

#define HAVE_X86_SIMD 1
#endif

/* The vector quantizer writes the same bytes, so the CPU alone picks it. */
void s24q8_act_row(const float *x, void *xq, int K)
{
#ifdef HAVE_X86_SIMD
    static _Atomic int avx2 = -1;
    if (avx2 < 0) avx2 = cpu_simd_detect() != CPU_SIMD_SCALAR;
    if (avx2) { s24q8_act_row_avx2(x, xq, K); return; }
#endif
    s24q8_act_row_ref(x, xq, K);
}

/* ---- dispatch ---------------------------------------------------------- */

#define DEFINE_WROWS4_OF(name, rows)                                                                \
    static void name(const void *w, size_t ws, const void *xq, int K, float *out)                   \
    {                                                                                               \
        for (int c = 0; c < 4; c++) rows((const uint8_t *)w + c * ws, xq, 0, 1, K, out + c);        \
    }
DEFINE_WROWS4_OF(s24q8_wrows4_scalar, s24q8_rows_scalar)
#ifdef HAVE_X86_SIMD
DEFINE_WROWS4_OF(s24q8_wrows4_avx2, s24q8_rows_avx2)
#endif

s24q8_wrows4_fn cpu_s24q8_wrows4_fn(enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    pthread_once(&tables_once, build_tables);
    if (s >= CPU_SIMD_AVX512 && have_vbmi_vnni()) return s24q8_wrows4_avx512;
    if (s >= CPU_SIMD_AVX2) return s24q8_wrows4_avx2;
#else
    (void)s;
#endif
    return s24q8_wrows4_scalar;
}

s24q8_act_dot_fn cpu_s24q8_act_dot_fn(enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    pthread_once(&tables_once, build_tables);
    if (s >= CPU_SIMD_AVX512 && have_vbmi_vnni()) return s24q8_rows_avx512;
    if (s >= CPU_SIMD_AVX2) return s24q8_rows_avx2;
#else
    (void)s;
#endif
    return s24q8_rows_scalar;
}
