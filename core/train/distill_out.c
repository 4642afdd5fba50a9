/* core/train/distill_out.c — what a distillation run leaves: the draft GGUF,
 * the --json report and the loss curve. */
#include "core/model/draft_info.h"
#include "core/model/gguf_write.h"
#include "core/train/distill.h"
#include "core/train/train_ops.h"

#include <math.h>
#include <string.h>

/* llama.cpp's llama loader reads these hyperparameters (LLM_KV_* in
 * llama-arch.cpp): context_length, embedding_length, block_count,
 * feed_forward_length, attention.head_count(_kv), rope.freq_base,
 * attention.layer_norm_rms_epsilon, rope.dimension_count, vocab_size. */
static void write_hparams(struct gguf_out *g, const struct model_config *c, const char *teacher_name)
{
    char name[160];
    snprintf(name, sizeof name, "%s draft %dx%d (infertop distill)", teacher_name, c->n_layers, c->dim);
    gguf_out_str(g, "general.architecture", "llama");
    gguf_out_str(g, "general.name", name);
    gguf_out_u32(g, "general.file_type", 1);     /* mostly f16 (llama_ftype LLAMA_FTYPE_MOSTLY_F16) */
    gguf_out_u32(g, "llama.context_length", (uint32_t)c->max_ctx);
    gguf_out_u32(g, "llama.embedding_length", (uint32_t)c->dim);
    gguf_out_u32(g, "llama.block_count", (uint32_t)c->n_layers);
    gguf_out_u32(g, "llama.feed_forward_length", (uint32_t)c->ffn_dim);
    gguf_out_u32(g, "llama.attention.head_count", (uint32_t)c->n_heads);
    gguf_out_u32(g, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    gguf_out_u32(g, "llama.rope.dimension_count", (uint32_t)c->head_dim);
    gguf_out_f32(g, "llama.rope.freq_base", c->rope.theta);
    gguf_out_f32(g, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    gguf_out_u32(g, "llama.vocab_size", (uint32_t)c->vocab);
    if (c->rope.factor > 0) {
        gguf_out_str(g, "llama.rope.scaling.type", "llama3");
        gguf_out_f32(g, "llama.rope.scaling.factor", c->rope.factor);
        gguf_out_f32(g, "llama.rope.scaling.low_freq_factor", c->rope.low_freq_factor);
        gguf_out_f32(g, "llama.rope.scaling.high_freq_factor", c->rope.high_freq_factor);
        gguf_out_u32(g, "llama.rope.scaling.original_context_length", (uint32_t)c->rope.orig_ctx);
    }
}

static void write_summary(struct gguf_out *g, const struct distill *d)
{
    gguf_out_str(g, DRAFT_KEY_TEACHER, d->teacher->source);
    gguf_out_u64(g, DRAFT_KEY_TOKENS, d->tokens_seen);
    gguf_out_u32(g, DRAFT_KEY_STEPS, (uint32_t)d->step);
    gguf_out_f32(g, DRAFT_KEY_KL_BEFORE, (float)d->kl_before);
    gguf_out_f32(g, DRAFT_KEY_KL, (float)d->kl_last);
    gguf_out_f32(g, DRAFT_KEY_TAU, d->cfg.tau);
    gguf_out_u32(g, DRAFT_KEY_TOPK, (uint32_t)d->train_t.k);
    gguf_out_f32(g, DRAFT_KEY_TOP1, (float)d->top1_last);
}

static void write_tensors(struct gguf_out *g, const struct student *s, bool f16)
{
    const struct model_config *c = &s->cfg;
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    static const char *SUFFIX[ST_PER_LAYER] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                               "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
    int rows[ST_PER_LAYER] = {1, qd, kvd, kvd, c->dim, 1, c->ffn_dim, c->ffn_dim, c->dim};
    int cols[ST_PER_LAYER] = {c->dim, c->dim, c->dim, c->dim, qd, c->dim, c->dim, c->dim, c->ffn_dim};
    char name[64];
    gguf_out_tensor_f32(g, "token_embd.weight", s->p + s->embd_off, c->vocab, c->dim, f16);
    gguf_out_tensor_f32(g, "output_norm.weight", s->p + s->out_norm_off, 1, c->dim, false);
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < ST_PER_LAYER; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, SUFFIX[i]);
            gguf_out_tensor_f32(g, name, student_layer(s, l, i), rows[i], cols[i], f16 && rows[i] > 1);
        }
}

int distill_write_gguf(const struct distill *d, const char *path, const char *teacher_gguf, bool as_f16,
                       char *err, size_t errlen)
{
    struct gguf_out g;
    struct gguf_file *tf = NULL;
    gguf_out_init(&g);
    write_hparams(&g, &d->st.cfg, d->teacher->cfg.name);
    if (teacher_gguf) {
        if (gguf_open(teacher_gguf, &tf, err, errlen) < 0) { gguf_out_free(&g); return -1; }
        gguf_out_copy_keys(&g, tf, "tokenizer.");
    }
    write_summary(&g, d);
    write_tensors(&g, &d->st, as_f16);
    int rc = gguf_out_write(&g, path, err, errlen);
    gguf_out_free(&g);
    if (tf) gguf_close(tf);
    return rc;
}

/* ---- reports ------------------------------------------------------------ */

static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

/* `pre` (separator and key, e.g. ",\n  \"steps\": ") then the number. */
static void json_field(FILE *f, const char *pre, double v)
{
    fputs(pre, f);
    json_num(f, v);
}

