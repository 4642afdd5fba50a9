/* kernels/cpu/qx_wide.h — the weight-only own-format kernels (int8, fp8,
 * int4; qx.h) written once for any vector width. Included (once each) by
 * qx_avx2.c (8 float lanes) and qx_avx512.c (16), which first define:
 *   QW_ATTR                 target attributes of every function here
 *   QW_V, QW_VL             the float vector type and its lanes
 *   QW_ZERO() QW_ADD(a, b) QW_FMA(a, b, c) QW_LOADX(p) QW_HSUM(v)
 *   QW_LD_I8(p) QW_LD_E5M2(p) QW_LD_E4M3(p)
 *                           QW_VL weights from QW_VL bytes (E4M3: 2^-8 of
 *                           the value, the sum is scaled by 256)
 *   QW_I4, QW_I4_CHAINS, qw_i4_prep(blk, zp), qw_i4_span(st, qs, lo, hi)
 *                           int4: a group's decoding state from its block
 *                           header; QW_VL packed bytes → lo (elements c..) and
 *                           hi (elements g/2 + c..) as d·(q − z)
 *   QW_SUFFIX(name)         name##_avx2 / name##_avx512
 *
 * One body computes NW weight rows × NX x rows (NW·NX <= 4) as independent
 * pairs: prefill runs 1 weight row × up to 4 x rows (every weight row is
 * dequantized once for the x rows), decode 4 weight rows × 1 x row (each x
 * vector loaded once for four weight rows: the decode matvec's only reuse).
 * A pair's float steps do not depend on NW or NX (the same lane layout,
 * two chains over even/odd steps, the same reduction), so a row's result is
 * the same bits whether it ran in prefill, a decode group of four or alone:
 * batch invariance (speculative verify == one-row decode). */

#define QW_INL static inline __attribute__((always_inline))
/* int4: software prefetch QW_PF_BLOCKS groups ahead along each weight
 * row. In a decode profile (perf, synth:smollm2-135m, 1 thread) the group
 * scale loads of the four rows stalled on memory: 18-byte groups go by
 * faster than the hardware prefetchers follow four streams. */
#define QW_PF_BLOCKS 24
#define QW_UNROLL _Pragma("GCC unroll 4")

/* Element formats: one byte per weight, an f32 scale in front of the row. */
#define QW_DEFINE_ELEM(fmt, LOAD, SCALAR, MUL)                                                       \
    QW_ATTR QW_INL void QW_SUFFIX(fmt##_pairs)(const uint8_t *w, size_t ws, const int NW, const float *x, \
                                               size_t ldx, const int NX, int K, float *out)          \
    {                                                                                                \
        QW_V acc[4][2];                                                                              \
        QW_UNROLL for (int p = 0; p < NW * NX; p++) acc[p][0] = acc[p][1] = QW_ZERO();                         \
        int k = 0;                                                                                   \
        for (; k + 2 * QW_VL <= K; k += 2 * QW_VL)                                                   \
            QW_UNROLL for (int u = 0; u < 2; u++)                                                              \
                QW_UNROLL for (int c = 0; c < NW; c++) {                                                       \
                    QW_V wv = LOAD(w + (size_t)c * ws + XQ_ROW_HDR + k + u * QW_VL);                 \
                    QW_UNROLL for (int r = 0; r < NX; r++)                                                     \
                        acc[c * NX + r][u] = QW_FMA(wv, QW_LOADX(x + (size_t)r * ldx + k + u * QW_VL), \
                                                    acc[c * NX + r][u]);                             \
                }                                                                                    \
        for (; k + QW_VL <= K; k += QW_VL)                                                           \
            QW_UNROLL for (int c = 0; c < NW; c++) {                                                           \
                QW_V wv = LOAD(w + (size_t)c * ws + XQ_ROW_HDR + k);                                 \
                QW_UNROLL for (int r = 0; r < NX; r++)                                                         \
                    acc[c * NX + r][0] = QW_FMA(wv, QW_LOADX(x + (size_t)r * ldx + k), acc[c * NX + r][0]); \
            }                                                                                        \
        QW_UNROLL for (int c = 0; c < NW; c++) {                                                               \
            const uint8_t *row = w + (size_t)c * ws, *b = row + XQ_ROW_HDR;                          \
            QW_UNROLL for (int r = 0; r < NX; r++) {                                                           \
                float s = QW_HSUM(QW_ADD(acc[c * NX + r][0], acc[c * NX + r][1])) * (MUL), t = 0;    \
                for (int kk = k; kk < K; kk++) t += SCALAR(b[kk]) * x[(size_t)r * ldx + kk];         \
                out[c * NX + r] = xq_row_scale(row) * (s + t);                                       \
            }                                                                                        \
        }                                                                                            \
    }

