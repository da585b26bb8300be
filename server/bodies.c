#include "bodies.h"

#include "error.h"
#include "urls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_BOUNDARY_MAX 70 /* RFC 2046 */
#define BODY_HEADERS_MAX 8192
#define BODY_OUT 16384
#define BODY_SNIFF_MAX (64 * 1024) /* an envelope's members before its data, or a form's key */

enum part_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_URL, MP_FIELD, MP_SKIP,
                  MP_DONE };
enum part_field { FIELD_OTHER, FIELD_FILE, FIELD_FILE_URL };
enum form_state { FORM_KEY, FORM_VALUE, FORM_URL, FORM_FIELD };
enum env_state { ENV_START, ENV_KEY_OR_END, ENV_KEY, ENV_COLON, ENV_VALUE, ENV_STRING, ENV_DATA,
                 ENV_SCALAR, ENV_AFTER, ENV_END };

struct body_reader {
    enum body_kind kind;
    body_emit emit;
    void *ctx;
    const char *error;
    /* Output batching */
    char out[BODY_OUT];
    size_t out_len;
    /* Multipart: the delimiter "\r\n--boundary" and its KMP failure table */
    char delim[BODY_BOUNDARY_MAX + 5];
    size_t delim_len, fail[BODY_BOUNDARY_MAX + 5], matched;
    enum part_state state;
    char headers[BODY_HEADERS_MAX];
    size_t headers_len;
    bool found; /* the wanted field has been read */
    char file_name[BODY_FILE_NAME_MAX + 1]; /* its filename= parameter, "" when none */
    char file_url[BODY_FILE_URL_MAX + 1];
    size_t file_url_len;
    bool has_file_url;
    /* Small fields */
    const char *const *known;
    body_field *fields; /* BODY_FIELDS_MAX */
    size_t n_fields, value_len;
    bool in_field; /* bytes go to fields[n_fields - 1] */
    /* Form */
    enum form_state form;
    char key[BODY_FIELD_NAME_MAX];
    size_t key_len;
    int pct;      /* bytes of a %XX escape seen, 0 when none */
    char pct_hex[2];
    /* Sniffing a form or an envelope: the bytes so far, passed on raw if it is neither */
    bool sniffing;
    char *sniff;
    size_t sniff_len;
    /* Envelope */
    enum env_state env;
    bool committed; /* it is an envelope: no way back to raw */
    bool key_overflow;
    int esc;           /* a JSON string's escape: 0 none, 1 after '\\', 2..5 the \u digits */
    unsigned code;     /* the \u digits so far */
    unsigned high;     /* a high surrogate waiting for its low half, or 0 */
    bool data_began;   /* the file's first byte went out */
};

static bool body_is_known(const body_reader *r, const char *name) {
    if (strcmp(name, "data") == 0 || strcmp(name, "file_url") == 0)
        return true;
    for (const char *const *k = r->known; k != NULL && *k != NULL; k++)
        if (strcmp(*k, name) == 0)
            return true;
    return false;
}

