/* core/options/options.h — the one registry of toggles and knobs (see options_table.h).
 *
 * Every front end sets options by name through options_set(); the engine reads
 * typed values by id. Values are validated against the table on set, so a
 * struct options is always valid. */
#ifndef INFERTOP_OPTIONS_H
#define INFERTOP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type { OT_INT, OT_FLOAT, OT_ENUM, OT_BOOL, OT_SIZE, OT_STR };

enum opt_id {
#define X(id, name, type, def, choices, mn, mx, tech, live, help) OPT_##id,
#include "core/options/options_table.h"
#undef X
    OPT_COUNT
};

struct option_def {
    const char *name;
    enum opt_type type;
    const char *def;
    const char *choices;
    double min, max;
    const char *technique;
    bool live;
    const char *help;
};

struct opt_value {
    int64_t i;          /* OT_INT, OT_BOOL, OT_SIZE, OT_ENUM (index into choices) */
    double f;           /* OT_FLOAT */
    char s[64];         /* canonical text of the value */
};

struct options {
    struct opt_value v[OPT_COUNT];
    bool explicit_set[OPT_COUNT];   /* set by the user, not the default */
};

const struct option_def *option_def(enum opt_id id);
int option_find(const char *name);                       /* id, or -1 */
const char *opt_type_name(enum opt_type t);

void options_defaults(struct options *o);
/* Set one option from text. 0 ok; -1 with "key: expected ..., got '...'" in err. */
int options_set(struct options *o, const char *key, const char *value, char *err, size_t errlen);
/* "k=v k2=v2" (whitespace or comma separated); stops at the first error. */
int options_set_list(struct options *o, const char *list, char *err, size_t errlen);

static inline int64_t opt_i(const struct options *o, enum opt_id id) { return o->v[id].i; }
static inline double opt_f(const struct options *o, enum opt_id id) { return o->v[id].f; }
static inline const char *opt_s(const struct options *o, enum opt_id id) { return o->v[id].s; }

/* "attn=flash threads=2 ..." — every option, for headers, reports, traces. */
size_t options_format(const struct options *o, char *buf, size_t n, bool only_explicit);
/* The `infertop options` table. */
void options_print_table(FILE *out);

/* Parse sizes like 256M, 1G, 4096 (bytes). -1 on error. */
int parse_size(const char *s, int64_t *out);

#endif
