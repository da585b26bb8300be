/* error.h — the one error table of bulkimport.
 *
 * Every fallible function returns 0 on success or a negative BI_E* code. The table below gives
 * each code its stable machine name (sent to clients as "code"), its HTTP status and a default
 * human message, so the enum, the messages and the status mapping cannot drift apart. It lives
 * in db/, the lowest layer, so that every folder can use it; it holds no database code.
 */
#ifndef BI_ERROR_H
#define BI_ERROR_H

/* X(name, value, http_status, code, default_message) */
#define BI_ERRNO_MAP(X)                                                                            \
    X(EINVAL, -1, 400, "bad_request", "the request is malformed")                                   \
    X(EAUTH, -2, 401, "unauthorized", "missing or invalid API token")                               \
    X(EPERM, -3, 403, "forbidden", "you are not allowed to do this")                                \
    X(ENOTFOUND, -4, 404, "not_found", "no such resource")                                          \
    X(EMETHOD, -5, 405, "method_not_allowed", "this method is not allowed on this resource")        \
    X(ECONFLICT, -6, 409, "conflict", "the resource already exists")                                \
    X(ETOOBIG, -7, 413, "payload_too_large", "the request body is too large")                       \
    X(EUNAVAIL, -8, 503, "unavailable", "the database is unavailable; retry later")                 \
    X(EINTERNAL, -9, 500, "internal_error", "internal server error")                                \
    X(EIO, -10, 500, "io_error", "a local file operation failed")                                   \
    X(EBUSY, -11, 409, "busy", "the resource is in use by another process")                         \
    X(EREPEATED, -12, 409, "repeated", "this Idempotency-Key already made a task")                  \
    X(EFETCH, -13, 502, "fetch_failed", "the feed's URL could not be fetched")                    \
    X(ETOOMANY, -14, 429, "too_many_requests", "too many uploads at once; retry later")            \
    X(ESLOW, -15, 408, "request_timeout", "the upload came too slowly")                            \
    /* Rules of one import line or resource (importer/rules.h); the message names the field. */ \
    X(EJSON, -20, 400, "invalid_json", "the line is not valid JSON")                                \
    X(ENOTOBJECT, -21, 400, "not_an_object", "the line is not a JSON object")                       \
    X(ETYPE, -22, 400, "unknown_type", "the line has no known type")                                \
    X(EACTION, -23, 400, "unknown_action", "the line has an unknown __action")                      \
    X(EMISSING, -24, 400, "missing_field", "a required field is missing")                           \
    X(EFIELDTYPE, -25, 400, "wrong_field_type", "a field has the wrong JSON type")                  \
    X(EBADID, -26, 400, "invalid_id", "an id has invalid syntax")                                   \
    X(EBADVALUE, -27, 400, "invalid_value", "a field has a value outside its allowed set")          \
    X(EBADURL, -28, 400, "invalid_url", "a URL does not name a resource of the expected kind")      \
    X(ETOODEEP, -29, 400, "too_deep", "the JSON is nested too deeply")                            \
    X(EUNRESOLVED, -30, 400, "unresolved_reference", "no expression of the reference resolved")   \
    /* Problems of one line found while the upload streamed (importer/split.h). */                \
    X(EUTF8, -31, 400, "invalid_utf8", "the line is not valid UTF-8")                               \
    X(ENUL, -32, 400, "nul_byte", "the line holds a NUL byte")                                      \
    X(ELINELONG, -33, 400, "line_too_long", "the line is longer than the server accepts")          \
    /* A line whose value the database refused in a set-wise statement (importer/worker.c). */     \
    X(EREFUSED, -34, 400, "refused_by_database", "the database refused a value of the line")   \
    /* A CSV row OCL's converter refuses (importer/csvconv.h): the line says why. */              \
    X(ECSVROW, -35, 400, "invalid_csv_row", "the CSV row cannot be converted")

enum bi_errno {
#define BI_ERRNO_ENUM(name, value, status, code, message) BI_##name = (value),
    BI_ERRNO_MAP(BI_ERRNO_ENUM)
#undef BI_ERRNO_ENUM
};

/* Returns the stable machine name of err ("not_found"), or "internal_error" for a value that is
 * not in the table. The string is static. */
const char *error_code(int err);

/* Returns the default human message of err; static string; unknown values give the message of
 * BI_EINTERNAL. */
const char *error_message(int err);

/* Returns the HTTP status for err (400…503); unknown values give 500. */
int error_http_status(int err);

#endif
