/* core/options/options.h — the one registry of toggles and knobs (see options_table.h).
 *
 * Every front end sets options by name through options_set(); the engine reads
 * typed values by id: opt_i/opt_f/opt_s, and opt_enum(o, ID) for enum options,
 * which gives the C constant of the choice (enum attn_impl for ATTN, 16 for
 * block=16) — no consumer decodes a choice index. Values are validated against
 * the table on set, so a struct options is always valid. */
#ifndef INFERTOP_OPTIONS_H
#define INFERTOP_OPTIONS_H

#include "core/options/kvlist.h"
#include "core/options/options_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type { OT_INT, OT_FLOAT, OT_ENUM, OT_BOOL, OT_SIZE, OT_STR };

/* What a change mid-run does (see options_table.h). */
enum opt_class { OC_LIVE, OC_REBUILD, OC_PROCESS };

/* Commands that use an option (bits). */
enum opt_scope { OS_RUN = 1, OS_GEN = 2, OS_TRAIN = 4 };   /* OS_TRAIN: distill */

enum opt_id {
#define X(id, name, type, def, choices, mn, mx, tech, cls, scope, help) OPT_##id,
#include "core/options/options_table.h"
#undef X
    OPT_COUNT
};

/* Enums that belong to the options themselves, generated from their choice lists. */
#define OPT_ENUM_MEMBER(value, name) value,
enum opt_batching { CHOICES_BATCHING(OPT_ENUM_MEMBER) };
enum opt_admission { CHOICES_ADMISSION(OPT_ENUM_MEMBER) };
enum opt_pp_balance { CHOICES_PP_BALANCE(OPT_ENUM_MEMBER) };
enum opt_sparsity { CHOICES_SPARSITY(OPT_ENUM_MEMBER) };
enum opt_spec { CHOICES_SPEC(OPT_ENUM_MEMBER) };
enum opt_quant { CHOICES_QUANT(OPT_ENUM_MEMBER) };
enum opt_act_scale { CHOICES_ACT_SCALE(OPT_ENUM_MEMBER) };
enum opt_quant_weighting { CHOICES_QUANT_WEIGHTING(OPT_ENUM_MEMBER) };
#undef OPT_ENUM_MEMBER

struct option_def {
    const char *name;
    enum opt_type type;
    const char *def;
    int n_choices;                    /* OT_ENUM: entries of the two arrays below */
    const char *const *choice_names;  /* "naive", "flash" */
    const int64_t *choice_values;     /* the C constants they stand for (ATTN_NAIVE, ...) */
    const char *choices;              /* "naive|flash" (NULL when not an enum), for messages */
    double min, max;
    const char *technique;
    enum opt_class cls;
    unsigned scope;                   /* enum opt_scope bits */
    const char *help;
};

struct opt_value {
    int64_t i;          /* OT_INT, OT_BOOL, OT_SIZE; OT_ENUM: the choice's C value */
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
/* "live", "rebuild", "process". */
const char *opt_class_name(enum opt_class c);
/* What a change of that class does, for help lines: "applies at the next step", ... */
const char *opt_class_effect(enum opt_class c);

/* THE choice walker: index of `value` in names[0..n) (n < 0: up to a NULL
 * entry), or -1. Enum choices, on|off and TUI key cycles all go through it. */
int choice_index(const char *const *names, int n, const char *value);
/* Index of `value` among the def's choices (OT_BOOL: "on", "off"), or -1. */
int option_choice_index(const struct option_def *d, const char *value);
/* The def's choices as names (OT_BOOL: on, off); *n gets the count, NULL for other types. */
const char *const *option_choices(const struct option_def *d, int *n);
/* Name of the choice whose C value is `value`, or NULL. */
const char *option_choice_name(const struct option_def *d, int64_t value);

void options_defaults(struct options *o);
/* Set one option from text. 0 ok; -1 with "key: expected ..., got '...'" in err. */
int options_set(struct options *o, const char *key, const char *value, char *err, size_t errlen);
/* Same, by id. */
int options_set_id(struct options *o, enum opt_id id, const char *value, char *err, size_t errlen);
/* "k=v k2=v2" (kvlist grammar); stops at the first error. */
int options_set_list(struct options *o, const char *list, char *err, size_t errlen);
/* Every option set explicitly must be used by a command of `scope` (OS_RUN
 * or OS_GEN). 0 ok; -1 with "KEY: not used by CMD (WHY)" in err for the
 * first that is not. */
int options_check_scope(const struct options *o, unsigned scope, const char *cmd, char *err, size_t errlen);

static inline int64_t opt_i(const struct options *o, enum opt_id id) { return o->v[id].i; }
static inline double opt_f(const struct options *o, enum opt_id id) { return o->v[id].f; }
static inline const char *opt_s(const struct options *o, enum opt_id id) { return o->v[id].s; }
/* An enum option's value as its C type: opt_enum(o, ATTN) is an enum attn_impl,
 * opt_enum(o, BLOCK) an int (8, 16 or 32). A non-enum ID does not compile. */
#define opt_enum(o, ID) ((OPT_CTYPE_##ID)opt_i((o), OPT_##ID))

/* "attn=flash threads=2 ..." — every option, for headers, reports, traces. */
size_t options_format(const struct options *o, char *buf, size_t n, bool only_explicit);
/* The `infertop options` table. */
void options_print_table(FILE *out);

/* Parse sizes like 256M, 1G, 4096 (bytes). -1 on error. */
int parse_size(const char *s, int64_t *out);

#endif
