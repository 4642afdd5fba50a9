/* core/options/kvlist.h — THE splitter and joiner of "k=v k2=v2" lists, and
 * the one formatter of "key: expected ..., got '...'" errors.
 *
 * Every list of settings the program reads or writes goes through here:
 * --set, --a/--b (ab specs), --scenario-set, a recording header's options,
 * reports and trace metadata. Plain C strings only (no option knowledge), so
 * traces/ may use it too.
 *
 * Grammar: items are separated by any run of spaces, tabs, newlines or
 * commas (empty items are skipped); an item is key=value with a non-empty key
 * and no separator in the key; the value may be empty, or double-quoted to
 * hold separators ("name=\"a b, c\"", the quotes are dropped; no escapes
 * inside). */
#ifndef INFERTOP_KVLIST_H
#define INFERTOP_KVLIST_H

#include <stddef.h>

#define KVLIST_ITEM_MAX 256      /* longest key=value item, quotes included */

/* Called for each item in order. Return 0 to go on, -1 to stop (with err set). */
typedef int (*kvlist_fn)(void *ctx, const char *key, const char *value, char *err, size_t errlen);

/* Split `text` and call fn(ctx, key, value) per item.
 * Returns the number of items, or -1 with err set: "ITEM: expected key=value",
 * an unterminated quote, an item over KVLIST_ITEM_MAX characters, or fn's own
 * error. */
int kvlist_each(const char *text, kvlist_fn fn, void *ctx, char *err, size_t errlen);

/* Append "key=value" to buf[n] holding `used` characters, with a space before
 * it unless buf is empty; a value holding a separator is double-quoted.
 * Returns the new length (what it would be: >= n means truncated, buf stays
 * NUL-terminated). */
size_t kvlist_append(char *buf, size_t n, size_t used, const char *key, const char *value);

/* err = "KEY: expected WHAT, got 'GOT'" (WHAT from fmt/...); got NULL leaves
 * the ", got" part out. The one shape of every option and list error. */
void expect_error(char *err, size_t errlen, const char *key, const char *got, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