/* Starts a small field named name (bytes then go to it). */
static int body_field_begin(body_reader *r, const char *name, bool after_file) {
    if (r->n_fields == BODY_FIELDS_MAX) {
        r->error = "the body has more than 32 fields";
        return BI_EINVAL;
    }
    body_field *f = &r->fields[r->n_fields++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value[0] = '\0';
    f->after_file = after_file;
    r->value_len = 0;
    r->in_field = true;
    return 0;
}

static int body_field_byte(body_reader *r, char c) {
    if (r->value_len + 1 >= BODY_FIELD_VALUE_MAX) {
        r->error = "a field of the body is longer than 1023 bytes";
        return BI_EINVAL;
    }
    body_field *f = &r->fields[r->n_fields - 1];
    f->value[r->value_len++] = c;
    f->value[r->value_len] = '\0';
    return 0;
}

static int body_url_byte(body_reader *r, char c) {
    if (r->file_url_len + 1 > BODY_FILE_URL_MAX) {
        r->error = "the field 'file_url' is longer than 2048 bytes";
        return BI_EINVAL;
    }
    r->file_url[r->file_url_len++] = c;
    r->file_url[r->file_url_len] = '\0';
    return 0;
}

static int body_flush(body_reader *r) {
    int rc = r->out_len > 0 ? r->emit(r->out, r->out_len, r->ctx) : 0;
    r->out_len = 0;
    return rc;
}

static int body_out(body_reader *r, const char *data, size_t len) {
    r->data_began |= len > 0;
    for (size_t i = 0; i < len; i++) {
        if (r->out_len == BODY_OUT) {
            int rc = body_flush(r);
            if (rc < 0)
                return rc;
        }
        r->out[r->out_len++] = data[i];
    }
    return 0;
}

/* The boundary parameter of a multipart content type, quoted or not, into out. */
static bool body_boundary(const char *content_type, char *out, size_t out_size) {
    const char *p = strcasestr(content_type, "boundary=");
    if (p == NULL)
        return false;
    p += 9;
    bool quoted = *p == '"';
    p += quoted;
    size_t n = 0;
    while (p[n] != '\0' && (quoted ? p[n] != '"' : p[n] != ';' && p[n] != ' '))
        n++;
    if (n == 0 || n >= out_size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

body_reader *body_reader_new(const char *content_type, const char *const *known, body_emit emit,
                             void *ctx, const char **why) {
    body_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->fields = calloc(BODY_FIELDS_MAX, sizeof *r->fields)) == NULL)
        abort();
    r->emit = emit;
    r->ctx = ctx;
    r->known = known;
    if (content_type != NULL && strncasecmp(content_type, "multipart/form-data", 19) == 0) {
        char boundary[BODY_BOUNDARY_MAX + 1];
        if (!body_boundary(content_type, boundary, sizeof boundary)) {
            *why = "multipart/form-data without a valid boundary";
            body_reader_free(r);
            return NULL;
        }
        r->kind = BODY_MULTIPART;
        r->delim_len = (size_t)snprintf(r->delim, sizeof r->delim, "\r\n--%s", boundary);
        for (size_t i = 1, k = 0; i < r->delim_len; i++) { /* KMP failure function */
            while (k > 0 && r->delim[i] != r->delim[k])
                k = r->fail[k - 1];
            if (r->delim[i] == r->delim[k])
                k++;
            r->fail[i] = k;
        }
        r->matched = 2; /* the body starts as if after a CRLF: the first delimiter has none */
    } else if (content_type != NULL &&
               strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0) {
        r->kind = BODY_FORM;
        r->sniffing = true;
    } else if (content_type != NULL && strncasecmp(content_type, "application/json", 16) == 0) {
        r->kind = BODY_ENVELOPE;
        r->sniffing = true;
    }
    if (r->sniffing && (r->sniff = malloc(BODY_SNIFF_MAX)) == NULL)
        abort();
    return r;
}

/* Which field the part's headers name: the file (field file or data), file_url, or another
 * (its name into name, BODY_FIELD_NAME_MAX bytes; "" when none or too long); the name=
 * parameter, not e.g. filename="data". */
static enum part_field body_part_field(const char *headers, char *name) {
    name[0] = '\0';
    for (const char *p = headers; (p = strcasestr(p, "name=")) != NULL; p += 5) {
        bool param = p > headers && (p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t');
        if (!param)
            continue;
        const char *v = p + 5;
        bool quoted = *v == '"';
        v += quoted;
        size_t name_len = strcspn(v, quoted ? "\"\r" : ";\r");
        if (name_len < BODY_FIELD_NAME_MAX)
            snprintf(name, BODY_FIELD_NAME_MAX, "%.*s", (int)name_len, v);
        static const struct {
            const char *name;
            enum part_field field;
        } names[] = {{"file", FIELD_FILE}, {"data", FIELD_FILE}, {"file_url", FIELD_FILE_URL}};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            size_t n = strlen(names[i].name);
            if (strncmp(v, names[i].name, n) == 0 &&
                (quoted ? v[n] == '"' : (v[n] == ';' || v[n] == '\r')))
                return names[i].field;
        }
        return FIELD_OTHER;
    }
    return FIELD_OTHER;
}

/* The filename= parameter of a part's headers into out (BODY_FILE_NAME_MAX + 1 bytes; ""
 * when none or too long). */
static void body_part_file_name(const char *headers, char *out) {
    out[0] = '\0';
    for (const char *p = headers; (p = strcasestr(p, "filename=")) != NULL; p += 9) {
        if (p == headers || (p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t'))
            continue;
        const char *v = p + 9;
        bool quoted = *v == '"';
        v += quoted;
        size_t len = strcspn(v, quoted ? "\"\r" : "; \t\r");
        if (len <= BODY_FILE_NAME_MAX)
            snprintf(out, BODY_FILE_NAME_MAX + 1, "%.*s", (int)len, v);
        return;
    }
}

/* Content bytes of the current part: kept in the wanted field and file_url, dropped elsewhere. */
static int body_part_bytes(body_reader *r, const char *data, size_t len) {
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0 && (r->state == MP_URL || r->state == MP_FIELD); i++)
        rc = r->state == MP_URL ? body_url_byte(r, data[i]) : body_field_byte(r, data[i]);
    if (rc < 0 || r->state == MP_URL || r->state == MP_FIELD)
        return rc;
    return r->state == MP_BODY ? body_out(r, data, len) : 0;
}

/* Chooses how to read the part whose headers just ended. */
static enum part_state body_part_state(body_reader *r) {
    char name[BODY_FIELD_NAME_MAX];
    enum part_field field = body_part_field(r->headers, name);
    if ((field == FIELD_FILE && r->found) || (field == FIELD_FILE_URL && r->has_file_url)) {
        r->error = "the multipart body gives the file (or file_url) twice";
        return MP_SKIP; /* the feed turns the error into its answer */
    }
    if (field == FIELD_FILE) {
        r->found = true;
        body_part_file_name(r->headers, r->file_name);
        return MP_BODY;
    }
    if (field == FIELD_FILE_URL) {
        r->has_file_url = true;
        return MP_URL;
    }
    if (field == FIELD_OTHER && name[0] && body_field_begin(r, name, r->data_began) == 0)
        return MP_FIELD;
    return MP_SKIP;
}

static int body_multipart_byte(body_reader *r, char c) {
    switch (r->state) {
    case MP_DONE:
        return 0;
    case MP_AFTER_DELIM: /* "--" ends the body, CRLF starts a part; padding is skipped */
        r->headers[r->headers_len++] = c;
        if (r->headers_len == 2) {
            if (memcmp(r->headers, "--", 2) == 0) {
                r->state = MP_DONE;
            } else if (memcmp(r->headers, "\r\n", 2) == 0) {
                r->state = MP_HEADERS;
            } else if (r->headers[0] == ' ' || r->headers[0] == '\t') {
                r->headers[0] = r->headers[1];
                r->headers_len = 1;
                return 0;
            } else {
                r->error = "malformed multipart body";
                return BI_EINVAL;
            }
            r->headers_len = 0;
        }
        return 0;
    case MP_HEADERS:
        if (r->headers_len + 1 >= BODY_HEADERS_MAX) {
            r->error = "multipart part headers are too long";
            return BI_EINVAL;
        }
        r->headers[r->headers_len++] = c;
        if (r->headers_len >= 4 && memcmp(r->headers + r->headers_len - 4, "\r\n\r\n", 4) == 0) {
            r->headers[r->headers_len] = '\0';
            r->state = body_part_state(r);
            r->headers_len = 0;
        }
        return 0;
    default: { /* preamble, or a part's content: look for the delimiter */
        int rc = 0;
        while (r->matched > 0 && c != r->delim[r->matched]) {
            size_t k = r->fail[r->matched - 1];
            rc = body_part_bytes(r, r->delim, r->matched - k);
            r->matched = k;
            if (rc < 0)
                return rc;
        }
        if (c == r->delim[r->matched])
            r->matched++;
        else
            rc = body_part_bytes(r, &c, 1);
        if (r->matched == r->delim_len) {
            r->matched = 0;
            r->state = MP_AFTER_DELIM;
            r->headers_len = 0;
        }
        return rc;
    }
    }
}

#define BODY_GO_RAW 1 /* a sniffed body turned out to be neither a form nor an envelope */

/* One decoded byte of a form value, to where its key sends it. */
static int body_form_value(body_reader *r, char c) {
    switch (r->form) {
    case FORM_VALUE:
        return body_out(r, &c, 1);
    case FORM_URL:
        return body_url_byte(r, c);
    case FORM_FIELD:
        return body_field_byte(r, c);
    default:
        return 0;
    }
}

static int body_form_byte(body_reader *r, char c) {
    if (c == '&' || (c == '=' && r->form == FORM_KEY)) {
        if (r->pct > 0) {
            r->error = "bad %-escape in a form field";
            return BI_EINVAL;
        }
        if (r->form != FORM_KEY) { /* a value ends */
            r->form = FORM_KEY;
            r->key_len = 0;
            return 0;
        }
        r->key[r->key_len] = '\0';
        if (r->sniffing) { /* the first key decides what the body is */
            if (c != '=' || !body_is_known(r, r->key))
                return BODY_GO_RAW;
            r->sniffing = false;
        }
        if (c == '&') { /* a key without a value */
            r->key_len = 0;
            return 0;
        }
        if (strcmp(r->key, "data") == 0 && !r->found) {
            r->found = true;
            r->form = FORM_VALUE;
        } else if (strcmp(r->key, "file_url") == 0 && !r->has_file_url) {
            r->has_file_url = true;
            r->form = FORM_URL;
        } else {
            r->form = FORM_FIELD;
            return body_field_begin(r, r->key, r->data_began);
        }
        return 0;
    }
    if (r->form == FORM_KEY) {
        if (r->key_len + 1 >= sizeof r->key) {
            if (r->sniffing)
                return BODY_GO_RAW;
            r->error = "a form field's name is longer than 31 bytes";
            return BI_EINVAL;
        }
        r->key[r->key_len++] = c;
        return 0;
    }
    if (r->pct > 0) {
        r->pct_hex[r->pct++ - 1] = c;
        if (r->pct < 3)
            return 0;
        r->pct = 0;
        int h = urls_hex_digit(r->pct_hex[0]), l = urls_hex_digit(r->pct_hex[1]);
        if (h < 0 || l < 0) {
            r->error = "bad %-escape in a form field";
            return BI_EINVAL;
        }
        return body_form_value(r, (char)(h * 16 + l));
    }
    if (c == '%') {
        r->pct = 1;
        return 0;
    }
    return body_form_value(r, c == '+' ? ' ' : c);
}

/* ---- the JSON envelope ---- */

static int body_env_fail(body_reader *r, const char *why) {
    if (!r->committed)
        return BODY_GO_RAW;
    r->error = why;
    return BI_EINVAL;
}

/* Where a decoded string byte of the envelope goes: the file, file_url, or a field. */
static int body_env_put(body_reader *r, char c) {
    if (r->env == ENV_DATA)
        return body_out(r, &c, 1);
    return r->in_field ? body_field_byte(r, c) : body_url_byte(r, c);
}

/* Puts code point cp as UTF-8. */
static int body_env_put_code(body_reader *r, unsigned cp) {
    char u[4];
    int n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = body_env_put(r, u[i]);
    return rc;
}

#define BODY_STRING_ENDED 2 /* not BODY_GO_RAW: a failure while sniffing must stay a failure */

/* A byte inside a JSON string of the envelope: escapes undone as they stream. Returns
 * BODY_STRING_ENDED when the string ended, 0 to go on, BODY_GO_RAW, or an error. */
static int body_env_string_byte(body_reader *r, char c) {
    static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    if (r->esc >= 2) { /* the \u digits */
        int d = urls_hex_digit(c);
        if (d < 0)
            return body_env_fail(r, "a bad \\u escape in the JSON envelope");
        r->code = r->code * 16 + (unsigned)d;
        if (++r->esc < 6)
            return 0;
        r->esc = 0;
        unsigned cp = r->code;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (r->high)
                return body_env_fail(r, "an unpaired surrogate in the JSON envelope");
            r->high = cp;
            return 0;
        }
        if (r->high && !(cp >= 0xDC00 && cp <= 0xDFFF))
            return body_env_fail(r, "an unpaired surrogate in the JSON envelope");
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            if (!r->high)
                return body_env_fail(r, "an unpaired surrogate in the JSON envelope");
            cp = 0x10000 + ((r->high - 0xD800) << 10) + (cp - 0xDC00);
            r->high = 0;
        }
        return body_env_put_code(r, cp);
    }
    if (r->high && !(r->esc == 0 && c == '\\') && !(r->esc == 1 && c == 'u'))
        return body_env_fail(r, "an unpaired surrogate in the JSON envelope");
    if (r->esc == 1) {
        if (c == 'u') {
            r->esc = 2;
            r->code = 0;
            return 0;
        }
        r->esc = 0;
        for (size_t i = 0; escapes[i]; i += 2)
            if (escapes[i] == c)
                return body_env_put(r, escapes[i + 1]);
        return body_env_fail(r, "a bad escape in the JSON envelope");
    }
    if (c == '\\') {
        r->esc = 1;
        return 0;
    }
    if (c == '"')
        return BODY_STRING_ENDED;
    if ((unsigned char)c < 0x20)
        return body_env_fail(r, "a raw control character in a string of the JSON envelope");
    return body_env_put(r, c);
}

