/* kernels/cpu/quant_amx.c — the AMX-INT8 matmul of Q8_0, Q4_0 and Q4_1
 * against act_q8 rows (contract and float steps: quant_amx.h).
 *
 * Tiles (palette 1, loaded once per thread):
 *   tmm0-tmm3  C: 16 rows × 16 int32   one block's sums (two pairs of blocks in flight)
 *   tmm4, tmm5 A: 16 x rows × 32 int8  read in place from act_q8 rows (stride = row bytes)
 *   tmm6, tmm7 B: 8 rows × 64 bytes    16 weight rows × 4 consecutive k per tile row
 * Q8_0 runs TDPBSSD (both signed); Q4 runs TDPBSUD (x signed, nibbles unsigned,
 * so no offset trick is needed: the -8 of Q4_0 and the min of Q4_1 go to the
 * side term through act_q8.s).
 *
 * Packed group (quant_amx_pack_w), nb = K/32 blocks:
 *   [nb][8][64] B tiles: byte 4n+j of tile row r is element 4r+j of weight row n
 *   [nb][16]    floats dw (the fp16 scale d of each row)
 *   [nb][16]    floats mw (Q4 only: m for Q4_1, -8·d for Q4_0)
 * The same size as the 16 rows' blocks for Q8_0 (16·34 ≈ 512 + 64) and twice
 * the nibbles for Q4 (they are widened to bytes for the B tile). Groups are
 * packed per task into the worker's buffer, so weights need no second copy. */
#include "kernels/cpu/quant_amx.h"
#include "kernels/cpu/quant_blocks.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define B_TILE_BYTES 512   /* 8 rows × 64 bytes: one block of 16 weight rows */

static bool amx_format(enum dtype wt) { return wt == DT_Q8_0 || wt == DT_Q4_0 || wt == DT_Q4_1; }

size_t quant_amx_w_bytes(enum dtype wt, int K)
{
    size_t nb = (size_t)(K / QK32);
    return nb * (B_TILE_BYTES + 64 + (wt == DT_Q8_0 ? 0 : 64));
}

#if defined(__x86_64__) && defined(__linux__)

#include <cpuid.h>
#include <errno.h>
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA  18

#define AMX_VEC  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define AMX_TILE __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,amx-tile,amx-int8")))

/* ---- detection and the process's permission ---- */

static const char *amx_why;        /* NULL: usable */
static char amx_why_buf[96];
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static uint32_t xcr0_low(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return lo;
}

/* Linux >= 5.16 hands out the 8 KiB tile state only on request. */
static const char *amx_request_permission(void)
{
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) {
        snprintf(amx_why_buf, sizeof amx_why_buf, "arch_prctl(ARCH_REQ_XCOMP_PERM): %s", strerror(errno));
        return amx_why_buf;
    }
    unsigned long perm = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) != 0 || !(perm & (1ul << XFEATURE_XTILEDATA)))
        return "arch_prctl(ARCH_GET_XCOMP_PERM): XTILEDATA not granted";
    return NULL;
}

static void amx_probe(void)
{
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24))) { amx_why = "no amx-tile in cpuid"; return; }
    if (!(d & (1u << 25))) { amx_why = "no amx-int8 in cpuid"; return; }
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq") ||
        !__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("f16c") || !__builtin_cpu_supports("fma")) {
        amx_why = "amx without avx-512 f/bw/vl/dq/vnni";
        return;
    }
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) { amx_why = "no osxsave"; return; }
    if ((xcr0_low() & (3u << 17)) != (3u << 17)) { amx_why = "the OS does not enable tile state (XCR0)"; return; }
    amx_why = amx_request_permission();
}

bool quant_amx_available(const char **why)
{
    pthread_once(&amx_once, amx_probe);
    if (why) *why = amx_why;
    return amx_why == NULL;
}

/* ---- weight packing ---- */

/* Byte offsets in a block: its size, where qs starts. */
static void block_geometry(enum dtype wt, size_t *bs, size_t *qoff)
{
    *bs = wt == DT_Q8_0 ? sizeof(struct blk_q8_0) : wt == DT_Q4_0 ? sizeof(struct blk_q4_0) : sizeof(struct blk_q4_1);
    *qoff = wt == DT_Q4_1 ? 4 : 2;
}

