#include "log.h"

#include "error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_CONTEXT_MAX 256

static atomic_int log_threshold = BI_LOG_INFO;
static atomic_bool log_json;
static char log_node[128]; /* set once at start, before any thread logs */

static const char *const log_names[] = {"debug", "info", "warn", "error"};

/* The thread's request and task, named on each of its lines. */
static _Thread_local char ctx_request[LOG_CONTEXT_MAX], ctx_user[LOG_CONTEXT_MAX],
    ctx_task[LOG_CONTEXT_MAX];

void log_set_level(enum log_level level) { atomic_store(&log_threshold, (int)level); }

void log_set_json(bool json) { atomic_store(&log_json, json); }

void log_set_node(const char *node) { snprintf(log_node, sizeof log_node, "%s", node); }

int log_level_parse(const char *text, enum log_level *out_level) {
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, log_names[i]) == 0) {
            *out_level = (enum log_level)i;
            return 0;
        }
    }
    return BI_EINVAL;
}

void log_context_set(const char *request_id, const char *user, const char *task) {
    snprintf(ctx_request, sizeof ctx_request, "%s", request_id ? request_id : "");
    snprintf(ctx_user, sizeof ctx_user, "%s", user ? user : "");
    snprintf(ctx_task, sizeof ctx_task, "%s", task ? task : "");
}

void log_context_clear(void) { ctx_request[0] = ctx_user[0] = ctx_task[0] = '\0'; }

/* A line being built, never past its end (the newline always fits). */
typedef struct line {
    char text[LOG_LINE_MAX];
    size_t len;
} line;

static void line_put(line *l, const char *s, size_t n) {
    size_t room = sizeof l->text - 2 - l->len;
    n = n < room ? n : room;
    memcpy(l->text + l->len, s, n);
    l->len += n;
}

static void line_puts(line *l, const char *s) { line_put(l, s, strlen(s)); }

/* Appends s as the inside of a JSON string. */
static void line_json(line *l, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p;
            line_put(l, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            line_puts(l, esc);
        } else {
            line_put(l, (const char *)p, 1);
        }
    }
}

static void line_member(line *l, const char *key, const char *value) {
    line_puts(l, ",\"");
    line_puts(l, key);
    line_puts(l, "\":\"");
    line_json(l, value);
    line_puts(l, "\"");
}

static void line_time(line *l) {
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    char ts[64];
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%06ldZ", now.tv_nsec / 1000);
    line_puts(l, ts);
}

/* Writes level, msg and fields as one line in the chosen format. */
static void log_write(enum log_level level, const char *msg, const log_field *fields, size_t n) {
    line *l = &(line){.len = 0};
    bool json = atomic_load(&log_json);
    char number[64];
    if (json) {
        line_puts(l, "{\"ts\":\"");
        line_time(l);
        line_puts(l, "\"");
        line_member(l, "level", log_names[level]);
        line_member(l, "msg", msg);
        if (log_node[0])
            line_member(l, "node", log_node);
        const char *context[][2] = {{"request_id", ctx_request}, {"user", ctx_user}, {"task", ctx_task}};
        for (size_t i = 0; i < 3; i++) {
            bool given = false; /* an event's own field of that name wins */
            for (size_t f = 0; f < n && !given; f++)
                given = strcmp(fields[f].key, context[i][0]) == 0;
            if (!given && context[i][1][0])
                line_member(l, context[i][0], context[i][1]);
        }
        for (size_t f = 0; f < n; f++) {
            if (fields[f].text != NULL) {
                line_member(l, fields[f].key, fields[f].text);
            } else if (fields[f].is_number) {
                snprintf(number, sizeof number, ",\"%s\":%.15g", fields[f].key, fields[f].number);
                line_puts(l, number);
            }
        }
        line_puts(l, "}");
    } else {
        line_time(l);
        line_puts(l, " ");
        line_puts(l, log_names[level]);
        line_puts(l, " ");
        line_puts(l, msg);
        for (size_t f = 0; f < n; f++) {
            if (fields[f].text == NULL && !fields[f].is_number)
                continue;
            line_puts(l, " ");
            line_puts(l, fields[f].key);
            line_puts(l, "=");
            if (fields[f].text != NULL) {
                line_puts(l, fields[f].text[0] ? fields[f].text : "-");
            } else {
                snprintf(number, sizeof number, "%.15g", fields[f].number);
                line_puts(l, number);
            }
        }
    }
    l->text[l->len++] = '\n';
    /* One write per line keeps concurrent lines whole; a failed log write has nowhere to go. */
    ssize_t ignored = write(STDERR_FILENO, l->text, l->len);
    (void)ignored;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if ((int)level < atomic_load(&log_threshold))
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write(level, msg, NULL, 0);
}

void log_event(enum log_level level, const char *msg, const log_field *fields, size_t n) {
    if ((int)level < atomic_load(&log_threshold))
        return;
    log_write(level, msg, fields, n);
}
