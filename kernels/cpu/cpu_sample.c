/* kernels/cpu/cpu_sample.c — the CPU backend's sample hook: the host
 * sampler's selection (kernels/sample_select.h) over logits that are already
 * in host memory, so a step with the hook skips copying [rows][vocab] logits
 * out of the forward's buffer. Rows run one after another on the calling
 * thread: sorting one row of 49152 candidates costs about what the host
 * sampler costs. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/sample_select.h"

int cpu_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
               const struct sample_params *sp, const double *u)
{
    struct cs_cand *cand = NULL;
    if (sp->temperature > 0)
        cand = cpu_scratch_get(&cpu_ctx(be)->cand, sizeof *cand * (size_t)vocab, "sampling candidates");
    for (int r = 0; r < rows; r++)
        ids[r] = cs_select_row(cand, logits + (size_t)r * vocab, vocab, sp->temperature, sp->top_k, sp->top_p,
                               u ? u[r] : 0);
    return 0;
}
