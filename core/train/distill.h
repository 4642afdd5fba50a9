/* core/train/distill.h — distillation of a student from a teacher's own
 * next-token distributions (sequence-level: the data are sequences the
 * teacher sampled, or windows of a text, scored by the teacher).
 *
 * Flow: distill_init (student shape + init) → distill_data_prompts or
 * distill_data_text (teacher forward through the engine's forward pass,
 * targets top-k + tail at temperature τ; a held-out split) → optionally
 * distill_resume (a checkpoint) → distill_train (AdamW steps until the token
 * budget or *stop) → distill_write_gguf. Same seed, data and thread count →
 * bit-identical parameters (every reduction has a fixed order). */
#ifndef INFERTOP_TRAIN_DISTILL_H
#define INFERTOP_TRAIN_DISTILL_H

#include "core/model/forward.h"
#include "core/train/adamw.h"
#include "core/train/kl.h"
#include "core/train/student.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum distill_init { DISTILL_INIT_TRUNCATE, DISTILL_INIT_RANDOM };

struct distill_cfg {
    int batch, seq_len;         /* sequences per step, tokens per sequence */
    int topk;                   /* teacher tokens kept per position (0: the full vocabulary) */
    float tau;                  /* temperature of both distributions */
    float sample_temp;          /* teacher sampling temperature for prompt data (0: greedy) */
    bool greedy_first;          /* the first continuation of each training prompt is greedy
                                   (the path spec=draft's greedy verification follows); repeats
                                   sample at sample_temp */
    float heldout_temp;         /* held-out continuations' temperature (0: greedy, one sequence
                                   per held-out prompt: the held-out top-1 is then the per-token
                                   acceptance of greedy verification on those prompts) */
    struct adamw_cfg opt;       /* total_steps is set from tokens */
    uint64_t seed;
    int64_t tokens;             /* training tokens (steps = tokens / (batch·seq_len)) */
    int64_t data_tokens;        /* teacher tokens generated for training (0: min(tokens, 32768)) */
    double heldout_frac;        /* share of prompts/windows held out */
    bool train_embd;            /* the shared embedding/head trains (else frozen) */
    enum distill_init init;
    int copy_layers[64];        /* --init truncate: teacher layer of each student layer */
    int eval_every;             /* steps between held-out evaluations (0: 10 per run) */
    int ckpt_every;             /* steps between checkpoints (0: none until the end/stop) */
};

/* Defaults: batch 4, seq 64, topk 64, τ 1, sample_temp 1, greedy_first on,
 * heldout_temp 0, lr 1e-3 → 1e-4
 * cosine, warmup 20, β (0.9, 0.95), eps 1e-8, wd 0.01, clip 1, seed 1,
 * heldout 0.1, embedding frozen, truncate init. */
void distill_cfg_defaults(struct distill_cfg *c);

struct distill_point { int step; float loss, heldout_kl, tok_s; };

struct distill {
    struct distill_cfg cfg;
    struct model *teacher;
    struct backend *be;
    struct student st;
    struct student_acts acts;
    float *grad, *m, *v;        /* [n_train]: the trainable prefix of st.p */
    size_t n_train;
    int32_t *train_tok, *held_tok;    /* [n_seq][seq_len] */
    int n_train_seq, n_held_seq;
    struct kl_targets train_t, held_t;
    uint64_t data_hash;
    int step, total_steps;
    uint64_t tokens_seen;
    double kl_before, kl_last;  /* held-out KL at step 0 and at the latest evaluation */
    double top1_before, top1_last;  /* held-out share of positions where the student's argmax is
                                       the teacher's most likely token (teacher-forced: the
                                       per-token acceptance of greedy verification) */
    double train_s;             /* seconds spent in training steps */
    struct distill_point *curve;
    int n_curve, cap_curve;
};

/* Build the student of `shape` for teacher t (kept by the caller, uploaded
 * on be). 0 ok; -1 with one line in err (bad shape / layers: bad input). */
int  distill_init(struct distill *d, const struct distill_cfg *cfg, struct model *t, struct backend *be,
                  const char *shape, char *err, size_t errlen);
void distill_free(struct distill *d);

/* Data from the teacher sampling continuations of prompts (text, one per
 * entry; encoded through the chat template when the teacher's tokenizer has
 * one, else bytes mod vocab). The last heldout_frac of the prompts are held
 * out. progress (may be NULL) gets a line now and then. 0 ok; -1 with err. */
int  distill_data_prompts(struct distill *d, const char *const *prompts, int n_prompts, FILE *progress,
                          char *err, size_t errlen);
/* Data from windows of seq_len tokens of `ids` scored by the teacher (the
 * last heldout_frac of the windows held out). 0 ok; -1 with err. */
int  distill_data_tokens(struct distill *d, const int32_t *ids, int64_t n, FILE *progress,
                         char *err, size_t errlen);

/* Mean KL(teacher ‖ student) over the held-out positions (nats, at τ);
 * sets d->top1_last. */
double distill_heldout_kl(struct distill *d);
/* One optimizer step on the next batch; returns the batch's mean τ²·KL. */
double distill_step(struct distill *d);

/* Progress callback: called after every step with the latest point (eval:
 * whether its held-out KL is fresh). */
typedef void (*distill_progress_fn)(const struct distill *d, const struct distill_point *p, bool eval,
                                    void *ctx);
/* Train until total_steps or *stop (Ctrl-C); evaluates the held-out KL
 * every eval_every steps and at the end; calls ckpt(d, ctx) every
 * ckpt_every steps. Returns 0 done, 1 stopped. */
int  distill_train(struct distill *d, volatile sig_atomic_t *stop, distill_progress_fn fn,
                   int (*ckpt)(struct distill *d, void *ctx), void *ctx);

/* Write the student as a llama GGUF: teacher_gguf (may be NULL: synth
 * teacher, no tokenizer keys) gives the tokenizer metadata; matrices f16 when
 * as_f16 (norms stay f32); infertop.distill.* summary keys. 0 ok; -1 err. */
int  distill_write_gguf(const struct distill *d, const char *path, const char *teacher_gguf, bool as_f16,
                        char *err, size_t errlen);

/* --json: config, before/after KL, tokens/s and the curve. */
void distill_write_json(const struct distill *d, FILE *f);
/* The loss curve as a few lines of text (loss and held-out KL over steps). */
void distill_print_curve(const struct distill *d, FILE *f);

/* ---- checkpoints (core/train/checkpoint.c) ------------------------------ */

/* Save everything needed to resume (shape, parameters, AdamW moments, step,
 * tokens, curve, data hash) to path, atomically. 0 ok; -1 with err. */
int  distill_save_checkpoint(const struct distill *d, const char *path, char *err, size_t errlen);
/* Validate a checkpoint image: magic, version, sizes, shape, CRC. On
 * success fills *hdr-like fields of d only when apply is true and the shape
 * and data hash match d's. 0 ok; -1 with "NAME: field: expected" in err. */
int  distill_load_checkpoint_buffer(struct distill *d, const void *buf, size_t len, const char *name,
                                    bool apply, char *err, size_t errlen);
/* Read the file and load it into d (see above). */
int  distill_resume(struct distill *d, const char *path, char *err, size_t errlen);
/* Read and validate only (before the teacher data is made, so a bad file
 * fails at once). 0 ok; -1 with err. */
int  distill_checkpoint_verify(const char *path, char *err, size_t errlen);

#endif
