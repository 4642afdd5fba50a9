/* core/workload/texts.c — see texts.h. */
#include "core/workload/texts.h"
#include "core/model/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether buf[a..b) is a separator line: "---" (a trailing \r allowed). */
static bool is_separator(const char *buf, size_t a, size_t b)
{
    if (b > a && buf[b - 1] == '\r') b--;
    return b - a == 3 && memcmp(buf + a, "---", 3) == 0;
}

static bool blank_line(const char *buf, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r') return false;
    return true;
}

/* Keep the text of lines [a, b) without its leading/trailing blank lines. */
static int keep_text(const char *buf, size_t a, size_t b, int n, int max, size_t *starts, size_t *lens)
{
    while (a < b) {                                   /* leading blank lines */
        const char *nl = memchr(buf + a, '\n', b - a);
        size_t e = nl ? (size_t)(nl - buf) : b;
        if (!blank_line(buf, a, e)) break;
        a = nl ? e + 1 : b;
    }
    while (b > a && (buf[b - 1] == '\n' || buf[b - 1] == '\r' || buf[b - 1] == ' ' || buf[b - 1] == '\t')) b--;
    if (b <= a || n >= max) return n;
    starts[n] = a;
    lens[n] = b - a;
    return n + 1;
}

int texts_split(const char *buf, size_t len, int max, size_t *starts, size_t *lens)
{
    int n = 0;
    size_t text0 = 0, line = 0;
    while (line < len) {
        const char *nl = memchr(buf + line, '\n', len - line);
        size_t end = nl ? (size_t)(nl - buf) : len, next = nl ? end + 1 : len;
        if (is_separator(buf, line, end)) {
            n = keep_text(buf, text0, line, n, max, starts, lens);
            text0 = next;
        }
        line = next;
    }
    return keep_text(buf, text0, len, n, max, starts, lens);
}

/* The file named by [texts] file: as given when absolute, else next to the scenario. */
static void texts_path(const struct scenario *sc, char *out, size_t n)
{
    const char *slash = strrchr(sc->path, '/');
    if (sc->texts.file[0] == '/' || !slash) snprintf(out, n, "%s", sc->texts.file);
    else snprintf(out, n, "%.*s/%s", (int)(slash - sc->path), sc->path, sc->texts.file);
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot read it (texts of [texts] file)", path); return NULL; }
    char *buf = malloc(TEXTS_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, TEXTS_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf) { snprintf(err, errlen, "%s: out of memory", path); return NULL; }
    if (n > TEXTS_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes; expected at most that", path, TEXTS_MAX_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Token ids of one text: the model's tokenizer (chat template when asked),
 * else byte mod vocab. Returns the count (> 0) into *out (malloc'd), -1 with err. */
static int encode_text(const struct model *m, const char *text, size_t len, bool chat, int32_t **out,
                       const char *path, int idx, char *err, size_t errlen)
{
    *out = NULL;
    if (!m->tok) {
        *out = malloc((len ? len : 1) * sizeof **out);
        if (!*out) return -1;
        for (size_t i = 0; i < len; i++) (*out)[i] = (int32_t)((unsigned char)text[i] % m->cfg.vocab);
        return (int)len;
    }
    char *t = malloc(len + 1), *wrapped = NULL;
    if (!t) return -1;
    memcpy(t, text, len);
    t[len] = 0;
    if (chat) {
        int need = tokenizer_apply_chat(m->tok, t, NULL, 0);
        if (need < 0) {
            snprintf(err, errlen, "%s: chat = 1, but %s has no chat template this tokenizer knows", path, m->source);
            free(t);
            return -1;
        }
        wrapped = malloc((size_t)need + 1);
        if (wrapped) tokenizer_apply_chat(m->tok, t, wrapped, (size_t)need + 1);
    }
    const char *s = chat ? wrapped : t;
    int cap = s ? (int)strlen(s) + 8 : 0;
    *out = s ? malloc((size_t)cap * sizeof **out) : NULL;
    int n = *out ? tokenizer_encode(m->tok, s, strlen(s), tokenizer_add_bos(m->tok), chat, *out, cap) : -1;
    free(t);
    free(wrapped);
    if (n > WORKLOAD_MAX_LEN) {
        snprintf(err, errlen, "%s: text %d is %d tokens; expected at most %d", path, idx + 1, n, WORKLOAD_MAX_LEN);
        return -1;
    }
    return n;
}

struct encoded { int32_t **ids; int *n; int count; };

static void encoded_free(struct encoded *e)
{
    for (int i = 0; e->ids && i < e->count; i++) free(e->ids[i]);
    free(e->ids);
    free(e->n);
}

static int encode_all(const struct model *m, const struct scenario *sc, const char *path, struct encoded *e,
                      char *err, size_t errlen)
{
    size_t len;
    char *buf = read_file(path, &len, err, errlen);
    if (!buf) return -1;
    size_t *starts = malloc(TEXTS_MAX * sizeof *starts), *lens = malloc(TEXTS_MAX * sizeof *lens);
    int n = starts && lens ? texts_split(buf, len, TEXTS_MAX, starts, lens) : -1;
    int rc = 0;
    memset(e, 0, sizeof *e);
    if (n == 0) { snprintf(err, errlen, "%s: no texts; expected texts separated by lines ---", path); rc = -1; }
    if (n > 0) {
        e->ids = calloc((size_t)n, sizeof *e->ids);
        e->n = calloc((size_t)n, sizeof *e->n);
    }
    if (n < 0 || (n > 0 && (!e->ids || !e->n))) { snprintf(err, errlen, "%s: out of memory", path); rc = -1; }
    for (int i = 0; rc == 0 && i < n; i++) {
        e->count = i + 1;
        e->n[i] = encode_text(m, buf + starts[i], lens[i], sc->texts.chat != 0, &e->ids[i], path, i, err, errlen);
        if (e->n[i] <= 0) {
            if (e->n[i] == 0) snprintf(err, errlen, "%s: text %d has no tokens", path, i + 1);
            else if (!err[0]) snprintf(err, errlen, "%s: out of memory", path);
            rc = -1;
        }
    }
    free(starts);
    free(lens);
    free(buf);
    if (rc < 0) encoded_free(e);
    return rc;
}

int workload_apply_texts(struct workload *w, const struct scenario *sc, const struct model *m, char *err,
                         size_t errlen)
{
    if (!sc->texts.file[0]) return 0;
    char path[2 * SCENARIO_TEXT_MAX];
    texts_path(sc, path, sizeof path);
    struct encoded e;
    if (err && errlen) err[0] = 0;
    if (encode_all(m, sc, path, &e, err, errlen) < 0) return -1;
    long total = 0;
    for (int i = 0; i < w->n; i++) total += e.n[i % e.count];
    int32_t *tok = malloc((size_t)(total ? total : 1) * sizeof *tok);
    if (!tok) { encoded_free(&e); snprintf(err, errlen, "%s: out of memory", path); return -1; }
    long at = 0;
    for (int i = 0; i < w->n; i++) {
        int k = i % e.count;
        memcpy(tok + at, e.ids[k], (size_t)e.n[k] * sizeof *tok);
        w->reqs[i].prompt = tok + at;
        w->reqs[i].prompt_len = e.n[k];
        w->reqs[i].prefix_len = 0;
        w->reqs[i].group = -1;
        at += e.n[k];
    }
    free(w->tokens);
    w->tokens = tok;
    w->n_tokens = total;
    encoded_free(&e);
    return 0;
}
