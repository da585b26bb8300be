/* utf8.h — UTF-8 validity, as PostgreSQL's UTF8 encoding accepts it (no overlongs, no encoded
 * surrogates, nothing beyond U+10FFFF). Pure. */
#ifndef BI_IMPORTER_UTF8_H
#define BI_IMPORTER_UTF8_H

#include <stddef.h>

/* Returns the length (2-4) of the valid multi-byte sequence at s (s[0] >= 0x80, avail bytes
 * available), or 0 when it is invalid or truncated. */
size_t utf8_sequence_len(const unsigned char *s, size_t avail);

/* Returns the offset of the first invalid byte of text (len bytes), or len when it is all valid
 * UTF-8. */
size_t utf8_invalid_at(const char *text, size_t len);

#endif
