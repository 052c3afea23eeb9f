/* utf8.h - UTF-8 checks for user names: strict decoding, controls, safe text. */
#ifndef AUTHRELAY_UTF8_H
#define AUTHRELAY_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode the code point at s[0..len). Returns the length of its sequence
 * (1..4) with *cp_r set, or 0 when s does not start with a well-formed
 * sequence (RFC 3629): a lone continuation byte, 0xC0/0xC1 or 0xF5..0xFF,
 * an overlong form, a surrogate (U+D800..U+DFFF), a code point beyond
 * U+10FFFF, or a sequence cut short by len. len 0 returns 0.
 */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp_r);

/* A control character: C0 (U+0000..U+001F), DEL, C1 (U+0080..U+009F). */
int utf8_is_control(uint32_t cp);

/*
 * Is s[0..len) well-formed UTF-8 without control characters? 1 or 0;
 * on 0, *why_r (static text) says what was found first.
 */
int utf8_text_ok(const char *s, size_t len, const char **why_r);

/*
 * A code point a terminal or a bidirectional renderer would act on
 * beyond drawing it: controls, and the Unicode bidi embedding, override
 * and isolate marks (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069)
 * that can make a displayed line read differently from its bytes.
 */
int utf8_is_unsafe_display(uint32_t cp);

#endif