/* int4 group g (32/64/128), zp: zero-point layout. Chunk c of a block's
 * packed bytes holds elements c.. (low nibbles) and g/2 + c.. (high).
 * QW_I4_CHAINS (1 or 2) accumulators per pair: 2 keeps the low and high
 * halves apart (more FMAs in flight), 1 frees registers where there are
 * few (AVX2's 16: four rows' accumulators and group scales must stay in
 * them). The group scale is folded into the decoded weights, so no
 * per-group rescale of the sums. */
QW_ATTR QW_INL void QW_SUFFIX(i4_pairs)(const uint8_t *w, size_t ws, const int NW, const float *x, size_t ldx,
                                        const int NX, int K, float *out, const int g, const bool zp)
{
    const int hdr = xq_i4_hdr(zp), bb = hdr + g / 2, h = g / 2;
    QW_V al[4], ah[4];
    QW_UNROLL for (int p = 0; p < NW * NX; p++) al[p] = ah[p] = QW_ZERO();
    for (int blk = 0; blk < K / g; blk++) {
        QW_I4 st[4];
        QW_UNROLL for (int c = 0; c < NW; c++) __builtin_prefetch(w + (size_t)c * ws + (size_t)(blk + QW_PF_BLOCKS) * bb, 0, 3);
        QW_UNROLL for (int c = 0; c < NW; c++) st[c] = qw_i4_prep(w + (size_t)c * ws + (size_t)blk * bb, zp);
        for (int cc = 0; cc < h; cc += QW_VL)
            QW_UNROLL for (int c = 0; c < NW; c++) {
                QW_V lo, hi;
                qw_i4_span(&st[c], w + (size_t)c * ws + (size_t)blk * bb + hdr + cc, &lo, &hi);
                QW_UNROLL for (int r = 0; r < NX; r++) {
                    const float *xb = x + (size_t)r * ldx + (size_t)blk * g + cc;
                    al[c * NX + r] = QW_FMA(lo, QW_LOADX(xb), al[c * NX + r]);
                    if (QW_I4_CHAINS == 2) ah[c * NX + r] = QW_FMA(hi, QW_LOADX(xb + h), ah[c * NX + r]);
                    else al[c * NX + r] = QW_FMA(hi, QW_LOADX(xb + h), al[c * NX + r]);
                }
            }
    }
    QW_UNROLL for (int p = 0; p < NW * NX; p++) out[p] = QW_HSUM(QW_ADD(al[p], ah[p]));
}

#define QW_SC_I8(v) ((float)(int8_t)(v))
QW_DEFINE_ELEM(i8, QW_LD_I8, QW_SC_I8, 1.0f)
QW_DEFINE_ELEM(e5m2, QW_LD_E5M2, fp8_e5m2_to_f32, 1.0f)
QW_DEFINE_ELEM(e4m3, QW_LD_E4M3, fp8_e4m3_to_f32, 256.0f)

/* The dot_rows_fn (1 weight row × nx x rows) and qx_wrows4_fn (4 weight
 * rows × 1 x row) of each format; NX/NW constants so the accumulators stay
 * in registers. */
