/* core/quant/evaltext.h — the texts eval and calibration read, as token ids.
 *
 * Shipped texts (texts/README.md: where they come from, their licences):
 *   texts/eval.txt   the GNU GPL version 2, verbatim (Debian base-files'
 *                    /usr/share/common-licenses/GPL-2): a few thousand tokens
 *   texts/calib.txt  the CC0 1.0 legal code, verbatim (common-licenses/CC0-1.0)
 * They are distinct, so calibrating on one and measuring on the other does not
 * score a model on the text it was tuned on.
 *
 * An eval text is untrusted input: read whole (at most EVALTEXT_MAX_BYTES),
 * refused when empty or holding a NUL byte. */
#ifndef INFERTOP_EVALTEXT_H
#define INFERTOP_EVALTEXT_H

#include "core/model/model.h"

#include <stddef.h>
#include <stdint.h>

#define EVALTEXT_EVAL  "texts/eval.txt"
#define EVALTEXT_CALIB "texts/calib.txt"
#define EVALTEXT_MAX_BYTES (64u << 20)

/* A checkout-relative path (EVALTEXT_EVAL): as given when readable from the
 * working directory, else next to the binary (bin/../rel). Returns rel when
 * neither exists (the open then names it). */
const char *evaltext_find(const char *rel, char *buf, size_t n);

/* Read `path` whole into *text (NUL-terminated, malloc'd; *len bytes).
 * 0; -1 with "PATH: ..." in err (cannot open, empty, too large, NUL byte). */
int evaltext_read(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* Token ids of text as llama-perplexity makes them: the model's tokenizer
 * with its own add_bos (BOS first only when the model asks for it), special
 * token texts not parsed. A model without a tokenizer (synth:) maps each byte
 * to id = byte mod vocab, as `generate` does. *ids malloc'd; returns the
 * count (>= 1), or -1 with one line in err. */
int evaltext_tokenize(const struct model *m, const char *text, size_t len, int32_t **ids,
                      char *err, size_t errlen);

/* The BOS id a chunk starts with, or -1 when the model adds none. */
int32_t evaltext_bos(const struct model *m);

/* evaltext_find + read + tokenize, keeping at most max_tokens (0: all). */
int evaltext_load_tokens(const struct model *m, const char *rel, int max_tokens, int32_t **ids,
                         char *err, size_t errlen);

#endif
