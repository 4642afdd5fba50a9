/* kernels/cpu/qx_a16_wide.h — the int8 and int4 g32 symmetric weight-only
 * kernels on 16-bit activation rows (qx.h, qx_a16.c's layout), written once
 * for any vector width. Included by qx_avx2.c (8 int32 lanes, vpmaddwd) and
 * qx_avx512.c (16 lanes, AVX-512 VNNI vpdpwssd), which first define:
 *   QA_ATTR                 target attributes
 *   QA_VI, QA_V, QA_VL      int and float vector types, lanes (32-bit)
 *   QA_ZI() QA_ZF() QA_LDI(p) QA_ADDI(a, b) QA_CVT(v) QA_ADDF(a, b)
 *   QA_FMA(a, b, c) QA_HSUM(v)
 *   QA_DOT(acc, a, b)       acc + Σ of int16 pairs a·b per int32 lane
 *   QA_LD_I8W(p)            2·QA_VL int8 weights → int16 words
 *   QA_UNIT_G               int4 groups per step (AVX-512 2, AVX2 1)
 *   qa_i4_words(blk, two, lo, hi)  the step's packed bytes → low / high
 *                           nibbles as int16 words in the layout of x̂
 *   qa_i4_scales(blk, two)  each group's fp16 scale over its lanes
 *   QA_X_LO(u), QA_X_HI(u)  word offsets of step u's x̂ for lo / hi
 *   QA_SUFFIX(name)
 * As in qx_wide.h one body computes NW weight rows × NX x rows (NW·NX <= 4)
 * as independent pairs with the same steps, so results do not depend on the
 * row count. Integer sums are exact: int8 flushes its int32 lanes to f32 every
 * QA_SPAN elements (a lane then holds <= 256 products of |w| <= 128 and
 * |x̂| <= 32767: < 2^31); an int4 lane holds <= 4 products and one group's
 * -8·Σx̂ (< 2^24, so its f32 convert is exact too). */

#define QA_INL static inline __attribute__((always_inline))
#define QA_SPAN 2048
/* Software prefetch QA_PF_BYTES ahead on each weight row, every step (so
 * every line of the span ahead is touched): the rows of a matmul are
 * contiguous and the hardware prefetchers do not keep four interleaved
 * streams far enough ahead — quant_vnni.c's measured distance for the Q8_0 /
 * Q4_0 decode rows, which streamed faster than these kernels without it. */
#define QA_PF_BYTES 8192
#define QA_UNROLL _Pragma("GCC unroll 4")

QA_ATTR QA_INL const int16_t *QA_SUFFIX(qa_words)(const uint8_t *xa) { return (const int16_t *)(xa + 64); }
QA_ATTR QA_INL float QA_SUFFIX(qa_scale)(const uint8_t *xa) { float s; memcpy(&s, xa, sizeof s); return s; }

/* int8: rows of f32 scale + K int8. */
QA_ATTR QA_INL void QA_SUFFIX(a16_i8_pairs)(const uint8_t *w, size_t ws, const int NW, const uint8_t *xa, size_t xs,
                                           const int NX, int K, float *out)
{
    const int ST = 2 * QA_VL;   /* int16 elements per vector */
    QA_V f[4];
    QA_UNROLL for (int p = 0; p < NW * NX; p++) f[p] = QA_ZF();
    int k = 0;
    while (k + ST <= K) {
        int kend = k + ((K - k) / ST * ST < QA_SPAN ? (K - k) / ST * ST : QA_SPAN);
        QA_VI ia[4][2];
        QA_UNROLL for (int p = 0; p < NW * NX; p++) ia[p][0] = ia[p][1] = QA_ZI();
        for (; k + 2 * ST <= kend; k += 2 * ST)
            QA_UNROLL for (int u = 0; u < 2; u++)
                QA_UNROLL for (int c = 0; c < NW; c++) {
                    if (u == 0) __builtin_prefetch(w + (size_t)c * ws + XQ_ROW_HDR + k + QA_PF_BYTES, 0, 3);
                    QA_VI wv = QA_LD_I8W(w + (size_t)c * ws + XQ_ROW_HDR + k + u * ST);
                    QA_UNROLL for (int r = 0; r < NX; r++)
                        ia[c * NX + r][u] = QA_DOT(ia[c * NX + r][u], wv,
                                                   QA_LDI(QA_SUFFIX(qa_words)(xa + (size_t)r * xs) + k + u * ST));
                }
        for (; k + ST <= kend; k += ST)
            QA_UNROLL for (int c = 0; c < NW; c++) {
                QA_VI wv = QA_LD_I8W(w + (size_t)c * ws + XQ_ROW_HDR + k);
                QA_UNROLL for (int r = 0; r < NX; r++)
                    ia[c * NX + r][0] = QA_DOT(ia[c * NX + r][0], wv, QA_LDI(QA_SUFFIX(qa_words)(xa + (size_t)r * xs) + k));
            }
        QA_UNROLL for (int p = 0; p < NW * NX; p++) f[p] = QA_ADDF(f[p], QA_CVT(QA_ADDI(ia[p][0], ia[p][1])));
    }
    QA_UNROLL for (int c = 0; c < NW; c++) {
        const uint8_t *row = w + (size_t)c * ws;
        const int8_t *wq = (const int8_t *)(row + XQ_ROW_HDR);
        QA_UNROLL for (int r = 0; r < NX; r++) {
            const int16_t *q = QA_SUFFIX(qa_words)(xa + (size_t)r * xs);
            int32_t t = 0;
            for (int kk = k; kk < K; kk++) t += (int32_t)wq[kk] * q[kk];
            out[c * NX + r] = xq_row_scale(row) * QA_SUFFIX(qa_scale)(xa + (size_t)r * xs) *
                              (QA_HSUM(f[c * NX + r]) + (float)t);
        }
    }
}

