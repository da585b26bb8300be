#include "ids.h"

#include "error.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

bool ids_name_is_valid(const char *name, size_t len) {
    if (len == 0 || len > IDS_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool ids_queue_name_is_valid(const char *name) {
    return ids_name_is_valid(name, strlen(name)) && strcmp(name, "default") != 0 &&
           strcmp(name, "priority") != 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

void ids_hex(const unsigned char *bytes, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int ids_random_hex(size_t n_bytes, char *out) {
    unsigned char bytes[64];
    if (n_bytes > sizeof bytes || getrandom(bytes, n_bytes, 0) != (ssize_t)n_bytes)
        return BI_EINTERNAL;
    ids_hex(bytes, n_bytes, out);
    return 0;
}

int ids_task_id(const char *username, const char *queue, char *out, size_t cap) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return BI_EINTERNAL;
    ids_task_id_from(b, username, queue, out, cap);
    return 0;
}

void ids_task_id_from(const unsigned char bytes[16], const char *username, const char *queue,
                      char *out, size_t cap) {
    unsigned char b[16];
    memcpy(b, bytes, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    snprintf(out, cap,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x-%s~%s", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15], username, queue);
}