/* 16 bytes at offset `off` of each of 16 rows → t[r] (r < 4) = dword r of
 * rows 0..15 in lane order: a 4×4 dword transpose per 128-bit lane after
 * loading rows 4l+q into lane l of z[q]. */
AMX_VEC static inline void transpose16x4(const uint8_t *const row[16], size_t off, __m512i t[4])
{
    __m512i z[4];
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(row[q] + off)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(row[4 + q] + off)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(row[8 + q] + off)), 2);
        z[q] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(row[12 + q] + off)), 3);
    }
    __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    t[0] = _mm512_unpacklo_epi64(t0, t2);
    t[1] = _mm512_unpackhi_epi64(t0, t2);
    t[2] = _mm512_unpacklo_epi64(t1, t3);
    t[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* Block b (at byte `off` of every row) → B tile bt, dw[16], mw[16] (Q4).
 * Missing rows point at the last live row; their columns are zeroed. */
AMX_VEC static void pack_block(enum dtype wt, const uint8_t *const row[16], size_t off, size_t qoff,
                               __m512i idx, const uint8_t *w, __mmask16 live, uint8_t *bt, float *dw, float *mw)
{
    const __m512i lo4 = _mm512_set1_epi8(15);
    __m512i hdr = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, idx, w + off, 1);  /* d (and Q4_1's m) */
    __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hdr));
    _mm512_storeu_ps(dw, d);
    __m512i t[4];
    transpose16x4(row, off + qoff, t);
    if (wt == DT_Q8_0) {
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) _mm512_storeu_si512(bt + 64 * r, _mm512_maskz_mov_epi32(live, t[r]));
        transpose16x4(row, off + qoff + 16, t);
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) _mm512_storeu_si512(bt + 64 * (r + 4), _mm512_maskz_mov_epi32(live, t[r]));
        return;
    }
    /* byte i of qs holds element i (low nibble) and i+16 (high): tile rows r and r+4 */
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
        __m512i g = _mm512_maskz_mov_epi32(live, t[r]);
        _mm512_storeu_si512(bt + 64 * r, _mm512_and_si512(g, lo4));
        _mm512_storeu_si512(bt + 64 * (r + 4), _mm512_and_si512(_mm512_srli_epi32(g, 4), lo4));
    }
    __m512 m = wt == DT_Q4_1 ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hdr, 16)))
                             : _mm512_mul_ps(d, _mm512_set1_ps(-8.f));
    _mm512_storeu_ps(mw, m);
}

AMX_VEC void quant_amx_pack_w(enum dtype wt, const void *w, size_t w_stride, int nrows, int K, void *wp)
{
    const int nb = K / QK32;
    size_t bs, qoff;
    block_geometry(wt, &bs, &qoff);
    uint8_t *tiles = wp;
    float *dw = (float *)(tiles + (size_t)nb * B_TILE_BYTES), *mw = dw + (size_t)nb * 16;
    const uint8_t *row[QUANT_AMX_N];
    for (int n = 0; n < QUANT_AMX_N; n++) row[n] = (const uint8_t *)w + (size_t)(n < nrows ? n : nrows - 1) * w_stride;
    __mmask16 live = (__mmask16)((1u << nrows) - 1);
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)w_stride));
    for (int b = 0; b < nb; b++)
        pack_block(wt, row, (size_t)b * bs, qoff, idx, w, live, tiles + (size_t)b * B_TILE_BYTES, dw + 16 * b,
                   wt == DT_Q8_0 ? NULL : mw + 16 * b);
}

/* ---- the tile ---- */

struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

/* A constant: GCC 12 does not see _tile_loadconfig read its operand, and
 * dropped the stores of a stack copy filled just before. */
static const struct tile_config TILE_CONFIG = {
    .palette = 1,
    .colsb = {4 * QUANT_AMX_N, 4 * QUANT_AMX_N, 4 * QUANT_AMX_N, 4 * QUANT_AMX_N, QK32, QK32,  /* C C C C A A */
              4 * QUANT_AMX_N, 4 * QUANT_AMX_N},                                            /* B B */
    .rows = {QUANT_AMX_M, QUANT_AMX_M, QUANT_AMX_M, QUANT_AMX_M, QUANT_AMX_M, QUANT_AMX_M, QK32 / 4, QK32 / 4},
};

AMX_TILE static void load_tile_config(void)
{
    static _Thread_local bool loaded;
    if (loaded) return;
    _tile_loadconfig(&TILE_CONFIG);
    loaded = true;
}