static bool body_env_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int body_env_byte(body_reader *r, char c) {
    switch (r->env) {
    case ENV_START:
        if (body_env_space(c))
            return 0;
        r->env = ENV_KEY_OR_END;
        return c == '{' ? 0 : BODY_GO_RAW;
    case ENV_KEY_OR_END:
        if (body_env_space(c) || c == ',')
            return 0;
        if (c == '}') {
            r->env = ENV_END;
            return r->committed ? 0 : BODY_GO_RAW; /* options only: not an envelope */
        }
        if (c != '"')
            return body_env_fail(r, "a malformed JSON envelope");
        r->env = ENV_KEY;
        r->key_len = 0;
        r->key_overflow = false;
        return 0;
    case ENV_KEY:
        if (c == '\\')
            return body_env_fail(r, "an escaped member name in the JSON envelope");
        if (c != '"') {
            if (r->key_len + 1 < sizeof r->key)
                r->key[r->key_len++] = c;
            else
                r->key_overflow = true;
            return 0;
        }
        r->key[r->key_len] = '\0';
        if (!r->committed && (r->key_overflow || !body_is_known(r, r->key)))
            return BODY_GO_RAW; /* e.g. "type": a one-line import */
        if (r->key_overflow)
            return body_env_fail(r, "a member name of the JSON envelope is longer than 31 bytes");
        r->env = ENV_COLON;
        return 0;
    case ENV_COLON:
        if (body_env_space(c))
            return 0;
        if (c != ':')
            return body_env_fail(r, "a malformed JSON envelope");
        r->env = ENV_VALUE;
        return 0;
    case ENV_VALUE: {
        if (body_env_space(c))
            return 0;
        bool is_data = strcmp(r->key, "data") == 0, is_url = strcmp(r->key, "file_url") == 0;
        r->in_field = false;
        if ((is_data || is_url) && c != '"')
            return body_env_fail(r, is_data ? "the envelope's 'data' must be a string"
                                            : "the envelope's 'file_url' must be a string");
        if (is_data || is_url) {
            if ((is_data && r->found) || (is_url && r->has_file_url))
                return body_env_fail(r, "a member given twice in the JSON envelope");
            r->committed = true;
            r->sniffing = false;
            r->found |= is_data;
            r->has_file_url |= is_url;
            r->env = is_data ? ENV_DATA : ENV_STRING;
            return 0;
        }
        if (c == '{' || c == '[')
            return body_env_fail(r, "an envelope member other than 'data' must be a string, a "
                                    "number, true, false or null");
        int rc = body_field_begin(r, r->key, r->data_began);
        if (rc < 0)
            return body_env_fail(r, r->error);
        if (c == '"') {
            r->env = ENV_STRING;
            return 0;
        }
        r->env = ENV_SCALAR;
        return body_field_byte(r, c);
    }
    case ENV_STRING:
    case ENV_DATA: {
        int rc = body_env_string_byte(r, c);
        if (rc == BODY_STRING_ENDED) {
            r->env = ENV_AFTER;
            r->in_field = false;
            rc = 0;
        }
        return rc;
    }
    case ENV_SCALAR:
        if (!body_env_space(c) && c != ',' && c != '}')
            return body_field_byte(r, c);
        r->in_field = false;
        r->env = ENV_AFTER;
        return body_env_byte(r, c);
    case ENV_AFTER:
        if (body_env_space(c))
            return 0;
        if (c == ',') {
            r->env = ENV_KEY_OR_END;
            return 0;
        }
        if (c == '}') {
            r->env = ENV_END;
            return r->committed ? 0 : BODY_GO_RAW;
        }
        return body_env_fail(r, "a malformed JSON envelope");
    case ENV_END:
        return body_env_space(c) ? 0 : body_env_fail(r, "text after the JSON envelope");
    }
    return 0;
}

