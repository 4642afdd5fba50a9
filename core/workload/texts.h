/* core/workload/texts.h — a scenario's [texts]: prompts that are real text
 * (input-grounded tasks: repeat, summarise, edit a given passage), tokenized
 * with the model's tokenizer, instead of random token ids.
 *
 * File format: UTF-8 texts separated by lines that are exactly "---"; leading
 * and trailing blank lines of each text are dropped; at most TEXTS_MAX_BYTES.
 * Request i gets text i mod n. With chat = 1 each text is wrapped in the
 * model's chat template first. A model without a tokenizer (synth:) maps the
 * bytes to ids (byte mod vocab), as `generate` does. */
#ifndef INFERTOP_TEXTS_H
#define INFERTOP_TEXTS_H

#include "core/model/model.h"
#include "core/workload/scenario.h"
#include "core/workload/workload.h"

#define TEXTS_MAX_BYTES (4 << 20)
#define TEXTS_MAX 4096

/* Split buf[0..len) into texts: starts[i], lens[i] for i < return value
 * (at most max); 0 when there is none. Pure: the fuzz target's entry. */
int  texts_split(const char *buf, size_t len, int max, size_t *starts, size_t *lens);

/* Replace w's prompts by sc's texts (a no-op without [texts]). 0 ok; -1 with
 * one line in err: "FILE: what was expected" (unreadable, no texts, a text
 * longer than WORKLOAD_MAX_LEN tokens, no chat template). */
int  workload_apply_texts(struct workload *w, const struct scenario *sc, const struct model *m, char *err,
                          size_t errlen);

#endif