#define XQ_BLK ((int)sizeof(struct act_q8))

/* acc[i] = fma(dx[i][b]·dw[b], isum[i], acc[i]) for the mr rows. */
AMX_VEC static inline __attribute__((always_inline)) void
scale_block(__m512 *acc, const int32_t *isum, const uint8_t *xq, size_t xs, int b, const float *dw, int mr)
{
    __m512 dwv = _mm512_loadu_ps(dw + 16 * b);
    _Pragma("GCC unroll 16") for (int i = 0; i < mr; i++) {
        const struct act_q8 *a = (const struct act_q8 *)(xq + (size_t)i * xs) + b;
        __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512(isum + 16 * i));
        acc[i] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(a->d), dwv), v, acc[i]);
    }
}

/* The side term (Q4) and the stores of the mr × nc outputs. */
AMX_VEC static inline __attribute__((always_inline)) void
finish_rows(const __m512 *acc, bool q4, const uint8_t *xq, size_t xs, int nb, const float *mw, int mr, int nc,
            float *out, size_t ldo)
{
    __mmask16 cols = (__mmask16)((1u << nc) - 1);
    for (int i = 0; i < mr; i++) {
        __m512 r = acc[i];
        if (q4) {
            const struct act_q8 *a = (const struct act_q8 *)(xq + (size_t)i * xs);
            __m512 side = _mm512_setzero_ps();
            for (int b = 0; b < nb; b++) side = _mm512_fmadd_ps(_mm512_loadu_ps(mw + 16 * b), _mm512_set1_ps(a[b].s), side);
            r = _mm512_add_ps(r, side);
        }
        _mm512_mask_storeu_ps(out + (size_t)i * ldo, cols, r);
    }
}

/* One block's product into tile `c` (A and B tiles a, b), by format. */
#define TILE_DP(q4, c, a, b) do { if (q4) _tile_dpbsud(c, a, b); else _tile_dpbssd(c, a, b); } while (0)
/* Blocks b, b+1 into C tiles c0, c1 (A tiles 4, 5, B tiles 6, 7). */
#define ISSUE_PAIR(q4, c0, c1, b)                                                   \
    do {                                                                            \
        _tile_zero(c0);                                                             \
        _tile_zero(c1);                                                             \
        _tile_loadd(4, xq + (size_t)(b) * XQ_BLK + 8, (long)xs);                    \
        _tile_loadd(6, wp + (size_t)(b) * B_TILE_BYTES, 64);                        \
        TILE_DP(q4, c0, 4, 6);                                                      \
        _tile_loadd(5, xq + (size_t)((b) + 1) * XQ_BLK + 8, (long)xs);              \
        _tile_loadd(7, wp + (size_t)((b) + 1) * B_TILE_BYTES, 64);                  \
        TILE_DP(q4, c1, 5, 7);                                                      \
    } while (0)
/* The sums of blocks b, b+1 out of c0, c1 and into the accumulators. */
#define DRAIN_PAIR(c0, c1, b)                                                       \
    do {                                                                            \
        _tile_stored(c0, isum[0], 64);                                              \
        _tile_stored(c1, isum[1], 64);                                              \
        scale_block(acc, isum[0], xq, xs, (b), dw, mc);                             \
        scale_block(acc, isum[1], xq, xs, (b) + 1, dw, mc);                         \
    } while (0)

/* Software-pipelined over block pairs: pair p+1's products are issued before
 * pair p's sums are stored and scaled, so the tile unit's latency overlaps
 * the float work. The accumulators still take the blocks in order. */