void distill_write_json(const struct distill *d, FILE *f)
{
    const struct model_config *c = &d->st.cfg;
    const struct distill_cfg *k = &d->cfg;
    fprintf(f, "{\n  \"teacher\": \"%s\",\n", d->teacher->source);
    fprintf(f, "  \"student\": {\"layers\": %d, \"dim\": %d, \"heads\": %d, \"kv_heads\": %d, \"ffn\": %d, "
               "\"vocab\": %d, \"params\": %zu, \"trainable\": %zu},\n", c->n_layers, c->dim, c->n_heads,
            c->n_kv_heads, c->ffn_dim, c->vocab, d->st.n_params, d->n_train);
    fprintf(f, "  \"config\": {\"batch\": %d, \"seq\": %d, \"topk\": %d, \"tau\": %g, \"lr\": %g, "
               "\"min_lr\": %g, \"warmup\": %d, \"weight_decay\": %g, \"clip\": %g, \"seed\": %llu, "
               "\"heldout_frac\": %g, \"sample_temp\": %g, \"greedy_first\": %s, \"heldout_temp\": %g, "
               "\"init\": \"%s\", \"embedding\": \"%s\", \"threads\": %d, \"simd\": \"%s\"},\n",
            k->batch, k->seq_len, d->train_t.k, k->tau, k->opt.lr, k->opt.min_lr, k->opt.warmup,
            k->opt.weight_decay, k->opt.clip, (unsigned long long)k->seed, k->heldout_frac, k->sample_temp,
            k->greedy_first ? "true" : "false", k->heldout_temp,
            k->init == DISTILL_INIT_RANDOM ? "random" : "truncate", k->train_embd ? "trainable" : "frozen",
            train_threads(), train_simd_name());
    fprintf(f, "  \"data\": {\"train_sequences\": %d, \"heldout_sequences\": %d},\n", d->n_train_seq,
            d->n_held_seq);
    fprintf(f, "  \"steps\": %d,\n  \"tokens_seen\": %llu,\n  \"train_seconds\": ", d->step,
            (unsigned long long)d->tokens_seen);
    json_num(f, d->train_s);
    json_field(f, ",\n  \"train_tokens_per_s\": ", d->train_s > 0 ? (double)d->tokens_seen / d->train_s : NAN);
    json_field(f, ",\n  \"heldout_kl_before\": ", d->kl_before);
    json_field(f, ",\n  \"heldout_kl_after\": ", d->kl_last);
    json_field(f, ",\n  \"heldout_top1_before\": ", d->top1_before);
    json_field(f, ",\n  \"heldout_top1_after\": ", d->top1_last);
    fputs(",\n  \"curve\": [", f);
    for (int i = 0; i < d->n_curve; i++) {
        const struct distill_point *p = &d->curve[i];
        fprintf(f, "%s\n    {\"step\": %d, \"loss\": ", i ? "," : "", p->step);
        json_num(f, p->loss);
        json_field(f, ", \"heldout_kl\": ", p->heldout_kl);
        json_field(f, ", \"tokens_per_s\": ", p->tok_s);
        fputc('}', f);
    }
    fputs("\n  ]\n}\n", f);
}

/* Loss per step bucketed into at most 60 columns, drawn as 8 rows of '*'
 * (held-out KL marked 'o'); a y axis with the range. */
void distill_print_curve(const struct distill *d, FILE *f)
{
    enum { COLS = 60, ROWS = 8 };
    double col_loss[COLS], col_kl[COLS], lo = INFINITY, hi = -INFINITY;
    int n_col = 0, steps = d->n_curve;
    if (steps < 2) return;
    int per = (steps + COLS - 1) / COLS;
    for (int c = 0; c * per < steps && c < COLS; c++, n_col++) {
        double s = 0, kl = NAN;
        int n = 0;
        for (int i = c * per; i < (c + 1) * per && i < steps; i++) {
            if (isfinite(d->curve[i].loss)) { s += d->curve[i].loss; n++; }
            if (isfinite(d->curve[i].heldout_kl)) kl = d->curve[i].heldout_kl;
        }
        col_loss[c] = n ? s / n : NAN;
        col_kl[c] = kl;
        double v[2] = {col_loss[c], kl};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) { if (v[k] < lo) lo = v[k]; if (v[k] > hi) hi = v[k]; }
    }
    if (!(hi > lo)) hi = lo + 1;
    fprintf(f, "loss curve (* train loss, o held-out KL; %d steps, %d per column)\n", d->step, per);
    for (int r = ROWS - 1; r >= 0; r--) {
        double top = lo + (hi - lo) * (r + 1) / ROWS, bot = lo + (hi - lo) * r / ROWS;
        fprintf(f, "%8.3f |", r == ROWS - 1 ? hi : r == 0 ? lo : (top + bot) / 2);
        for (int c = 0; c < n_col; c++) {
            bool kl = isfinite(col_kl[c]) && col_kl[c] >= bot && (col_kl[c] < top || r == ROWS - 1);
            bool ls = isfinite(col_loss[c]) && col_loss[c] >= bot && (col_loss[c] < top || r == ROWS - 1);
            fputc(kl ? 'o' : ls ? '*' : ' ', f);
        }
        fputc('\n', f);
    }
    fprintf(f, "         +");
    for (int c = 0; c < n_col; c++) fputc('-', f);
    fprintf(f, "\n          step 0%*s%d\n", n_col > 8 ? n_col - 8 : 1, "", d->step);
}
