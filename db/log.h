/* log.h — one line per event on stderr, as text or as JSON (--log-format).
 *
 *   text: "<ISO-8601 UTC time> <level> <message>[ key=value ...]"
 *   json: {"ts":"…","level":"info","msg":"…","node":"host:pid","request_id":"…","user":"…",
 *          "task":"…", <event fields>}
 * request_id, user and task come from the thread's context (log_context_set): the HTTP handler
 * sets the request's, a worker the task's, so every line a request or task causes carries them.
 *
 * Thread-safe: each line is written with a single write(2), so lines from different threads never
 * interleave. Lives in db/, the lowest layer, so that every folder can log. It does not rotate or
 * buffer: stderr is the process supervisor's business.
 */
#ifndef BI_LOG_H
#define BI_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { BI_LOG_DEBUG, BI_LOG_INFO, BI_LOG_WARN, BI_LOG_ERROR };

/* Messages below level are dropped. The default is BI_LOG_INFO. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error" into *out_level. Returns 0, or BI_EINVAL (nothing
 * written) for any other text. */
int log_level_parse(const char *text, enum log_level *out_level);

/* Lines as JSON objects (true) or text (false, the default). */
void log_set_json(bool json);

/* The node every JSON line names (copied; "host:pid"). */
void log_set_node(const char *node);

/* Sets the calling thread's context (each copied; NULL clears that part); log_context_clear
 * clears all of it. */
void log_context_set(const char *request_id, const char *user, const char *task);
void log_context_clear(void);

/* Formats and writes one line; a trailing newline in fmt is not needed. Messages longer than
 * 4 KiB are truncated. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An event's field: a string (text, NULL: the field is left out) or, when text is NULL and
 * is_number, a number. */
typedef struct log_field {
    const char *key, *text;
    bool is_number;
    double number;
} log_field;

#define LOG_TEXT(k, v) ((log_field){.key = (k), .text = (v)})
#define LOG_NUMBER(k, v) ((log_field){.key = (k), .is_number = true, .number = (double)(v)})

/* Writes one line of msg with n fields (JSON members, or key=value pairs in text). */
void log_event(enum log_level level, const char *msg, const log_field *fields, size_t n);

#define log_debug(...) log_msg(BI_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(BI_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(BI_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(BI_LOG_ERROR, __VA_ARGS__)

#endif