/* int4 g32 symmetric: rows of K/32 blocks (fp16 d, 16 packed bytes). Per step
 * and pair: the lanes start at the groups' -8·Σx̂ (qx_a16.c), take the low and
 * the high nibbles' products, and are scaled by their group's d in f32. */
QA_ATTR QA_INL void QA_SUFFIX(a16_i4_step)(const uint8_t *w, size_t ws, const int NW, const uint8_t *xa, size_t xs,
                                          const int NX, int np, int u, const bool two, QA_V *f)
{
    QA_UNROLL for (int c = 0; c < NW; c++) {
        const uint8_t *blk = w + (size_t)c * ws + (size_t)u * QA_UNIT_G * 18;
        __builtin_prefetch(blk + QA_PF_BYTES, 0, 3);
        QA_VI lo, hi;
        qa_i4_words(blk, two, &lo, &hi);
        QA_V d = qa_i4_scales(blk, two);
        QA_UNROLL for (int r = 0; r < NX; r++) {
            const int16_t *q = QA_SUFFIX(qa_words)(xa + (size_t)r * xs);
            const int32_t *init = (const int32_t *)(q + (size_t)np * 64);
            QA_VI ia = QA_LDI(init + (size_t)u * QA_VL);
            ia = QA_DOT(ia, lo, QA_LDI(q + QA_X_LO(u)));
            ia = QA_DOT(ia, hi, QA_LDI(q + QA_X_HI(u)));
            f[c * NX + r] = QA_FMA(QA_CVT(ia), d, f[c * NX + r]);
        }
    }
}

QA_ATTR QA_INL void QA_SUFFIX(a16_i4_pairs)(const uint8_t *w, size_t ws, const int NW, const uint8_t *xa, size_t xs,
                                           const int NX, int K, float *out)
{
    const int ng = K / 32, np = (ng + 1) / 2, nu = ng / QA_UNIT_G;
    QA_V f[4];
    QA_UNROLL for (int p = 0; p < NW * NX; p++) f[p] = QA_ZF();
    for (int u = 0; u < nu; u++) QA_SUFFIX(a16_i4_step)(w, ws, NW, xa, xs, NX, np, u, true, f);
    if (ng % QA_UNIT_G) QA_SUFFIX(a16_i4_step)(w, ws, NW, xa, xs, NX, np, nu, false, f);
    QA_UNROLL for (int c = 0; c < NW; c++)
        QA_UNROLL for (int r = 0; r < NX; r++)
            out[c * NX + r] = QA_SUFFIX(qa_scale)(xa + (size_t)r * xs) * QA_HSUM(f[c * NX + r]);
}

/* The rows kernel (1 weight row × nx activation rows) and the 4-row decode
 * kernel of each format. */
#define QA_ENTRY(tag)                                                                                \
    QA_ATTR static void QA_SUFFIX(tag##_a16_rows)(const void *w, const void *xa, size_t xs, int nx, int K, \
                                                  float *out)                                        \
    {                                                                                                \
        const uint8_t *wb = w, *a = xa;                                                              \
        switch (nx) {                                                                                \
        case 1: QA_SUFFIX(a16_##tag##_pairs)(wb, 0, 1, a, xs, 1, K, out); break;                     \
        case 2: QA_SUFFIX(a16_##tag##_pairs)(wb, 0, 1, a, xs, 2, K, out); break;                     \
        case 3: QA_SUFFIX(a16_##tag##_pairs)(wb, 0, 1, a, xs, 3, K, out); break;                     \
        default: QA_SUFFIX(a16_##tag##_pairs)(wb, 0, 1, a, xs, 4, K, out); break;                    \
        }                                                                                            \
    }                                                                                                \
    QA_ATTR static void QA_SUFFIX(tag##_a16_wrows4)(const void *w, size_t ws, const void *xa, int K, float *out) \
    {                                                                                                \
        QA_SUFFIX(a16_##tag##_pairs)((const uint8_t *)w, ws, 4, (const uint8_t *)xa, 0, 1, K, out);  \
    }
QA_ENTRY(i8)
QA_ENTRY(i4)

qx_act_dot_fn QA_SUFFIX(qx_a16_rows)(enum dtype t)
{
    return t == DT_I8 ? QA_SUFFIX(i8_a16_rows) : t == DT_I4S_32 ? QA_SUFFIX(i4_a16_rows) : NULL;
}
qx_a16_wrows4_fn QA_SUFFIX(qx_a16_wrows4)(enum dtype t)
{
    return t == DT_I8 ? QA_SUFFIX(i8_a16_wrows4) : t == DT_I4S_32 ? QA_SUFFIX(i4_a16_wrows4) : NULL;
}
