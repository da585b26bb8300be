#include "urls.h"

#include "error.h"

#include <stdio.h>
#include <string.h>

static bool urls_keeps(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '@';
}

int urls_encode_segment(const char *text, size_t len, char *out, size_t out_len, size_t *pos) {
    static const char hex[] = "0123456789ABCDEF";
    size_t p = *pos;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (urls_keeps(c)) {
            if (p + 1 >= out_len)
                return BI_EINVAL;
            out[p++] = (char)c;
        } else {
            if (p + 3 >= out_len)
                return BI_EINVAL;
            out[p++] = '%';
            out[p++] = hex[c >> 4];
            out[p++] = hex[c & 15];
        }
    }
    out[p] = '\0';
    *pos = p;
    return 0;
}

/* Appends a literal (no encoding). */
static int urls_append(const char *text, char *out, size_t out_len, size_t *pos) {
    size_t len = strlen(text);
    if (*pos + len >= out_len)
        return BI_EINVAL;
    memcpy(out + *pos, text, len + 1);
    *pos += len;
    return 0;
}

/* Appends "<encoded segment>/". */
static int urls_append_segment(const char *text, char *out, size_t out_len, size_t *pos) {
    int err = urls_encode_segment(text, strlen(text), out, out_len, pos);
    return err < 0 ? err : urls_append("/", out, out_len, pos);
}

bool urls_concept_id_is_valid(const char *text, size_t len) {
    if (len == 0 || len > URLS_CONCEPT_ID_MAX)
        return false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        /* Well-formed UTF-8: lead byte, then its continuation bytes; no overlongs, no
         * surrogates, nothing past U+10FFFF; C1 controls (U+0080-U+009F) refused too. */
        size_t n = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c & 0xf0) == 0xe0 ? 3
                                 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        if (n == 0 || i + n > len)
            return false;
        for (size_t k = 1; k < n; k++)
            if (((unsigned char)text[i + k] & 0xc0) != 0x80)
                return false;
        unsigned char c1 = n > 1 ? (unsigned char)text[i + 1] : 0;
        if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
            (c == 0xf4 && c1 >= 0x90) || (c == 0xc2 && c1 < 0xa0))
            return false;
        i += n;
    }
    return true;
}

bool urls_version_id_is_valid(const char *name, size_t len) {
    static const char *const reserved[] = {"HEAD",       "concepts", "mappings", "versions",
                                           "references", "members",  "sources",  "collections"};
    if (!ids_name_is_valid(name, len))
        return false;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == len && memcmp(reserved[i], name, len) == 0)
            return false;
    return true;
}

int urls_hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Splits the next segment off *cursor into out (decoded, NUL-terminated). Returns the decoded
 * length, or -1 on bad encoding, NUL, overflow or no segment left. */
static long urls_next_segment(const char **cursor, char *out, size_t out_len) {
    const char *p = *cursor;
    if (*p == '\0')
        return -1;
    size_t n = 0;
    for (; *p != '\0' && *p != '/'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = urls_hex_digit(p[1]), lo = hi < 0 ? -1 : urls_hex_digit(p[2]);
            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            p += 2;
        }
        if (c == 0 || n + 1 >= out_len)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    if (n == 0)
        return -1;
    *cursor = *p == '/' ? p + 1 : p;
    return (long)n;
}

static bool urls_is(const char *segment, const char *word) { return strcmp(segment, word) == 0; }

