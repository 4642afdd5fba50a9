/* core/quant/evaltext.c — see evaltext.h. */
#include "core/quant/evaltext.h"
#include "core/model/tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *evaltext_find(const char *rel, char *buf, size_t n)
{
    if (access(rel, R_OK) == 0 || rel[0] == '/') return rel;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return rel;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(buf, n, "%s/../%s", exe, rel);
    return access(buf, R_OK) == 0 ? buf : rel;
}

static int read_all(FILE *f, char **text, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if (cap >= EVALTEXT_MAX_BYTES) { n = cap + 1; break; }
        char *nb = realloc(b, cap * 2 + 1);
        if (!nb) { free(b); b = NULL; break; }
        b = nb; cap *= 2;
    }
    if (!b) return -1;
    if (n > EVALTEXT_MAX_BYTES) { free(b); return -2; }
    b[n] = 0;
    *text = b; *len = n;
    return 0;
}

int evaltext_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    *text = NULL; *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = read_all(f, text, len);
    bool io = ferror(f);
    fclose(f);
    if (rc == -1 || io) snprintf(err, errlen, "%s: %s", path, io ? "read error" : "out of memory");
    else if (rc == -2) snprintf(err, errlen, "%s: larger than %u MiB; expected a text file", path,
                                EVALTEXT_MAX_BYTES >> 20);
    else if (*len == 0) snprintf(err, errlen, "%s: empty; expected text to evaluate", path);
    else if (memchr(*text, 0, *len))
        snprintf(err, errlen, "%s: byte %zu is NUL; expected a text file", path,
                 (size_t)((char *)memchr(*text, 0, *len) - *text));
    else return 0;
    free(*text);
    *text = NULL; *len = 0;
    return -1;
}

int32_t evaltext_bos(const struct model *m)
{
    if (!m->tok || !tokenizer_add_bos(m->tok)) return -1;
    return tokenizer_bos(m->tok);
}

int evaltext_tokenize(const struct model *m, const char *text, size_t len, int32_t **ids,
                      char *err, size_t errlen)
{
    *ids = NULL;
    if (len == 0) {
        snprintf(err, errlen, "eval text: empty; expected text to evaluate");
        return -1;
    }
    if (len > (size_t)INT_MAX - 8) {
        snprintf(err, errlen, "eval text: %zu bytes; expected at most %d", len, INT_MAX - 8);
        return -1;
    }
    if (!m->tok) {
        *ids = malloc(len * sizeof **ids);
        if (!*ids) goto oom;
        for (size_t i = 0; i < len; i++) (*ids)[i] = (int32_t)((unsigned char)text[i] % m->cfg.vocab);
        return (int)len;
    }
    bool bos = tokenizer_add_bos(m->tok);
    int cap = (int)len + 8;
    *ids = malloc((size_t)cap * sizeof **ids);
    if (!*ids) goto oom;
    int n = tokenizer_encode(m->tok, text, len, bos, false, *ids, cap);
    if (n > cap) {                           /* cannot happen for BPE/SPM (<= 1 id per byte + BOS) */
        int32_t *more = realloc(*ids, (size_t)n * sizeof **ids);
        if (!more) goto oom;
        *ids = more;
        n = tokenizer_encode(m->tok, text, len, bos, false, *ids, n);
    }
    if (n < 0) goto oom;
    if (n == 0) {
        free(*ids); *ids = NULL;
        snprintf(err, errlen, "eval text: no tokens; expected text to evaluate");
        return -1;
    }
    return n;
oom:
    free(*ids); *ids = NULL;
    snprintf(err, errlen, "eval text: out of memory for %zu bytes of tokens", len);
    return -1;
}

int evaltext_load_tokens(const struct model *m, const char *rel, int max_tokens, int32_t **ids,
                         char *err, size_t errlen)
{
    char buf[PATH_MAX + 16], *text;
    size_t len;
    const char *path = evaltext_find(rel, buf, sizeof buf);
    if (evaltext_read(path, &text, &len, err, errlen) < 0) return -1;
    int n = evaltext_tokenize(m, text, len, ids, err, errlen);
    free(text);
    if (n > 0 && max_tokens > 0 && n > max_tokens) n = max_tokens;
    return n;
}
