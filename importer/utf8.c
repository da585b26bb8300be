#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t utf8_sequence_len(const unsigned char *s, size_t avail) {
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > avail)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return len;
}

size_t utf8_invalid_at(const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        /* Most of a line is ASCII: skip it eight bytes at a time. */
        uint64_t word;
        while (i + sizeof word <= len &&
               (memcpy(&word, s + i, sizeof word), (word & 0x8080808080808080u) == 0))
            i += sizeof word;
        if (i == len)
            break;
        if (s[i] < 0x80)
            continue;
        size_t n = utf8_sequence_len(s + i, len - i);
        if (n == 0)
            return i;
        i += n - 1;
    }
    return len;
}