int urls_parse(const char *url, urls_ref *out) {
    urls_ref ref;
    memset(&ref, 0, sizeof ref);
    char seg[URLS_CONCEPT_ID_MAX + 1];
    const char *cursor = url;
    if (*cursor++ != '/')
        return BI_EBADURL;

    long n = urls_next_segment(&cursor, seg, sizeof seg);
    if (n < 0 || !(urls_is(seg, "orgs") || urls_is(seg, "users")))
        return BI_EBADURL;
    ref.owner_type = urls_is(seg, "orgs") ? URLS_ORG : URLS_USER;
    n = urls_next_segment(&cursor, ref.owner, sizeof ref.owner);
    if (n < 0 || !ids_name_is_valid(ref.owner, (size_t)n))
        return BI_EBADURL;
    ref.kind = URLS_OWNER;
    if (*cursor == '\0')
        goto done;

    n = urls_next_segment(&cursor, seg, sizeof seg);
    if (n < 0 || !(urls_is(seg, "sources") || urls_is(seg, "collections")))
        return BI_EBADURL;
    ref.repo_type = urls_is(seg, "sources") ? URLS_SOURCE : URLS_COLLECTION;
    n = urls_next_segment(&cursor, ref.repo, sizeof ref.repo);
    if (n < 0 || !ids_name_is_valid(ref.repo, (size_t)n))
        return BI_EBADURL;
    ref.kind = URLS_REPO;
    if (*cursor == '\0')
        goto done;

    n = urls_next_segment(&cursor, seg, sizeof seg);
    if (n < 0)
        return BI_EBADURL;
    if (urls_is(seg, "concepts") || urls_is(seg, "mappings")) {
        ref.kind = urls_is(seg, "concepts") ? URLS_CONCEPT : URLS_MAPPING;
        n = urls_next_segment(&cursor, ref.id, sizeof ref.id);
        if (n < 0 || !urls_concept_id_is_valid(ref.id, (size_t)n))
            return BI_EBADURL;
        if (*cursor != '\0') {
            n = urls_next_segment(&cursor, ref.version, sizeof ref.version);
            if (n < 0 || !ids_name_is_valid(ref.version, (size_t)n))
                return BI_EBADURL;
        }
    } else if (urls_is(seg, "HEAD")) {
        ref.kind = URLS_REPO;
    } else {
        if (!urls_version_id_is_valid(seg, (size_t)n))
            return BI_EBADURL;
        ref.kind = URLS_REPO_VERSION;
        memcpy(ref.repo_version, seg, (size_t)n + 1);
    }
    if (*cursor != '\0')
        return BI_EBADURL;
done:
    *out = ref;
    return 0;
}

int urls_format_owner(const urls_ref *ref, char *out, size_t out_len) {
    if (ref->owner_type == URLS_NO_OWNER || ref->owner[0] == '\0')
        return BI_EINVAL;
    size_t pos = 0;
    out[0] = '\0';
    int err = urls_append(ref->owner_type == URLS_ORG ? "/orgs/" : "/users/", out, out_len, &pos);
    return err < 0 ? err : urls_append_segment(ref->owner, out, out_len, &pos);
}

int urls_format_repo(const urls_ref *ref, char *out, size_t out_len) {
    if (ref->repo_type == URLS_NO_REPO || ref->repo[0] == '\0')
        return BI_EINVAL;
    int err = urls_format_owner(ref, out, out_len);
    if (err < 0)
        return err;
    size_t pos = strlen(out);
    err = urls_append(ref->repo_type == URLS_SOURCE ? "sources/" : "collections/", out, out_len,
                      &pos);
    return err < 0 ? err : urls_append_segment(ref->repo, out, out_len, &pos);
}

int urls_format(const urls_ref *ref, char *out, size_t out_len) {
    if (ref->kind == URLS_OWNER)
        return urls_format_owner(ref, out, out_len);
    int err = urls_format_repo(ref, out, out_len);
    if (err < 0 || ref->kind == URLS_REPO)
        return err;
    size_t pos = strlen(out);
    if (ref->kind == URLS_REPO_VERSION)
        return ref->repo_version[0] ? urls_append_segment(ref->repo_version, out, out_len, &pos)
                                    : BI_EINVAL;
    if (ref->id[0] == '\0')
        return BI_EINVAL;
    err = urls_append(ref->kind == URLS_CONCEPT ? "concepts/" : "mappings/", out, out_len, &pos);
    if (err == 0)
        err = urls_append_segment(ref->id, out, out_len, &pos);
    if (err == 0 && ref->version[0] != '\0')
        err = urls_append_segment(ref->version, out, out_len, &pos);
    return err;
}
