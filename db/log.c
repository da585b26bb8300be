#include "log.h"

#include "error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_threshold = BI_LOG_INFO;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { atomic_store(&log_threshold, (int)level); }

int log_level_parse(const char *text, enum log_level *out_level) {
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, log_names[i]) == 0) {
            *out_level = (enum log_level)i;
            return 0;
        }
    }
    return BI_EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if ((int)level < atomic_load(&log_threshold))
        return;
    char line[4096 + 64];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(line + len, sizeof line - len, ".%06ldZ %s ", now.tv_nsec / 1000,
                            log_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + len, sizeof line - len - 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += (size_t)n < sizeof line - len - 1 ? (size_t)n : sizeof line - len - 2;
    line[len++] = '\n';
    /* One write per line keeps concurrent lines whole; a failed log write has nowhere to go. */
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}
