/* route.c — see route.h. */
#include "route.h"

#include "urls.h"

#include <string.h>

/* Percent-decodes seg (len bytes) into out. Returns false on bad encoding, NUL or overflow. */
static bool route_decode_segment(const char *seg, size_t len, char out[HTTP_PARAM_MAX]) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)seg[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int h = urls_hex_digit(seg[i + 1]), l = urls_hex_digit(seg[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || n + 1 >= HTTP_PARAM_MAX)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

/* Length of path without one trailing slash (the root "/" keeps it). */
static size_t route_trimmed_len(const char *path) {
    size_t len = strlen(path);
    return len > 1 && path[len - 1] == '/' ? len - 1 : len;
}

/* Returns true when segment is one of the alternatives "(a|b|c)" (alts_len bytes). */
static bool route_segment_is_one_of(const char *segment, const char *alts, size_t alts_len) {
    size_t seg_len = strlen(segment);
    for (size_t a = 1; a < alts_len;) {
        size_t end = a;
        while (end < alts_len && alts[end] != '|' && alts[end] != ')')
            end++;
        if (end - a == seg_len && memcmp(alts + a, segment, seg_len) == 0)
            return true;
        a = end + 1;
    }
    return false;
}

bool http_route_match(const char *pattern, const char *path,
                      char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX], int *out_n_params) {
    size_t pat_len = route_trimmed_len(pattern), path_len = route_trimmed_len(path);
    size_t p = 0, q = 0;
    int n = 0;
    while (p < pat_len && q < path_len) {
        if (pattern[p] == ':') {
            size_t seg_end = q;
            while (seg_end < path_len && path[seg_end] != '/')
                seg_end++;
            if (seg_end == q || n == HTTP_MAX_PARAMS ||
                !route_decode_segment(path + q, seg_end - q, params[n]))
                return false;
            size_t name_end = p;
            while (name_end < pat_len && pattern[name_end] != '/' && pattern[name_end] != '(')
                name_end++;
            p = name_end;
            while (p < pat_len && pattern[p] != '/')
                p++;
            if (name_end < p && !route_segment_is_one_of(params[n], pattern + name_end, p - name_end))
                return false;
            n++;
            q = seg_end;
        } else if (pattern[p] == path[q]) {
            p++;
            q++;
        } else {
            return false;
        }
    }
    if (p != pat_len || q != path_len)
        return false;
    *out_n_params = n;
    return true;
}
