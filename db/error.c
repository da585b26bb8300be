#include "error.h"

#include <stddef.h>

struct error_entry {
    int value;
    int status;
    const char *code;
    const char *message;
};

static const struct error_entry error_table[] = {
#define BI_ERRNO_ROW(name, value, status, code, message) {value, status, code, message},
    BI_ERRNO_MAP(BI_ERRNO_ROW)
#undef BI_ERRNO_ROW
};

static const struct error_entry *error_find(int err) {
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].value == err)
            return &error_table[i];
    return error_find(BI_EINTERNAL);
}

const char *error_code(int err) { return error_find(err)->code; }

const char *error_message(int err) { return error_find(err)->message; }

int error_http_status(int err) { return error_find(err)->status; }