#define QW_ENTRY(tag, CALL)                                                                          \
    QW_ATTR static void QW_SUFFIX(tag##_rows)(const void *w, const float *x, size_t ldx, int nx, int K, \
                                              float *out)                                            \
    {                                                                                                \
        const uint8_t *wb = w;                                                                       \
        switch (nx) {                                                                                \
        case 1: CALL(wb, 0, 1, x, ldx, 1, K, out); break;                                            \
        case 2: CALL(wb, 0, 1, x, ldx, 2, K, out); break;                                            \
        case 3: CALL(wb, 0, 1, x, ldx, 3, K, out); break;                                            \
        default: CALL(wb, 0, 1, x, ldx, 4, K, out); break;                                           \
        }                                                                                            \
    }                                                                                                \
    QW_ATTR static void QW_SUFFIX(tag##_wrows4)(const void *w, size_t ws, const float *x, int K, float *out) \
    {                                                                                                \
        CALL((const uint8_t *)w, ws, 4, x, 0, 1, K, out);                                            \
    }

#define QW_CALL_I8(...) QW_SUFFIX(i8_pairs)(__VA_ARGS__)
#define QW_CALL_E5M2(...) QW_SUFFIX(e5m2_pairs)(__VA_ARGS__)
#define QW_CALL_E4M3(...) QW_SUFFIX(e4m3_pairs)(__VA_ARGS__)
#define QW_CALL_I4(G, ZP, ...) QW_SUFFIX(i4_pairs)(__VA_ARGS__, G, ZP)
#define QW_CALL_I4S32(...) QW_CALL_I4(32, false, __VA_ARGS__)
#define QW_CALL_I4S64(...) QW_CALL_I4(64, false, __VA_ARGS__)
#define QW_CALL_I4S128(...) QW_CALL_I4(128, false, __VA_ARGS__)
#define QW_CALL_I4A32(...) QW_CALL_I4(32, true, __VA_ARGS__)
#define QW_CALL_I4A64(...) QW_CALL_I4(64, true, __VA_ARGS__)
#define QW_CALL_I4A128(...) QW_CALL_I4(128, true, __VA_ARGS__)
QW_ENTRY(i8, QW_CALL_I8)
QW_ENTRY(e5m2, QW_CALL_E5M2)
QW_ENTRY(e4m3, QW_CALL_E4M3)
QW_ENTRY(i4s32, QW_CALL_I4S32)
QW_ENTRY(i4s64, QW_CALL_I4S64)
QW_ENTRY(i4s128, QW_CALL_I4S128)
QW_ENTRY(i4a32, QW_CALL_I4A32)
QW_ENTRY(i4a64, QW_CALL_I4A64)
QW_ENTRY(i4a128, QW_CALL_I4A128)

#define QW_CASES(KIND)                                                                               \
    switch (t) {                                                                                     \
    case DT_I8: return QW_SUFFIX(i8_##KIND);                                                         \
    case DT_E4M3: return QW_SUFFIX(e4m3_##KIND);                                                     \
    case DT_E5M2: return QW_SUFFIX(e5m2_##KIND);                                                     \
    case DT_I4S_32: return QW_SUFFIX(i4s32_##KIND);                                                  \
    case DT_I4S_64: return QW_SUFFIX(i4s64_##KIND);                                                  \
    case DT_I4S_128: return QW_SUFFIX(i4s128_##KIND);                                                \
    case DT_I4A_32: return QW_SUFFIX(i4a32_##KIND);                                                  \
    case DT_I4A_64: return QW_SUFFIX(i4a64_##KIND);                                                  \
    case DT_I4A_128: return QW_SUFFIX(i4a128_##KIND);                                                \
    default: return NULL;                                                                            \
    }

dot_rows_fn QW_SUFFIX(qx_dot_rows)(enum dtype t) { QW_CASES(rows) }
qx_wrows4_fn QW_SUFFIX(qx_wrows4)(enum dtype t) { QW_CASES(wrows4) }
