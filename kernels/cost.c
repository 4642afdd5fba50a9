/* kernels/cost.c — modeled traffic and FLOPs; see cost.h. */
#include "kernels/cost.h"

#include <math.h>

/* y[m][N] = x[m][K] · Wᵀ. Weight bytes (in the format the backend reads,
 * weight_run_type, per-row scales included) stream from memory once; x rows
 * are re-read from cache for every output (chip traffic) — as 1-byte codes
 * when the format quantizes activations (W8A8, FP8A8: x is quantized once,
 * 4 bytes read and 1 written per element, plus a scale per row); y written
 * once. 2:4 sparse weights: their bytes are the kept values + 2-bit indices
 * (dtype_row_bytes), and half the multiply-adds (dtype_mac_fraction); x is
 * still read whole. */
void cost_matmul(struct kernel_record *r, const struct weight *w, int m)
{
    double N = w->rows, K = w->cols;
    enum dtype t = weight_run_type(w);
    double xe = dtype_quantizes_act(t) ? 1.0 : 4.0;   /* bytes per x element the dot reads */
    r->flops   = 2.0 * m * N * K * dtype_mac_fraction(t);
    r->dram_rd = N * (double)dtype_row_bytes(t, w->cols) + 4.0 * m * K;
    r->dram_wr = 4.0 * m * N;
    r->chip_rd = xe * m * K * N;       /* x re-read per output row */
    r->chip_wr = 0;
    r->shape[0] = m; r->shape[1] = w->rows; r->shape[2] = w->cols;
}

/* Per sequence, n_q queries over n_ctx = pos0 + n_q keys, causal.
 * Naive ("standard attention"): the score matrix S and probabilities P
 * [heads][n_q][n_ctx] go to main memory and come back: e(4·N·d + 4·N²) per head
 * in the square case. Flash: only Q, K, V, O cross main memory (K/V counted
 * once per KV head); K/V tiles are re-read on chip once per Q tile. */
void cost_attention(struct kernel_record *r, enum attn_impl impl, const struct kv_view *kv,
                    int n_q, int pos0, const struct attn_shape *sh)
{
    const double e = 4.0;                       /* float32 activations */
    const double ekv = kv ? (double)kv_elem_bytes(kv) : 4.0;   /* K/V element bytes */
    double H = sh->n_heads, Hkv = sh->n_kv_heads, d = sh->head_dim;
    double n_ctx = pos0 + n_q;
    /* causal: query i sees pos0+i+1 keys */
    double pairs = n_q * (double)pos0 + n_q * (n_q + 1.0) / 2.0;
    double q_o = 2.0 * e * n_q * H * d;          /* read Q, write O */
    double kv_b = 2.0 * ekv * n_ctx * Hkv * d;   /* read K and V once */
    double table = kv && kv->n_blocks > 1 ? 4.0 * ceil(n_ctx / kv->block_size) : 0;

    r->flops = 4.0 * H * d * pairs + 5.0 * H * pairs;   /* QKᵀ, PV, softmax */
    r->shape[0] = n_q; r->shape[1] = (int64_t)n_ctx; r->shape[2] = sh->n_heads; r->shape[3] = sh->head_dim;
    if (impl == ATTN_NAIVE) {
        double s = e * H * n_q * n_ctx;          /* one score matrix, all heads */
        /* K/V are read per query head (no reuse across a GQA group) */
        r->dram_rd = e * n_q * H * d + 2.0 * ekv * n_ctx * H * d + 2.0 * s + table;
        r->dram_wr = e * n_q * H * d + 2.0 * s;  /* write S, write P */
        r->chip_rd = 0;
        r->chip_wr = 0;
    } else {
        /* Per KV head, Q tile t (positions t*TQ..) streams the keys its last
         * position sees through on-chip tiles, once per block of ATTN_ROWS
         * (query, head) rows of the GQA group: decode reads each K/V row once
         * for the whole group. */
        double g = H / Hkv, loads = 0;
        for (int t0 = 0; t0 < n_q; t0 += ATTN_TILE_Q) {
            double rows = fmin(ATTN_TILE_Q, n_q - t0) * g;
            loads += (pos0 + fmin(n_q, t0 + ATTN_TILE_Q)) * ceil(rows / ATTN_ROWS);
        }
        r->dram_rd = q_o / 2.0 + kv_b + table;
        r->dram_wr = q_o / 2.0;
        r->chip_rd = 2.0 * ekv * Hkv * d * loads; /* K and V tiles */
        r->chip_wr = 0;
    }
}

void cost_eltwise(struct kernel_record *r, double elems, int reads, int writes, double flops_per)
{
    r->flops = elems * flops_per;
    r->dram_rd = 4.0 * elems * reads;
    r->dram_wr = 4.0 * elems * writes;
    r->chip_rd = r->chip_wr = 0;
    r->shape[0] = (int64_t)elems;
}
