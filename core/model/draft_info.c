/* core/model/draft_info.c — read the distillation summary keys of a draft. */
#include "core/model/draft_info.h"

#include <stdio.h>
#include <string.h>

void draft_info_from_gguf(const struct gguf_file *f, struct draft_info *out)
{
    memset(out, 0, sizeof *out);
    int64_t v;
    float x;
    const char *s;
    size_t n;
    if (!gguf_get_i64(f, DRAFT_KEY_TOKENS, &v) || v < 0) return;
    out->distilled = true;
    out->tokens_seen = (uint64_t)v;
    if (gguf_get_i64(f, DRAFT_KEY_STEPS, &v) && v >= 0 && v <= 1 << 30) out->steps = (int)v;
    if (gguf_get_i64(f, DRAFT_KEY_TOPK, &v) && v >= 0 && v <= 1 << 30) out->topk = (int)v;
    out->heldout_kl = gguf_get_f32(f, DRAFT_KEY_KL, &x) ? x : -1;
    out->heldout_kl_before = gguf_get_f32(f, DRAFT_KEY_KL_BEFORE, &x) ? x : -1;
    out->tau = gguf_get_f32(f, DRAFT_KEY_TAU, &x) ? x : 1;
    out->heldout_top1 = gguf_get_f32(f, DRAFT_KEY_TOP1, &x) ? x : -1;
    if (gguf_get_str(f, DRAFT_KEY_TEACHER, &s, &n)) {
        size_t k = 0;
        for (; k < n && k < sizeof out->teacher - 1; k++)
            out->teacher[k] = (s[k] >= 0x20 && s[k] < 0x7f) ? s[k] : '?';
        out->teacher[k] = '\0';
    }
}

int draft_info_read(const char *path, struct draft_info *out, char *err, size_t errlen)
{
    struct gguf_file *f;
    memset(out, 0, sizeof *out);
    if (gguf_open(path, &f, err, errlen) < 0) return -1;
    draft_info_from_gguf(f, out);
    gguf_close(f);
    return 0;
}

void draft_info_format(const struct draft_info *d, char *buf, size_t n)
{
    if (!d->distilled) { snprintf(buf, n, "not distilled"); return; }
    const char *base = strrchr(d->teacher, '/');
    int k = snprintf(buf, n, "distilled from %s: %llu tokens, %d steps, held-out KL %.3f -> %.3f",
                     base ? base + 1 : d->teacher, (unsigned long long)d->tokens_seen, d->steps,
                     d->heldout_kl_before, d->heldout_kl);
    if (d->heldout_top1 >= 0 && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, ", top-1 agreement %.1f%%", 100.0 * d->heldout_top1);
}
