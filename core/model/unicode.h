/* core/model/unicode.h — the small slice of Unicode the tokenizer needs: a lenient
 * UTF-8 decoder/encoder and codepoint classes (letter, number, whitespace).
 *
 * The letter/number tables are generated (core/model/unicode_data.c, by
 * tools/gen_unicode_data.py) from the same UCD version as llama.cpp's, so the
 * pre-tokenizer splits text exactly as the reference does. */
#ifndef INFERTOP_UNICODE_H
#define INFERTOP_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNICODE_REPLACEMENT 0xFFFDu

/* Decode one codepoint from s[*pos..len) and advance *pos. A malformed
 * sequence (stray continuation byte, truncated sequence, bad lead byte)
 * consumes ONE byte and yields U+FFFD, as llama.cpp does; overlong forms are
 * accepted. Values above U+10FFFF also yield U+FFFD. Requires *pos < len. */
uint32_t utf8_decode(const char *s, size_t len, size_t *pos);

/* Encode cp (<= U+10FFFF) into out (room for 4 bytes); returns byte count. */
int utf8_encode(uint32_t cp, char out[4]);

/* Bytes in the UTF-8 sequence announced by lead byte c (1 for continuation or
 * invalid bytes, as SentencePiece-style splitting treats them). */
int utf8_seq_len(unsigned char c);

bool unicode_is_letter(uint32_t cp);      /* general category L* */
bool unicode_is_number(uint32_t cp);      /* general category N* */
bool unicode_is_whitespace(uint32_t cp);  /* the White_Space property */

/* generated tables (core/model/unicode_data.c) */
extern const uint32_t unicode_letter_ranges[][2];
extern const size_t unicode_letter_ranges_count;
extern const uint32_t unicode_number_ranges[][2];
extern const size_t unicode_number_ranges_count;
extern const char unicode_data_version[];

#endif
