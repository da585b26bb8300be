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

enum part_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_URL, MP_SKIP, MP_DONE };
enum part_field { FIELD_OTHER, FIELD_FILE, FIELD_FILE_URL };
enum form_state { FORM_KEY, FORM_VALUE, FORM_SKIP };

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
    char file_url[BODY_FILE_URL_MAX + 1];
    size_t file_url_len;
    bool has_file_url;
    /* Form */
    enum form_state form;
    char key[16];
    size_t key_len;
    int pct;      /* bytes of a %XX escape seen, 0 when none */
    char pct_hex[2];
};

static int body_flush(body_reader *r) {
    int rc = r->out_len > 0 ? r->emit(r->out, r->out_len, r->ctx) : 0;
    r->out_len = 0;
    return rc;
}

static int body_out(body_reader *r, const char *data, size_t len) {
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

body_reader *body_reader_new(const char *content_type, bool form_ok, body_emit emit, void *ctx,
                             const char **why) {
    body_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        abort();
    r->emit = emit;
    r->ctx = ctx;
    if (content_type != NULL && strncasecmp(content_type, "multipart/form-data", 19) == 0) {
        char boundary[BODY_BOUNDARY_MAX + 1];
        if (!body_boundary(content_type, boundary, sizeof boundary)) {
            *why = "multipart/form-data without a valid boundary";
            free(r);
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
    } else if (form_ok && content_type != NULL &&
               strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0) {
        r->kind = BODY_FORM;
    }
    return r;
}

/* Which field the part's headers name: the file (field file or data), file_url, or another;
 * the name= parameter, not e.g. filename="data". */
static enum part_field body_part_field(const char *headers) {
    for (const char *p = headers; (p = strcasestr(p, "name=")) != NULL; p += 5) {
        bool param = p > headers && (p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t');
        if (!param)
            continue;
        const char *v = p + 5;
        bool quoted = *v == '"';
        v += quoted;
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

/* Content bytes of the current part: kept in the wanted field and file_url, dropped elsewhere. */
static int body_part_bytes(body_reader *r, const char *data, size_t len) {
    if (r->state == MP_URL) {
        if (r->file_url_len + len > BODY_FILE_URL_MAX) {
            r->error = "the field 'file_url' is longer than 2048 bytes";
            return BI_EINVAL;
        }
        memcpy(r->file_url + r->file_url_len, data, len);
        r->file_url_len += len;
        r->file_url[r->file_url_len] = '\0';
        return 0;
    }
    return r->state == MP_BODY ? body_out(r, data, len) : 0;
}

/* Chooses how to read the part whose headers just ended. */
static enum part_state body_part_state(body_reader *r) {
    enum part_field field = body_part_field(r->headers);
    if (field == FIELD_FILE && !r->found) {
        r->found = true;
        return MP_BODY;
    }
    if (field == FIELD_FILE_URL && !r->has_file_url) {
        r->has_file_url = true;
        return MP_URL;
    }
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

static int body_form_byte(body_reader *r, char c) {
    if (c == '&') {
        r->form = FORM_KEY;
        r->key_len = 0;
        return 0;
    }
    if (r->form == FORM_KEY) {
        if (c == '=') {
            bool wanted = r->key_len == 4 && memcmp(r->key, "data", 4) == 0 && !r->found;
            r->form = wanted ? FORM_VALUE : FORM_SKIP;
            r->found |= wanted;
        } else if (r->key_len < sizeof r->key) {
            r->key[r->key_len++] = c;
        }
        return 0;
    }
    if (r->form == FORM_SKIP)
        return 0;
    if (r->pct > 0) {
        r->pct_hex[r->pct++ - 1] = c;
        if (r->pct < 3)
            return 0;
        r->pct = 0;
        int h = urls_hex_digit(r->pct_hex[0]), l = urls_hex_digit(r->pct_hex[1]);
        if (h < 0 || l < 0) {
            r->error = "bad %-escape in the form field 'data'";
            return BI_EINVAL;
        }
        char byte = (char)(h * 16 + l);
        return body_out(r, &byte, 1);
    }
    if (c == '%') {
        r->pct = 1;
        return 0;
    }
    return body_out(r, c == '+' ? " " : &c, 1);
}

int body_reader_feed(body_reader *r, const char *data, size_t len) {
    int rc = 0;
    if (r->kind == BODY_RAW)
        return r->emit(data, len, r->ctx);
    for (size_t i = 0; i < len && rc == 0; i++)
        rc = r->kind == BODY_MULTIPART ? body_multipart_byte(r, data[i]) : body_form_byte(r, data[i]);
    return rc < 0 ? rc : body_flush(r);
}

int body_reader_finish(body_reader *r) {
    if (r->kind == BODY_MULTIPART && r->found && r->has_file_url) {
        r->error = "give the field 'file' or the field 'file_url', not both";
        return BI_EINVAL;
    }
    if (r->kind == BODY_MULTIPART && ((!r->found && !r->has_file_url) || r->state != MP_DONE)) {
        r->error = r->found || r->has_file_url
                       ? "the multipart body ends before its closing boundary"
                       : "the multipart body has no field 'file', 'data' or 'file_url'";
        return BI_EINVAL;
    }
    if (r->kind == BODY_FORM && !r->found) {
        r->error = "the form has no field 'data'";
        return BI_EINVAL;
    }
    return body_flush(r);
}

const char *body_reader_file_url(const body_reader *r) {
    return r->has_file_url ? r->file_url : NULL;
}

const char *body_reader_error(const body_reader *r) { return r->error ? r->error : ""; }

void body_reader_free(body_reader *r) { free(r); }