AMX_TILE static inline __attribute__((always_inline)) void
tile_body(bool q4, const uint8_t *wp, const uint8_t *xq, size_t xs, int mc, int mr, int nc, int K, float *out,
          size_t ldo)
{
    const int nb = K / QK32;
    const float *dw = (const float *)(wp + (size_t)nb * B_TILE_BYTES), *mw = dw + (size_t)nb * 16;
    _Alignas(64) int32_t isum[2][QUANT_AMX_M * QUANT_AMX_N];
    __m512 acc[QUANT_AMX_M];
    _Pragma("GCC unroll 16") for (int i = 0; i < QUANT_AMX_M; i++) acc[i] = _mm512_setzero_ps();
    int b = 0;
    if (nb >= 2) {
        ISSUE_PAIR(q4, 0, 1, 0);
        for (b = 2; b + 4 <= nb; b += 4) {   /* in flight: pair b-2 in tiles 0,1 */
            ISSUE_PAIR(q4, 2, 3, b);
            DRAIN_PAIR(0, 1, b - 2);
            ISSUE_PAIR(q4, 0, 1, b + 2);
            DRAIN_PAIR(2, 3, b);
        }
        if (b + 2 <= nb) {
            ISSUE_PAIR(q4, 2, 3, b);
            DRAIN_PAIR(0, 1, b - 2);
            DRAIN_PAIR(2, 3, b);
            b += 2;
        } else {
            DRAIN_PAIR(0, 1, b - 2);
        }
    }
    if (b < nb) {                              /* an odd last block */
        _tile_zero(0);
        _tile_loadd(4, xq + (size_t)b * XQ_BLK + 8, (long)xs);
        _tile_loadd(6, wp + (size_t)b * B_TILE_BYTES, 64);
        TILE_DP(q4, 0, 4, 6);
        _tile_stored(0, isum[0], 64);
        scale_block(acc, isum[0], xq, xs, b, dw, mc);
    }
    finish_rows(acc, q4, xq, xs, nb, mw, mr, nc, out, ldo);
}

/* The row count rounded up to a multiple of 4 is a constant in each
 * instance (the accumulators stay in registers); rows past mr compute on
 * readable rows and are not stored. The float steps per element are the
 * same in every instance. */
#define DEFINE_TILE(name, Q4, MR)                                                                          \
    AMX_TILE static void name(const uint8_t *wp, const uint8_t *xq, size_t xs, int mr, int nc, int K,      \
                              float *out, size_t ldo)                                                      \
    {                                                                                                      \
        tile_body(Q4, wp, xq, xs, MR, mr, nc, K, out, ldo);                                                \
    }
DEFINE_TILE(tile_q8_4, false, 4)
DEFINE_TILE(tile_q8_8, false, 8)
DEFINE_TILE(tile_q8_12, false, 12)
DEFINE_TILE(tile_q8_16, false, 16)
DEFINE_TILE(tile_q4_4, true, 4)
DEFINE_TILE(tile_q4_8, true, 8)
DEFINE_TILE(tile_q4_12, true, 12)
DEFINE_TILE(tile_q4_16, true, 16)

typedef void (*tile_fn)(const uint8_t *, const uint8_t *, size_t, int, int, int, float *, size_t);
static const tile_fn TILES[2][4] = {{tile_q8_4, tile_q8_8, tile_q8_12, tile_q8_16},
                                    {tile_q4_4, tile_q4_8, tile_q4_12, tile_q4_16}};

/* ---- decode rows: one x row × 16 weight rows on AVX-512 VNNI ----
 * The tile's float steps with the block sums from vpdpbusd: the sums are
 * exact integers whichever unit adds them, so each result is the tile's bits.
 * Lanes are weight rows: a pair of rows fills one 512-bit dot (8 lanes each,
 * the x block broadcast to both halves), and three rounds of
 * even-lane + odd-lane adds fold the eight pair vectors to one sum per row
 * in row order. Weights are read in place (nothing packed), which is what a
 * 1-row decode needs: it streams every weight byte once. */

/* Rows [0, 16) of the concatenation a|b reduced pairwise: lane i of the
 * result is lane 2i + lane 2i+1 of a|b. */
AMX_VEC static inline __m512i fold_pairs(__m512i a, __m512i b)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_add_epi32(_mm512_permutex2var_epi32(a, even, b), _mm512_permutex2var_epi32(a, odd, b));
}

/* 8 vectors of (2 rows × 8 partial lanes) → 16 lanes, lane n = row n's sum. */
AMX_VEC static inline __m512i fold_rows(const __m512i v[8])
{
    __m512i r0 = fold_pairs(v[0], v[1]), r1 = fold_pairs(v[2], v[3]);
    __m512i r2 = fold_pairs(v[4], v[5]), r3 = fold_pairs(v[6], v[7]);
    return fold_pairs(fold_pairs(r0, r1), fold_pairs(r2, r3));
}

