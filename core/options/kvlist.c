/* core/options/kvlist.c — see kvlist.h. */
#include "core/options/kvlist.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_sep(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','; }

/* Length of the item at p: up to the next separator outside double quotes.
 * -1 when a quote is not closed. */
static long item_length(const char *p)
{
    bool quoted = false;
    long n = 0;
    for (; p[n] && (quoted || !is_sep(p[n])); n++)
        if (p[n] == '"') quoted = !quoted;
    return quoted ? -1 : n;
}

/* item (NUL-terminated, writable) → key, value with the quotes dropped. */
static int split_item(char *item, char **key, char **value, char *err, size_t errlen)
{
    char *eq = strchr(item, '=');
    if (!eq || eq == item || memchr(item, '"', (size_t)(eq - item))) {
        snprintf(err, errlen, "%s: expected key=value", item);
        return -1;
    }
    *eq = 0;
    char *w = eq + 1;
    for (const char *r = eq + 1; *r; r++)     /* drop the quotes, keep what they hold */
        if (*r != '"') *w++ = *r;
    *w = 0;
    *key = item;
    *value = eq + 1;
    return 0;
}

int kvlist_each(const char *text, kvlist_fn fn, void *ctx, char *err, size_t errlen)
{
    char item[KVLIST_ITEM_MAX + 1];
    int count = 0;
    for (const char *p = text ? text : ""; *p;) {
        while (is_sep(*p)) p++;
        if (!*p) break;
        long n = item_length(p);
        if (n < 0) {
            snprintf(err, errlen, "%.60s: expected a closing '\"'", p);
            return -1;
        }
        if (n > KVLIST_ITEM_MAX) {
            snprintf(err, errlen, "%.40s...: expected key=value of at most %d characters", p, KVLIST_ITEM_MAX);
            return -1;
        }
        memcpy(item, p, (size_t)n);
        item[n] = 0;
        p += n;
        char *key, *value;
        if (split_item(item, &key, &value, err, errlen) < 0) return -1;
        if (fn && fn(ctx, key, value, err, errlen) < 0) return -1;
        count++;
    }
    return count;
}

static bool needs_quotes(const char *v)
{
    if (!*v) return false;
    for (; *v; v++)
        if (is_sep(*v)) return true;
    return false;
}

size_t kvlist_append(char *buf, size_t n, size_t used, const char *key, const char *value)
{
    const char *q = needs_quotes(value) ? "\"" : "";
    int w = snprintf(used < n ? buf + used : NULL, used < n ? n - used : 0, "%s%s=%s%s%s", used ? " " : "", key,
                     q, value, q);
    return w > 0 ? used + (size_t)w : used;
}

void expect_error(char *err, size_t errlen, const char *key, const char *got, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (got) snprintf(err, errlen, "%s: expected %s, got '%s'", key, what, got);
    else snprintf(err, errlen, "%s: expected %s", key, what);
}
