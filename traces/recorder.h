/* traces/recorder.h — a run as JSON Lines, and back (`--record F`, `replay F`).
 *
 * One JSON object per line, each with a "type" (step lines streamed by
 * traces/jsonw.h, the rest written with cJSON; read back with cJSON):
 *   header  format "infertop-recording", version, model, scenario, device (+ reason),
 *           options (every option by name), layers, pid/tid, t0_raw_ns, kernel policy
 *   step    index, times (ns since engine start), tokens, batch, queue lengths, KV
 *           totals, per-op-class summary, plan items [req, pos0, n_tokens, decode],
 *           and when kept (trace_run.h policy) kernel records
 *           [name, class, layer, t_ns, dur_ns, shape0..3, flops, dram_bytes, chip_bytes]
 *   event   request events: kind (arrive, admit, first_token, finish, preempt), t_ns, req
 *   event   (v2) arrive events add prompt and max_output (tokens)
 *   option  a mid-run option change: t_ns, name, value
 *   kv      (v2) the KV block map: t_ns, after_step (steps before it), kind,
 *           block_size, blocks, and runs: a flat array of 6-tuples
 *           [count, state, fill, refs, owner, in_prefix_cache] covering the
 *           blocks in order (consecutive equal blocks form one run). At most
 *           4 per second of run time plus one at every option change.
 *   end     steps, events (and v2: kvs) written: its absence means the file was cut short
 * Version 3 adds what core/telemetry.h publishes:
 *   step    commits: the output tokens committed in the step, one array per
 *           request [req, n, id_1 .. id_n] (n <= TEL_MAX_COMMIT); kernel
 *           records gain their tags [..., role, device, stage, seq]
 *   event   generated (output tokens so far) on every request event; admit:
 *           cached (prefix-cache hits), preempt: dropped (K/V tokens lost),
 *           finish: hash (16 hex digits, tel_hash_tokens of the output ids)
 *   kv      pool (the telemetry pool id)
 * Version 4 (current) adds to the header
 *   quality  the run's weights against the reference (struct tel_quality,
 *            core/quant/quality.c): state (none, reference, measuring,
 *            measured, failed), mode, tokens, scored, kld, kld_err, same_top,
 *            same_top_err, ppl_ratio, seconds, error; `replay` shows it
 * Version 1 files (no kv lines), version 2 files (no commits or tags) and
 * version 3 files (no quality) still load: the missing fields read as 0
 * (seq -1, no commits, quality state none).
 * The writer streams through traces/outfile.h: to a temp file renamed onto F
 * on recorder_close when F is new or a regular file (never a half-written
 * recording), straight into a device, FIFO or symlink's target otherwise.
 *
 * A recording is untrusted input: the reader checks every field's type and
 * range and stops at the first damage, keeping what came before it. It reads
 * the file line by line (never whole): a line longer than RECORDING_MAX_LINE
 * or a file larger than RECORDING_MAX_BYTES is an error naming the file, the
 * line and the limit (`replay /dev/zero` stops at its first 16 MiB). */
#ifndef INFERTOP_TRACES_RECORDER_H
#define INFERTOP_TRACES_RECORDER_H

#include "traces/jsonw.h"
#include "traces/outfile.h"
#include "traces/trace_run.h"

#include <stddef.h>
#include <stdio.h>

struct recorder {
    FILE *f;                  /* out.f while open */
    struct outfile out;
    char path[1024];
    int steps_written, events_written, kvs_written;
    bool failed;
    struct jsonw line;        /* the step line being written (its buffer is reused) */
};

/* Open F for writing (outfile_open) and write the header. 0 ok; -1 with a message in err. */
int  recorder_open(struct recorder *w, const char *path, const struct trace_run *r, char *err, size_t errlen);
/* Write the steps and events of r not written yet. 0 ok; -1 write error. */
int  recorder_flush(struct recorder *w, const struct trace_run *r);
/* Flush, write the end line, close (and rename the temp file onto F). 0 ok;
 * -1 with "F: write failed: REASON" (a regular F is left as it was). */
int  recorder_close(struct recorder *w, const struct trace_run *r, char *err, size_t errlen);
/* The other way to feed a recorder (a capture handed over in pieces, e.g.
 * from an engine thread): write every step, snapshot and event of `batch`
 * (its steps_base must equal the steps written so far). Do not mix with
 * recorder_flush on one recorder. 0 ok; -1 write error. */
int  recorder_write_batch(struct recorder *w, const struct trace_run *batch);
/* End line, close, rename (after recorder_write_batch). Same result as recorder_close. */
int  recorder_finish(struct recorder *w, char *err, size_t errlen);
/* Drop the temp file (a failed run). */
void recorder_abort(struct recorder *w);
/* After a -1 from recorder_flush/recorder_write_batch: "F: write failed: REASON". */
void recorder_error(const struct recorder *w, char *err, size_t errlen);

#define RECORDING_MAX_LINE ((size_t)16 << 20)          /* bytes per line (a step with kernels: ~50 KB) */
#define RECORDING_MAX_BYTES ((int64_t)4 << 30)          /* bytes per file */

/* Read a recording into r (initialized here).
 *   0   complete
 *   1   damaged after a good header: r holds every step and event before the
 *       damage, err says "F:LINE: what was expected"
 *  -1   unusable (cannot open, bad or missing header, out of memory): err says why */
int  recorder_read(const char *path, struct trace_run *r, char *err, size_t errlen);
/* Same from memory (fuzzing, tests); `name` is used in messages. */
int  recorder_read_buffer(const char *name, const char *buf, size_t len, struct trace_run *r,
                          char *err, size_t errlen);

/* recorder_read without keeping kernel records, for readers that stream
 * them: every line is checked the same way, steps keep `detailed` but
 * n_kernels = 0, and offsets (when not NULL) gets a malloc'd array of each
 * step line's byte offset [r->n_steps] (free it) for recorder_read_step.
 * The bulk of a recording is kernel records (~100 bytes each, hundreds per
 * step): this keeps the per-step summaries and plan items only. */
int  recorder_read_compact(const char *path, struct trace_run *r, int64_t **offsets, char *err, size_t errlen);
/* Re-read the step line at `offset` of an open recording `f` (whose header
 * r->h holds) into *st with its kernel records; free it with
 * trace_step_free after. 0 ok; -1 with "F:offset: what was expected". */
int  recorder_read_step(FILE *f, const char *name, int64_t offset, const struct trace_run *r, struct trace_step *st,
                        char *err, size_t errlen);

#endif