/* The sniffed bytes, and data[from..len), go out raw from now on. */
static int body_go_raw(body_reader *r, const char *data, size_t from, size_t len) {
    r->kind = BODY_RAW;
    r->sniffing = false;
    r->n_fields = 0; /* what looked like fields is the file's text */
    int rc = r->sniff_len > 0 ? r->emit(r->sniff, r->sniff_len, r->ctx) : 0;
    r->sniff_len = 0;
    r->data_began = true;
    if (rc == 0 && from < len)
        rc = r->emit(data + from, len - from, r->ctx);
    return rc;
}

int body_reader_feed(body_reader *r, const char *data, size_t len) {
    int rc = 0;
    if (r->kind == BODY_RAW) {
        r->data_began |= len > 0;
        return r->emit(data, len, r->ctx);
    }
    for (size_t i = 0; i < len && rc == 0; i++) {
        if (r->sniffing) {
            if (r->sniff_len == BODY_SNIFF_MAX)
                return body_go_raw(r, data, i, len);
            r->sniff[r->sniff_len++] = data[i];
        }
        rc = r->kind == BODY_MULTIPART ? body_multipart_byte(r, data[i])
             : r->kind == BODY_FORM    ? body_form_byte(r, data[i])
                                       : body_env_byte(r, data[i]);
        if (rc == BODY_GO_RAW)
            return body_go_raw(r, data, i + 1, len);
        if (rc == 0 && r->error != NULL)
            rc = BI_EINVAL;
    }
    return rc < 0 ? rc : body_flush(r);
}

