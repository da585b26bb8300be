#include "ids.h"

#include "error.h"

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
