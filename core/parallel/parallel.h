/* core/parallel/parallel.h — tensor, pipeline and sequence parallelism of
 * the engine's target over a device group.
 *
 * tp × pp devices (kernels/registry.h backend_create_group: CPU virtual
 * devices splitting the threads, or CUDA devices), device d = stage × tp +
 * rank. Stage s runs layers [L·s/pp, L·(s+1)/pp) (balanced by layer count);
 * inside a stage the tp ranks hold tensor shards (core/parallel/tp.h) and
 * all-reduce twice per layer (or, with sp, all-gather / reduce-scatter along
 * the tokens). Every device has its own thread driving it, so the devices
 * really run at once.
 *
 * A step: the batch's sequences are split into micro-batches (at most
 * micro_batches, at most one per sequence); each flows stage to stage:
 * recv its activations [M][dim] from the previous stage (send/recv of
 * kernels/comm.h), run the stage's layers, send them on; the last stage's
 * rank 0 writes the logits rows. Each device records its segments: compute,
 * send, recv, and idle (waiting for a micro-batch = the pipeline bubble),
 * published as telemetry.par (core/telemetry.h).
 *
 * KV: the engine's one pool (the scheduler's) is device 0's storage; every
 * other device gets a shard of it (kvcache_add_shard) for its layers and
 * KV heads, addressed by the same block tables. Device 0's forward is the
 * target instance's own (instance.fw). */
#ifndef INFERTOP_PARALLEL_H
#define INFERTOP_PARALLEL_H

#include "core/engine/instance.h"
#include "core/options/options.h"
#include "core/telemetry.h"

#define PAR_MAX_DEVICES TEL_MAX_DEVICES

struct parallel;

/* Test hook: called instead of a stage's layers for each micro-batch
 * (bubble accounting with fixed stage work). */
typedef void (*par_stage_hook)(void *user, int stage, int mb);

/* Whether the options ask for parallelism (tp > 1 or pp > 1). */
bool par_wanted(const struct options *opt);
/* Whether the options' tp, pp, sp fit m: 0, or -1 with one line naming the
 * option and what it needs (sp without tp, more stages than layers, heads or
 * ffn features that do not split tp ways). */
int  par_check_options(const struct options *opt, const struct model *m, char *err, size_t errlen);

/* The target instance over tp × pp devices, for the engine: creates the
 * device group (backend kind and total threads of `be`), the shard models,
 * the target *in (device 0: stage 0, rank 0, its KV pool sized for the
 * whole model from the kv options in *kv), the other devices' forwards and
 * KV shards, the communicators and the device threads. *in's m is the full
 * model afterwards. step_tokens: tokens per forward call. 0 ok; -1 with a
 * one-line message naming the option (tp, pp, sp) and what it needs; nothing
 * is left created. */
int  par_create(struct parallel **out, const struct options *opt, struct model *m, struct backend *be,
                int step_tokens, const struct kvcache_config *kv, struct model_instance *in,
                char *err, size_t errlen);
/* Stops the threads and frees everything but *in (the engine frees it
 * first: its KV pool's shards live on these devices). NULL is fine. */
void par_free(struct parallel *p);

/* Run one step's batch (the engine's seqs, their request ids, the target's
 * pool for the shard views) through the pipeline; logits [rows][vocab] as
 * forward_batch gives them. Appends every device's kernel records to the
 * target's log and fills tel (segments, bubble, devices); t0_ns: the
 * engine's clock origin. Returns the logits rows, -1 on failure. */
int  par_forward(struct parallel *p, struct model_instance *target, const struct fwd_seq *seqs,
                 const int *seq_ids, int n_seqs, float *logits, uint64_t t0_ns, struct tel_parallel *tel);

/* Copy the step's bubble, comm share and residual size into its record. */
void par_step_record(const struct tel_parallel *tel, struct step_record *sr);

/* Run info for telemetry: tp, pp, micro_batches, sp, devices, shared cores. */
void par_describe(const struct parallel *p, struct tel_parallel *tel);

/* Device 0's name and the group's description for the header. */
const char *par_device_name(const struct parallel *p);

/* Replace each stage's layers by hook (tests). */
void par_set_stage_hook(struct parallel *p, par_stage_hook hook, void *user);

#endif
