/* traces/jsonw.c — see jsonw.h. */
#include "traces/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jsonw *w)
{
    memset(w, 0, sizeof *w);
}

void jw_reset(struct jsonw *w)
{
    char *buf = w->buf;
    size_t cap = w->cap;
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    if (buf) buf[0] = '\0';
}

void jw_free(struct jsonw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

/* Room for n more bytes and the NUL. */
static bool reserve(struct jsonw *w, size_t n)
{
    if (w->failed) return false;
    if (w->len + n + 1 <= w->cap) return true;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n + 1) cap *= 2;
    char *buf = realloc(w->buf, cap);
    if (!buf) {
        w->failed = true;
        return false;
    }
    w->buf = buf;
    w->cap = cap;
    return true;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
    if (!reserve(w, n)) return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* The comma before a value or key at the current depth. */
static void separate(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth]) put(w, ",", 1);
    w->need_comma[w->depth] = true;
}

static void open_(struct jsonw *w, char c)
{
    separate(w);
    put(w, &c, 1);
    if (w->depth < JW_MAX_DEPTH) w->depth++;
    else w->failed = true;
    w->need_comma[w->depth] = false;
}

static void close_(struct jsonw *w, char c)
{
    put(w, &c, 1);
    if (w->depth > 0) w->depth--;
}

void jw_object(struct jsonw *w) { open_(w, '{'); }
void jw_array(struct jsonw *w) { open_(w, '['); }
void jw_end_object(struct jsonw *w) { close_(w, '}'); }
void jw_end_array(struct jsonw *w) { close_(w, ']'); }

static void put_escaped(struct jsonw *w, const char *s)
{
    put(w, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(w, esc, 2);
        } else if (c < 0x20) {
            int n = snprintf(esc, sizeof esc, "\\u%04x", c);
            put(w, esc, (size_t)n);
        } else {
            const char *q = p;   /* a run of plain bytes */
            while (q[1] && (unsigned char)q[1] >= 0x20 && q[1] != '"' && q[1] != '\\') q++;
            put(w, p, (size_t)(q - p + 1));
            p = q;
        }
    }
    put(w, "\"", 1);
}

void jw_key(struct jsonw *w, const char *key)
{
    separate(w);
    put_escaped(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

/* Two decimal digits per table entry: "00" .. "99". */
static const char DIGITS2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

#define INT_TEXT_MAX 20   /* "-9223372036854775808" */

/* Decimal digits of u (1..20). */
static int digit_count(uint64_t u)
{
    int n = 1;
    for (; u >= 10000; u /= 10000) n += 4;
    return n + (u >= 10) + (u >= 100) + (u >= 1000);
}

/* v in decimal at p (room for INT_TEXT_MAX bytes); returns the length.
 * Written in place from the last digit, two per division: a step line holds
 * ~10^4 integers (kernel records). */
static size_t int_text(char *p, int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = (size_t)digit_count(u) + (v < 0);
    char *q = p + n;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        *--q = DIGITS2[d + 1];
        *--q = DIGITS2[d];
    }
    if (u >= 10) {
        *--q = DIGITS2[u * 2 + 1];
        *--q = DIGITS2[u * 2];
    } else {
        *--q = (char)('0' + u);
    }
    if (v < 0) *--q = '-';
    return n;
}

static void put_int(struct jsonw *w, int64_t v)
{
    if (!reserve(w, INT_TEXT_MAX)) return;
    w->len += int_text(w->buf + w->len, v);
    w->buf[w->len] = '\0';
}

void jw_int(struct jsonw *w, int64_t v)
{
    separate(w);
    put_int(w, v);
}

void jw_ints(struct jsonw *w, const int64_t *v, int n)
{
    if (n <= 0) return;
    separate(w);
    if (!reserve(w, (size_t)n * (INT_TEXT_MAX + 1))) return;
    char *p = w->buf + w->len;
    p += int_text(p, v[0]);
    for (int i = 1; i < n; i++) {
        *p++ = ',';
        p += int_text(p, v[i]);
    }
    w->len = (size_t)(p - w->buf);
    w->buf[w->len] = '\0';
}

#define NUM_TEXT_MAX 32   /* "%1.17g" of any double, or "null" */

/* v as JSON at p (room for NUM_TEXT_MAX bytes); returns the length. */
static size_t num_text(char *p, double v)
{
    if (!isfinite(v)) {
        memcpy(p, "null", 4);
        return 4;
    }
    if (fabs(v) < 9007199254740992.0 && (double)(int64_t)v == v)   /* 2^53: every integer is exact */
        return int_text(p, (int64_t)v);
    /* cJSON's steps: 15 digits when they read back the same, else 17 */
    int n = snprintf(p, NUM_TEXT_MAX, "%1.15g", v);
    if (strtod(p, NULL) != v) n = snprintf(p, NUM_TEXT_MAX, "%1.17g", v);
    return (size_t)n;
}

void jw_num(struct jsonw *w, double v)
{
    jw_nums(w, &v, 1);
}

void jw_nums(struct jsonw *w, const double *v, int n)
{
    if (n <= 0) return;
    separate(w);
    if (!reserve(w, (size_t)n * (NUM_TEXT_MAX + 1))) return;
    char *p = w->buf + w->len;
    p += num_text(p, v[0]);
    for (int i = 1; i < n; i++) {
        *p++ = ',';
        p += num_text(p, v[i]);
    }
    w->len = (size_t)(p - w->buf);
    w->buf[w->len] = '\0';
}

void jw_str(struct jsonw *w, const char *s)
{
    separate(w);
    put_escaped(w, s ? s : "");
}

void jw_bool(struct jsonw *w, bool v)
{
    separate(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

const char *jw_text(const struct jsonw *w)
{
    if (w->failed) return NULL;
    return w->buf ? w->buf : "";
}