/* Block sums of rows 2p, 2p+1 (p < 8) against the broadcast x block. */
AMX_VEC static inline __m512i pair_sums(enum dtype wt, const uint8_t *q0, const uint8_t *q1, __m512i xv)
{
    if (wt == DT_Q8_0) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);   /* (x+128)·w − 128·Σw: vpdpbusd wants u8 × s8 */
        __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)q0)),
                                        _mm256_loadu_si256((const __m256i *)q1), 1);
        __m512i neg = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, wv));
        return _mm512_dpbusd_epi32(neg, _mm512_xor_si512(xv, flip), wv);
    }
    __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q0)),
                                        _mm_loadu_si128((const __m128i *)q1), 1);
    __m512i qq = _mm512_castsi256_si512(q);
    qq = _mm512_shuffle_i64x2(qq, qq, _MM_SHUFFLE(1, 1, 0, 0));                 /* [q0 q0 q1 q1] */
    qq = _mm512_srlv_epi64(qq, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));       /* [lo0 hi0 lo1 hi1] */
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(qq, _mm512_set1_epi8(15)), xv);
}

#define ROWS_PREFETCH 8192   /* bytes ahead, as quant_vnni.c's decode rows (measured there) */

AMX_VEC static void rows16(enum dtype wt, const uint8_t *w, size_t ws, int nrows, const struct act_q8 *a, int K,
                           float *out)
{
    const int nb = K / QK32;
    size_t bs, qoff;
    block_geometry(wt, &bs, &qoff);
    const uint8_t *row[QUANT_AMX_N];
    for (int n = 0; n < QUANT_AMX_N; n++) row[n] = w + (size_t)(n < nrows ? n : nrows - 1) * ws;
    __mmask16 live = (__mmask16)((1u << nrows) - 1);
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)ws));
    __m512 acc = _mm512_setzero_ps(), side = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        size_t off = (size_t)b * bs;
        __m512i xv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)a[b].qs));
        __m512i v[8];
        _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) {
            _mm_prefetch((const char *)row[2 * p] + off + ROWS_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)row[2 * p + 1] + off + ROWS_PREFETCH, _MM_HINT_T0);
            v[p] = pair_sums(wt, row[2 * p] + off + qoff, row[2 * p + 1] + off + qoff, xv);
        }
        __m512i isum = fold_rows(v);
        __m512i hdr = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, idx, w + off, 1);
        __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hdr));
        acc = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(a[b].d), dw), _mm512_cvtepi32_ps(isum), acc);
        if (wt == DT_Q8_0) continue;
        __m512 mw = wt == DT_Q4_1 ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hdr, 16)))
                                  : _mm512_mul_ps(dw, _mm512_set1_ps(-8.f));
        side = _mm512_fmadd_ps(mw, _mm512_set1_ps(a[b].s), side);
    }
    _mm512_mask_storeu_ps(out, live, wt == DT_Q8_0 ? acc : _mm512_add_ps(acc, side));
}

void quant_amx_rows(enum dtype wt, const void *w, size_t w_stride, int nrows, const void *xq, int K, float *out)
{
    rows16(wt, w, w_stride, nrows, xq, K, out);
}

void quant_amx_tile(enum dtype wt, const void *wp, const void *xq, size_t xq_stride, int mrows, int ncols, int K,
                    float *out, size_t ldo)
{
    load_tile_config();
    TILES[wt != DT_Q8_0][(mrows - 1) / 4](wp, xq, xq_stride, mrows, ncols, K, out, ldo);
}

#else

bool quant_amx_available(const char **why)
{
    if (why) *why = "not an x86-64 Linux build";
    return false;
}

/* Never called where quant_amx_usable is false. */
void quant_amx_rows(enum dtype wt, const void *w, size_t w_stride, int nrows, const void *xq, int K, float *out)
{
    (void)wt; (void)w; (void)w_stride; (void)nrows; (void)xq; (void)K; (void)out;
}
void quant_amx_pack_w(enum dtype wt, const void *w, size_t w_stride, int nrows, int K, void *wp)
{
    (void)wt; (void)w; (void)w_stride; (void)nrows; (void)K; (void)wp;
}
void quant_amx_tile(enum dtype wt, const void *wp, const void *xq, size_t xq_stride, int mrows, int ncols, int K,
                    float *out, size_t ldo)
{
    (void)wt; (void)wp; (void)xq; (void)xq_stride; (void)mrows; (void)ncols; (void)K; (void)out; (void)ldo;
}

#endif

bool quant_amx_usable(enum dtype wt, enum cpu_simd simd)
{
    return simd == CPU_SIMD_AMX && amx_format(wt) && quant_amx_available(NULL);
}
