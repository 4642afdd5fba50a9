/* traces/utf8.h — strict UTF-8 for what infertop writes: every text that
 * goes into a JSON or NVTXT output passes through utf8_sanitized, and the
 * recording reader refuses strings that are not utf8_valid. (The tokenizer's
 * lenient decoder, core/model/unicode.h, accepts overlong forms; JSON parsers
 * do not, hence this separate strict check. A leaf: traces/ may not include
 * core/model.) */
#ifndef INFERTOP_TRACES_UTF8_H
#define INFERTOP_TRACES_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s[0..len) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the bytes
 * there do not start one. Requires len > 0. */
int utf8_valid_seq(const char *s, size_t len);

/* Is s[0..len) entirely well-formed UTF-8 (as JSON parsers require)? */
bool utf8_valid(const char *s, size_t len);

/* s as well-formed UTF-8, in a new NUL-terminated string (free it): each byte
 * that does not start a well-formed sequence becomes U+FFFD. NULL when out of
 * memory. Every string that goes into a JSON or NVTXT output passes here. */
char *utf8_sanitized(const char *s);

#endif
