/* core/workload/scenario.h — scenarios (INI files): the parsed, validated description of a workload.
 *
 * A scenario describes a workload: how requests arrive (all at t=0, fixed gaps,
 * Poisson, gamma with a chosen burstiness), how long prompts and outputs are,
 * whether groups of requests share a prompt prefix, the SLOs to judge them by,
 * and option settings passed through to the options registry. The file format
 * is documented key by key in scenarios/README.md.
 *
 * Two steps, so a rate relative to measured capacity can be resolved late:
 *   scenario_load()      file → struct scenario (validated; plain data, no heap;
 *                        scenario.c)
 *   workload_generate()  scenario + vocab + capacity → struct workload (heap;
 *                        workload.h, workload.c)
 * Same scenario, vocab and capacity → a byte-identical workload on every machine
 * (core/rng.h). Errors are one line: "file:line: key: what was expected". */
#ifndef INFERTOP_SCENARIO_H
#define INFERTOP_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCENARIO_NAME_MAX     64
#define SCENARIO_TEXT_MAX     256
/* values in a `dist = list`: as many as one line can hold (inih's 199
 * characters: "values=1,1,..." holds 96), so no file can be refused for more */
#define SCENARIO_LIST_MAX     96
#define SCENARIO_MAX_OPTIONS  64        /* entries in [options] */
#define SCENARIO_OPTION_KEY_MAX 48      /* longest [options] key */
#define SCENARIO_FILE_MAX     (1 << 20) /* bytes */

#define WORKLOAD_MAX_REQUESTS 1000000
#define WORKLOAD_MAX_LEN      1048576   /* any one prompt or output length, tokens */
#define WORKLOAD_MAX_TOKENS   (64L << 20) /* all prompt tokens of one workload */

enum arrival_process {
    ARRIVAL_ALL,      /* every request at t = 0 (rate = inf; a saturation probe) */
    ARRIVAL_FIXED,    /* constant gaps 1/rate */
    ARRIVAL_POISSON,  /* exponential gaps, mean 1/rate */
    ARRIVAL_GAMMA,    /* gamma gaps: shape 1/cv², mean 1/rate, gap CV = cv */
};

enum length_dist {
    LENGTH_FIXED,     /* value */
    LENGTH_UNIFORM,   /* integer uniform in [min, max] */
    LENGTH_LOGNORMAL, /* round(median · exp(sigma · N(0,1))), clamped to [min, max] */
    LENGTH_LIST,      /* one of values, each equally likely */
};

struct length_spec {
    enum length_dist dist;
    int value;                          /* fixed */
    int min, max;                       /* uniform bounds; lognormal clamp */
    double median, sigma;               /* lognormal */
    int n_values;                       /* list */
    int values[SCENARIO_LIST_MAX];
};

struct arrival_spec {
    enum arrival_process process;
    double rate;                        /* req/s; a factor of capacity if relative */
    bool relative;                      /* written "0.8x": rate × measured capacity */
    double cv;                          /* gamma: coefficient of variation of gaps */
};

struct prefix_spec {
    int groups;                         /* 0: no shared prefixes */
    int per_group;                      /* 0: requests spread evenly over groups */
    int length;                         /* tokens shared by every request of a group */
};

/* [texts]: the prompts are texts from a file instead of random ids
 * (core/workload/texts.h); the lengths are the texts' token counts. */
struct texts_spec {
    char file[SCENARIO_TEXT_MAX];       /* "" = none; relative to the scenario's folder */
    int chat;                           /* 1: wrap each text in the model's chat template */
};

struct slo_spec {                       /* 0 = no objective */
    double ttft_ms, tpot_ms, e2e_ms;
};

struct scenario_option {                /* one [options] line, kept verbatim */
    char key[SCENARIO_OPTION_KEY_MAX + 1];
    char value[SCENARIO_TEXT_MAX];
    int line;
};

/* A parsed, validated scenario. Plain data: copy it by value, nothing to free. */
struct scenario {
    char path[SCENARIO_TEXT_MAX];       /* file it came from (for messages) */
    char name[SCENARIO_NAME_MAX];
    char description[SCENARIO_TEXT_MAX];
    char model[SCENARIO_TEXT_MAX];      /* "synth:smollm2-135m", a .gguf path, or "" */
    uint64_t seed;
    int requests;                       /* 0 when duration_s decides */
    double duration_s;                  /* 0 when requests decides */
    struct arrival_spec arrival;
    struct length_spec prompt;          /* with [prefix]: the part after the prefix */
    struct length_spec output;          /* max output tokens per request */
    struct prefix_spec prefix;
    struct texts_spec texts;
    struct slo_spec slo;
    int n_options;
    struct scenario_option options[SCENARIO_MAX_OPTIONS];
    /* Private to scenario.c: where each key was set (line > 0 from the file,
     * -1 by scenario_set, 0 unset), for messages and "not used by" checks. */
    int key_line[32];
};

/* Parse and validate a scenario file. Returns 0, or -1 with one line
 * "path:line: key: what was expected" in err; *sc is untouched on error. */
int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen);

/* The same from memory: `name` is used in messages; `text` need not be
 * NUL-terminated (len bytes). For tests and the fuzzer. */
int scenario_parse_buffer(const char *name, const char *text, size_t len, struct scenario *sc,
                          char *err, size_t errlen);

/* Override keys after loading: key is "section.key" or a bare [scenario] key
 * ("requests", "seed", "duration_s", "model"); "options.NAME" adds or replaces
 * an [options] entry. What a new value replaces is dropped: requests and
 * duration_s exclude each other, a new dist drops that section's other length
 * keys, a new process drops rate/cv when it does not use them. All n
 * assignments are applied, then the result is validated once (so
 * "prompt.dist=fixed" and "prompt.value=32" go together, in any order). On
 * error *sc is unchanged and err holds "override: key: what was expected". */
int scenario_set_many(struct scenario *sc, int n, const char *const *keys,
                      const char *const *values, char *err, size_t errlen);
/* One assignment: scenario_set(sc, "requests", "16", err, n). */
int scenario_set(struct scenario *sc, const char *key, const char *value, char *err,
                 size_t errlen);

/* Where `key` ("section.key" or a bare [scenario] key, as scenario_set takes
 * it) was set: its line in the file (> 0), -1 by an override, 0 unset or
 * unknown. For messages about values used outside the parser. */
int scenario_key_line(const struct scenario *sc, const char *key);

/* True if the rate is written relative to capacity ("0.8x"), i.e.
 * workload_generate needs a measured capacity_req_s > 0. */
bool scenario_needs_capacity(const struct scenario *sc);

/* Names for reports: "poisson", "lognormal", ... */
const char *arrival_process_name(enum arrival_process p);
const char *length_dist_name(enum length_dist d);

#endif
