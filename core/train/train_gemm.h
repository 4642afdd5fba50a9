/* core/train/train_gemm.h — register-blocked f32 matrix products for
 * training (the three matmuls of train_ops.h: forward, dX, dW).
 *
 * Two shapes cover all three:
 *   NT  y[n][o] = Σ_i x[n][i]·W[o][i]          (forward: rows of both contiguous)
 *   NN  C[r][c] += Σ_k A(r, k)·B[k][c]         (dX: A = dy, B = W; dW: A = dyᵀ, B = x)
 * Each tile keeps a block of outputs in vector registers (AVX-512: 4×4 dots
 * or 4 rows × 64 columns; AVX2: 2×4 or 4 × 16) so one load feeds several
 * FMAs, against one or four in the dot/axpy kernels.
 *
 * Determinism: an output element's arithmetic depends only on the SIMD path
 * and on its column position, never on the tile it falls in, the row range a
 * call covers or the thread running it: NT is one vector FMA chain over i
 * (ascending), one horizontal sum, then the scalar tail in order; NN is one
 * FMA chain over k ascending starting from C's value (vector lanes and the
 * scalar columns both fused, so every column rounds alike). Splitting rows
 * over tasks therefore gives the same bits at any thread count. The portable
 * path is plain scalar C, the reference the SIMD paths are tested against. */
#ifndef INFERTOP_TRAIN_GEMM_H
#define INFERTOP_TRAIN_GEMM_H

#include <stddef.h>

enum gemm_path { GEMM_PORTABLE, GEMM_AVX2, GEMM_AVX512 };

/* y[n][o] for n in [0, N), o in [o0, o1): x[N][I], W[O][I], y row stride ldy. */
void gemm_nt(enum gemm_path p, float *y, int ldy, const float *x, const float *W, int N, int I,
             int o0, int o1);

/* C[r][c] += Σ_{k<K} A[r·ars + k·aks] · B[k·ldb + c] for r in [r0, r1),
 * c in [0, cols); C row stride ldc. */
void gemm_nn(enum gemm_path p, float *C, int ldc, const float *A, size_t ars, size_t aks,
             const float *B, int ldb, int r0, int r1, int cols, int K);

#endif
