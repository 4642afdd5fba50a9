/* core/model/draft_info.h — the training summary `infertop distill` writes
 * into a draft's GGUF (infertop.distill.* keys), read back for the TUI
 * header, `models` and reports. */
#ifndef INFERTOP_DRAFT_INFO_H
#define INFERTOP_DRAFT_INFO_H

#include "core/model/gguf.h"

#include <stdbool.h>
#include <stdint.h>

#define DRAFT_KEY_TEACHER   "infertop.distill.teacher"
#define DRAFT_KEY_TOKENS    "infertop.distill.tokens_seen"
#define DRAFT_KEY_STEPS     "infertop.distill.steps"
#define DRAFT_KEY_KL_BEFORE "infertop.distill.heldout_kl_before"
#define DRAFT_KEY_KL        "infertop.distill.heldout_kl"
#define DRAFT_KEY_TAU       "infertop.distill.tau"
#define DRAFT_KEY_TOPK      "infertop.distill.topk"
#define DRAFT_KEY_TOP1      "infertop.distill.heldout_top1"

struct draft_info {
    bool distilled;           /* the file carries the summary */
    char teacher[128];
    uint64_t tokens_seen;
    int steps, topk;
    float heldout_kl_before, heldout_kl, tau;
    float heldout_top1;       /* held-out argmax agreement with the teacher (-1: absent) */
};

/* From an open GGUF: fills *out (distilled false when the keys are absent). */
void draft_info_from_gguf(const struct gguf_file *f, struct draft_info *out);
/* Open path and read it. 0 ok (out->distilled tells whether it is a
 * distilled draft); -1 with err when the file is not a readable GGUF. */
int  draft_info_read(const char *path, struct draft_info *out, char *err, size_t errlen);
/* "distilled from T: 65536 tokens, held-out KL 2.31 → 0.84" into buf. */
void draft_info_format(const struct draft_info *d, char *buf, size_t n);

#endif
