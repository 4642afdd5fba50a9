/* traces/jsonw.h — a streaming JSON writer for the recording's hot lines.
 *
 * A step line with its kernel records holds thousands of numbers; building a
 * cJSON tree for it (one malloc per number) and printing it (cJSON prints a
 * double with "%1.15g", reads it back with sscanf and retries "%1.17g") cost
 * the TUI thread ~3 ms per step, which on a 2-core machine stalls one of the
 * engine's two workers. This writer appends text to one growing buffer and
 * prints every integral number below 2^53 with an integer conversion; other
 * finite numbers take cJSON's own steps (so a reader gets the same double
 * back), NaN and infinities print as null as cJSON does.
 *
 * Commas are the writer's business: jw_key / jw_* values in an object, plain
 * jw_* values in an array. Nesting is limited to JW_MAX_DEPTH. On an
 * allocation failure the writer marks itself failed and ignores the rest. */
#ifndef INFERTOP_TRACES_JSONW_H
#define INFERTOP_TRACES_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jsonw {
    char *buf;
    size_t len, cap;
    int depth;
    bool need_comma[JW_MAX_DEPTH + 1];
    bool after_key;             /* a key was written: the next value takes no comma */
    bool failed;
};

void jw_init(struct jsonw *w);
void jw_reset(struct jsonw *w);       /* empty the text, keep the buffer */
void jw_free(struct jsonw *w);

void jw_key(struct jsonw *w, const char *key);   /* "key": inside an object */
void jw_object(struct jsonw *w);                 /* { */
void jw_array(struct jsonw *w);                  /* [ */
void jw_end_object(struct jsonw *w);             /* } */
void jw_end_array(struct jsonw *w);              /* ] */
void jw_int(struct jsonw *w, int64_t v);
void jw_num(struct jsonw *w, double v);
/* n integers / numbers as n values (the same text as n jw_int / jw_num
 * calls, one reserve): a kernel record's runs of fields. */
void jw_ints(struct jsonw *w, const int64_t *v, int n);
void jw_nums(struct jsonw *w, const double *v, int n);
void jw_str(struct jsonw *w, const char *s);     /* escaped; s must be valid UTF-8 (utf8_sanitized) */
void jw_bool(struct jsonw *w, bool v);

/* The text so far, NUL-terminated (NULL when the writer failed). */
const char *jw_text(const struct jsonw *w);

#endif
