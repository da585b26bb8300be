/* log.h — one line per event on stderr: "<ISO-8601 UTC time> <level> <message>".
 *
 * Thread-safe: each line is written with a single write(2), so lines from different threads never
 * interleave. Lives in db/, the lowest layer, so that every folder can log. It does not rotate or
 * buffer: stderr is the process supervisor's business.
 */
#ifndef BI_LOG_H
#define BI_LOG_H

enum log_level { BI_LOG_DEBUG, BI_LOG_INFO, BI_LOG_WARN, BI_LOG_ERROR };

/* Messages below level are dropped. The default is BI_LOG_INFO. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error" into *out_level. Returns 0, or BI_EINVAL (nothing
 * written) for any other text. */
int log_level_parse(const char *text, enum log_level *out_level);

/* Formats and writes one line; a trailing newline in fmt is not needed. Messages longer than
 * 4 KiB are truncated. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(BI_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(BI_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(BI_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(BI_LOG_ERROR, __VA_ARGS__)

#endif