int body_reader_finish(body_reader *r) {
    if (r->sniffing) /* it never proved to be a form or an envelope */
        return body_go_raw(r, "", 0, 0);
    if (r->kind == BODY_MULTIPART && r->found && r->has_file_url) {
        r->error = "give the field 'file' or the field 'file_url', not both";
        return BI_EINVAL;
    }
    if ((r->kind == BODY_FORM || r->kind == BODY_ENVELOPE) && r->found && r->has_file_url) {
        r->error = "give 'data' or 'file_url', not both";
        return BI_EINVAL;
    }
    if (r->kind == BODY_MULTIPART && ((!r->found && !r->has_file_url) || r->state != MP_DONE)) {
        r->error = r->found || r->has_file_url
                       ? "the multipart body ends before its closing boundary"
                       : "the multipart body has no field 'file', 'data' or 'file_url'";
        return BI_EINVAL;
    }
    if (r->kind == BODY_FORM && r->pct > 0) {
        r->error = "bad %-escape in a form field";
        return BI_EINVAL;
    }
    if (r->kind == BODY_FORM && !r->found && !r->has_file_url) {
        r->error = "the form has no field 'data' or 'file_url'";
        return BI_EINVAL;
    }
    if (r->kind == BODY_ENVELOPE && (r->env != ENV_END || r->esc != 0 || r->high != 0)) {
        r->error = "the JSON envelope ends early";
        return BI_EINVAL;
    }
    return body_flush(r);
}

size_t body_reader_fields(const body_reader *r, const body_field **out) {
    *out = r->fields;
    return r->n_fields;
}

const char *body_reader_file_name(const body_reader *r) { return r->file_name; }

bool body_reader_file_began(const body_reader *r) { return r->data_began; }

const char *body_reader_file_url(const body_reader *r) {
    return r->has_file_url ? r->file_url : NULL;
}

const char *body_reader_error(const body_reader *r) { return r->error ? r->error : ""; }

void body_reader_free(body_reader *r) {
    if (r == NULL)
        return;
    free(r->sniff);
    free(r->fields);
    free(r);
}
