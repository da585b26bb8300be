#include "export.h"

#include "error.h"
#include "pyjson.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXPORT_HEADER_MAX (4 << 20) /* the members besides concepts and mappings */

/* ---- the scanner: JSON's structure over a seekable file, in one buffer ---- */

typedef struct scan {
    FILE *f;
    char buf[64 * 1024];
    size_t len, at;
    long long base; /* the file offset of buf[0] */
    bool io_error;
} scan;

/* Bytes kept of a value, up to a limit past which only their count grows. */
typedef struct capture {
    char *text;
    size_t len, cap, max;
    bool too_long;
} capture;

static int scan_peek(scan *s) {
    if (s->at == s->len) {
        s->base += (long long)s->len;
        s->len = fread(s->buf, 1, sizeof s->buf, s->f);
        s->at = 0;
        if (s->len == 0) {
            s->io_error |= ferror(s->f) != 0;
            return -1;
        }
    }
    return (unsigned char)s->buf[s->at];
}

static int scan_next(scan *s, capture *cap) {
    int c = scan_peek(s);
    if (c < 0)
        return c;
    s->at++;
    if (cap != NULL) {
        if (cap->len + 2 > cap->max) {
            cap->too_long = true;
        } else {
            if (cap->len + 2 > cap->cap) {
                cap->cap = cap->cap ? cap->cap * 2 : 4096;
                if ((cap->text = realloc(cap->text, cap->cap)) == NULL)
                    abort();
            }
            cap->text[cap->len++] = (char)c;
            cap->text[cap->len] = '\0';
        }
    }
    return c;
}

static long long scan_offset(const scan *s) { return s->base + (long long)s->at; }

static int scan_seek(scan *s, long long offset) {
    if (fseeko(s->f, offset, SEEK_SET) != 0)
        return BI_EIO;
    s->base = offset;
    s->len = s->at = 0;
    return 0;
}

static int scan_space(scan *s) {
    int c;
    while ((c = scan_peek(s)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        s->at++;
    return c;
}

/* Reads one JSON value's bytes (into cap when not NULL). Its structure only: what is inside
 * is cJSON's to judge. Returns 0, or -1 when the file ends or the structure breaks first. */
static int scan_value(scan *s, capture *cap) {
    int c = scan_space(s);
    if (c < 0)
        return -1;
    if (c == ',' || c == ':' || c == '}' || c == ']')
        return -1;
    long depth = 0;
    bool in_string = false;
    do {
        if ((c = scan_next(s, cap)) < 0)
            return -1;
        if (in_string) {
            if (c == '\\') {
                if (scan_next(s, cap) < 0)
                    return -1;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return -1;
        } else if (depth == 0) { /* a scalar: up to what ends it */
            int n;
            while ((n = scan_peek(s)) >= 0 && strchr(",}] \t\r\n", n) == NULL)
                scan_next(s, cap);
        }
    } while (in_string || depth > 0);
    return 0;
}

/* ---- the header ---- */

typedef struct export_doc {
    cJSON *header;             /* the top level, less the two arrays */
    long long concepts, mappings; /* offsets of their '[', -1 when absent */
} export_doc;

static void capture_append(capture *cap, const char *text, size_t len) {
    if (cap->len + len + 2 > cap->max) {
        cap->too_long = true;
        return;
    }
    if (cap->len + len + 2 > cap->cap) {
        while (cap->len + len + 2 > cap->cap)
            cap->cap = cap->cap ? cap->cap * 2 : 4096;
        if ((cap->text = realloc(cap->text, cap->cap)) == NULL)
            abort();
    }
    memcpy(cap->text + cap->len, text, len);
    cap->len += len;
    cap->text[cap->len] = '\0';
}

/* Reads the top level into doc. Returns 1 (one document, read), 0 (not one JSON object: JSON
 * lines, perhaps), -1 when it broke after both arrays were seen (a broken export), or -2 when
 * the members besides the arrays pass EXPORT_HEADER_MAX. */
static int export_read_top(scan *s, export_doc *doc) {
    capture head = {.max = EXPORT_HEADER_MAX};
    capture_append(&head, "{", 1);
    doc->concepts = doc->mappings = -1;
    int rc = 0;
    if (scan_space(s) != '{')
        goto done;
    scan_next(s, NULL);
    for (bool first = true;; first = false) {
        int c = scan_space(s);
        if (c == '}' && first) {
            scan_next(s, NULL);
            break;
        }
        capture key = {.max = 256};
        if (c != '"' || scan_value(s, &key) < 0 || key.too_long || scan_space(s) != ':') {
            free(key.text);
            goto broken;
        }
        scan_next(s, NULL);
        bool concepts = strcmp(key.text, "\"concepts\"") == 0;
        bool mappings = strcmp(key.text, "\"mappings\"") == 0;
        if ((concepts || mappings) && scan_space(s) == '[') {
            *(concepts ? &doc->concepts : &doc->mappings) = scan_offset(s);
            if (scan_value(s, NULL) < 0) {
                free(key.text);
                goto broken;
            }
        } else {
            if (head.len > 1)
                capture_append(&head, ",", 1);
            capture_append(&head, key.text, key.len);
            capture_append(&head, ":", 1);
            if (scan_space(s) < 0 || scan_value(s, &head) < 0) {
                free(key.text);
                goto broken;
            }
        }
        free(key.text);
        c = scan_space(s);
        scan_next(s, NULL);
        if (c == '}')
            break;
        if (c != ',')
            goto broken;
    }
    if (scan_space(s) >= 0) /* more after the object: JSON lines */
        goto done;
    capture_append(&head, "}", 1);
    if (head.too_long)
        rc = doc->concepts >= 0 && doc->mappings >= 0 ? -2 : 0;
    else if ((doc->header = cJSON_Parse(head.text)) != NULL)
        rc = 1;
    else
        rc = doc->concepts >= 0 && doc->mappings >= 0 ? -1 : 0;
    goto done;
broken:
    rc = doc->concepts >= 0 && doc->mappings >= 0 ? (head.too_long ? -2 : -1) : 0;
done:
    free(head.text);
    return rc;
}

/* ---- the conversion ---- */

typedef struct export_conv {
    const cJSON *repo;      /* content["source"], or the content */
    cJSON *owner, *owner_type, *owner_url; /* the new ones (maybe null) */
    const char *old_owner_url; /* NULL when the export has none */
    const cJSON *old_owner, *old_owner_type;
    bool replace_owner;
    export_emit emit;
    void *ctx;
} export_conv;

static void *export_check(void *p) {
    if (p == NULL)
        abort();
    return p;
}

static cJSON *export_dup(const cJSON *v) {
    return export_check(v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
}

/* Python's str() of a JSON value, as an f-string writes it (new memory). */
static char *export_str(const cJSON *v) {
    if (cJSON_IsString(v))
        return export_check(strdup(v->valuestring));
    if (v == NULL || cJSON_IsNull(v))
        return export_check(strdup("None"));
    if (cJSON_IsBool(v))
        return export_check(strdup(cJSON_IsTrue(v) ? "True" : "False"));
    return export_check(cJSON_PrintUnformatted(v));
}

/* replace_owner_url: v with the export's owner URL replaced by the new one (new memory). */
static cJSON *export_replaced(const export_conv *x, const cJSON *v) {
    if (!x->replace_owner || !cJSON_IsString(v) || x->old_owner_url == NULL ||
        x->old_owner_url[0] == '\0' || !cJSON_IsString(x->owner_url))
        return export_dup(v);
    const char *from = x->old_owner_url, *to = x->owner_url->valuestring, *s = v->valuestring;
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    char *out = export_check(malloc(strlen(s) + n * tl + 1)), *o = out;
    for (const char *p; (p = strstr(s, from)) != NULL; s = p + fl) {
        memcpy(o, s, (size_t)(p - s));
        o += p - s;
        memcpy(o, to, tl);
        o += tl;
    }
    strcpy(o, s);
    cJSON *r = export_check(cJSON_CreateString(out));
    free(out);
    return r;
}

static void export_add_owner(const export_conv *x, cJSON *obj) {
    pyjson_set(obj, "owner", export_dup(x->owner));
    pyjson_set(obj, "owner_type", export_dup(x->owner_type));
    pyjson_set(obj, "owner_url", export_dup(x->owner_url));
}

static int export_emit_json(const export_conv *x, cJSON *line) {
    char *text = export_check(cJSON_PrintUnformatted(line));
    int err = x->emit(text, strlen(text), 0, x->ctx);
    free(text);
    cJSON_Delete(line);
    return err;
}

static bool export_in(const char *key, const char *const *list) {
    for (; *list != NULL; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

/* The repository members ocldev copies. Its list runs some names together for want of a
 * comma ('content_type''revision_date', 'hierarchy_root_url''autoid_concept_mnemonic'), so
 * those four are not copied by ocldev, nor here. */
static const char *const export_repo_keys[] = {
    "description", "extras", "custom_validation_schema", "full_name", "name", "source_type",
    "public_access", "default_locale", "supported_locales", "website", "external_id",
    "canonical_url", "identifier", "publisher", "contact", "jurisdiction", "purpose", "copyright",
    "content_typerevision_date", "text", "meta", "experimental", "case_sensitive",
    "collection_reference", "hierarchy_meaning", "compositional", "version_needed",
    "hierarchy_root_urlautoid_concept_mnemonic", "autoid_concept_external_id",
    "autoid_concept_mnemonic_start_from", "autoid_concept_external_id_start_from",
    "autoid_mapping_mnemonic", "autoid_mapping_external_id", "autoid_mapping_mnemonic_start_from",
    "autoid_mapping_external_id_start_from", NULL};

static const char *const export_concept_drop[] = {
    "uuid", "source_url", "owner_url", "version", "created_on", "updated_on", "display_name",
    "display_locale", "owner", "owner_type", "owner_name", "version_created_on",
    "version_created_by", "is_latest_version", "locale", "url", "version_url",
    "previous_version_url", "child_concept_urls", "checksum", "checksums", "update_comment",
    "public_can_view", "created_by", "updated_by", "versioned_object_url", NULL};

static const char *const export_mapping_drop[] = {
    "uuid", "source_url", "owner_url", "version", "created_on", "updated_on", "display_name",
    "display_locale", "owner", "owner_type", "owner_name", "version_created_on",
    "version_created_by", "is_latest_version", "locale", "url", "version_url", "update_comment",
    "previous_version_url", "checksum", "checksums", "public_can_view", "versioned_object_url",
    "from_concept_name_resolved", "to_concept_name_resolved", "created_by", "updated_by", NULL};

static const char *const export_name_drop[] = {"uuid", "checksum", "checksums", "type", NULL};

/* {k: replace_owner_url(v) for k, v in obj.items() if k not in drop} (new memory). */
static cJSON *export_filtered(const export_conv *x, const cJSON *obj, const char *const *drop) {
    cJSON *out = export_check(cJSON_CreateObject());
    const cJSON *m;
    cJSON_ArrayForEach(m, obj) {
        if (!export_in(m->string, drop))
            pyjson_set(out, m->string, export_replaced(x, m));
    }
    return out;
}

static cJSON *export_concept(const export_conv *x, const cJSON *concept) {
    cJSON *data = export_filtered(x, concept, export_concept_drop);
    cJSON *names = export_check(cJSON_CreateArray());
    const cJSON *name;
    cJSON_ArrayForEach(name, cJSON_GetObjectItemCaseSensitive(data, "names")) {
        if (!cJSON_IsObject(name)) {
            cJSON_AddItemToArray(names, export_dup(name));
            continue;
        }
        cJSON *kept = export_check(cJSON_CreateObject());
        const cJSON *m;
        cJSON_ArrayForEach(m, name) {
            if (!export_in(m->string, export_name_drop))
                pyjson_set(kept, m->string, export_dup(m));
        }
        cJSON_AddItemToArray(names, kept);
    }
    pyjson_set(data, "names", names);
    /* ocldev loops over the empty list it builds instead of the concept's descriptions, so
     * every converted concept has none; kept so that imports here match imports there. */
    pyjson_set(data, "descriptions", export_check(cJSON_CreateArray()));
    export_add_owner(x, data);
    return data;
}

static bool export_equal(const cJSON *a, const cJSON *b) {
    if ((a == NULL || cJSON_IsNull(a)) && (b == NULL || cJSON_IsNull(b)))
        return true;
    return a != NULL && b != NULL && cJSON_Compare(a, b, true);
}

static cJSON *export_mapping(const export_conv *x, const cJSON *mapping) {
    cJSON *data = export_filtered(x, mapping, export_mapping_drop);
    static const char *const sides[] = {"from", "to"};
    for (size_t i = 0; i < 2; i++) {
        char owner_key[40], type_key[40];
        snprintf(owner_key, sizeof owner_key, "%s_source_owner", sides[i]);
        snprintf(type_key, sizeof type_key, "%s_source_owner_type", sides[i]);
        if (export_equal(cJSON_GetObjectItemCaseSensitive(mapping, type_key), x->old_owner_type) &&
            export_equal(cJSON_GetObjectItemCaseSensitive(mapping, owner_key), x->old_owner)) {
            pyjson_set(data, type_key, export_dup(x->owner_type));
            pyjson_set(data, owner_key, export_dup(x->owner));
        }
    }
    export_add_owner(x, data);
    return data;
}

/* Emits the elements of the array at offset, each converted by convert (or, when it is not
 * an object that cJSON reads, as its own text, for the importer to refuse). */
static int export_elements(scan *s, long long offset, const export_conv *x, size_t max_line,
                           cJSON *(*convert)(const export_conv *, const cJSON *)) {
    int err = scan_seek(s, offset);
    if (err < 0)
        return err;
    scan_next(s, NULL); /* '[' */
    for (bool first = true;; first = false) {
        int c = scan_space(s);
        if (c == ']' && first)
            return 0;
        capture el = {.max = max_line + 1};
        if (scan_value(s, &el) < 0) {
            free(el.text);
            return BI_EINVAL;
        }
        if (el.too_long) {
            err = x->emit(NULL, 0, BI_ELINELONG, x->ctx);
        } else {
            cJSON *json = cJSON_ParseWithLength(el.text, el.len);
            if (cJSON_IsObject(json))
                err = export_emit_json(x, convert(x, json));
            else
                err = x->emit(el.text, el.len, 0, x->ctx);
            cJSON_Delete(json);
        }
        free(el.text);
        if (err < 0)
            return err;
        c = scan_space(s);
        scan_next(s, NULL);
        if (c == ']')
            return 0;
        if (c != ',')
            return BI_EINVAL;
    }
}

int export_may_begin(const char *head, size_t len) {
    static const char *const starts[] = {"{\"type\": \"Source Version\"",
                                         "{\"type\":\"Source Version\""};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(starts[i]);
        if (memcmp(head, starts[i], len < n ? len : n) == 0)
            return 1;
    }
    return 0;
}

static int export_refuse(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int export_refuse(char *why, size_t why_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return BI_EINVAL;
}

/* The owner, source and version lines and the arrays between them. */
static int export_write(scan *s, const export_doc *doc, const export_options *opt,
                        export_conv *x) {
    const cJSON *h = doc->header;
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(h, "source");
    x->repo = cJSON_IsObject(source) && source->child ? source : h;
    const cJSON *old_url = cJSON_GetObjectItemCaseSensitive(x->repo, "owner_url");
    x->old_owner_url = cJSON_IsString(old_url) ? old_url->valuestring : NULL;
    x->old_owner = cJSON_GetObjectItemCaseSensitive(x->repo, "owner");
    x->old_owner_type = cJSON_GetObjectItemCaseSensitive(x->repo, "owner_type");
    bool given = opt->owner && opt->owner[0] && opt->owner_type && opt->owner_type[0];
    x->replace_owner = given;
    x->owner = given ? export_check(cJSON_CreateString(opt->owner)) : export_dup(x->old_owner);
    x->owner_type = given ? export_check(cJSON_CreateString(opt->owner_type))
                          : export_dup(x->old_owner_type);
    if (given) {
        const char *stem = strcasecmp(opt->owner_type, "organization") == 0 ? "orgs" : "users";
        char url[600];
        snprintf(url, sizeof url, "/%s/%s/", stem, opt->owner);
        x->owner_url = export_check(cJSON_CreateString(url));
    } else {
        x->owner_url = export_dup(old_url);
    }

    cJSON *owner = export_check(cJSON_CreateObject());
    cJSON_AddItemToObject(owner, "name", export_dup(x->owner));
    cJSON_AddItemToObject(owner, "id", export_dup(x->owner));
    cJSON_AddItemToObject(owner, "type", export_dup(x->owner_type));
    cJSON_AddItemToObject(owner, "url", export_dup(x->owner_url));
    int err = export_emit_json(x, owner);
    if (err < 0)
        return err;

    cJSON *repo = export_check(cJSON_CreateObject());
    cJSON_AddItemToObject(repo, "type", export_check(cJSON_CreateString("Source")));
    cJSON_AddItemToObject(repo, "id", export_dup(cJSON_GetObjectItemCaseSensitive(x->repo, "short_code")));
    char *owner_url = export_str(x->owner_url);
    char *short_code = export_str(cJSON_GetObjectItemCaseSensitive(h, "short_code"));
    size_t len = strlen(owner_url) + strlen(short_code) + 16;
    char *url = export_check(malloc(len));
    snprintf(url, len, "%ssources/%s/", owner_url, short_code);
    cJSON_AddItemToObject(repo, "url", export_check(cJSON_CreateString(url)));
    free(url), free(owner_url), free(short_code);
    export_add_owner(x, repo);
    const cJSON *m;
    cJSON_ArrayForEach(m, x->repo) {
        if (export_in(m->string, export_repo_keys))
            pyjson_set(repo, m->string, export_replaced(x, m));
    }
    if ((err = export_emit_json(x, repo)) < 0)
        return err;

    if ((err = export_elements(s, doc->concepts, x, opt->max_line, export_concept)) < 0 ||
        (err = export_elements(s, doc->mappings, x, opt->max_line, export_mapping)) < 0)
        return err;

    const cJSON *version = cJSON_GetObjectItemCaseSensitive(h, "version");
    if (cJSON_IsString(version) && strcmp(version->valuestring, "HEAD") == 0)
        return 0;
    cJSON *line = export_check(cJSON_CreateObject());
    cJSON_AddItemToObject(line, "type", export_dup(cJSON_GetObjectItemCaseSensitive(h, "type")));
    cJSON_AddItemToObject(line, "id",
                          opt->version && opt->version[0]
                              ? export_check(cJSON_CreateString(opt->version))
                              : export_dup(version));
    cJSON_AddItemToObject(line, "description",
                          export_dup(cJSON_GetObjectItemCaseSensitive(h, "description")));
    cJSON_AddItemToObject(line, "released", export_dup(cJSON_GetObjectItemCaseSensitive(h, "released")));
    cJSON_AddItemToObject(line, "source", export_dup(cJSON_GetObjectItemCaseSensitive(h, "short_code")));
    export_add_owner(x, line);
    return export_emit_json(x, line);
}

int export_convert(FILE *f, const export_options *opt, export_emit emit, void *ctx, char *why,
                   size_t why_len) {
    scan *s = export_check(calloc(1, sizeof *s));
    s->f = f;
    export_doc doc = {0};
    int rc = scan_seek(s, 0);
    if (rc == 0)
        rc = export_read_top(s, &doc);
    if (rc == -1)
        rc = export_refuse(why, why_len, "is an OCL export that is cut off or not valid JSON");
    if (rc == -2)
        rc = export_refuse(why, why_len,
                           "is an OCL export whose members besides concepts and mappings pass "
                           "%d MB", EXPORT_HEADER_MAX >> 20);
    if (rc == 1) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc.header, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "Source Version") != 0 ||
            doc.concepts < 0 || doc.mappings < 0)
            rc = 0; /* one document, but not an export: a one-line import file */
    }
    bool has_owner = opt->owner && opt->owner[0], has_type = opt->owner_type && opt->owner_type[0];
    if (rc == 1 && has_owner && !has_type)
        rc = export_refuse(why, why_len, "is an OCL export, and ocldev says: 'owner_type' needs "
                                         "to be either 'User or 'Organization'.");
    if (rc == 1 && !has_owner && has_type)
        rc = export_refuse(why, why_len, "is an OCL export, and ocldev says: 'owner' needs to be "
                                         "present when 'owner_type' is provided.");
    if (rc == 1 && has_type && strcmp(opt->owner_type, "User") != 0 &&
        strcmp(opt->owner_type, "Organization") != 0)
        rc = export_refuse(why, why_len, "is an OCL export, and ocldev says: 'owner_type' needs "
                                         "to be either 'User or 'Organization'.");
    if (rc == 1) {
        export_conv x = {.emit = emit, .ctx = ctx};
        int err = export_write(s, &doc, opt, &x);
        cJSON_Delete(x.owner);
        cJSON_Delete(x.owner_type);
        cJSON_Delete(x.owner_url);
        if (err == BI_EINVAL)
            err = export_refuse(why, why_len, "is an OCL export that is cut off or not valid JSON");
        if (err < 0)
            rc = err;
    }
    if (s->io_error && rc >= 0)
        rc = BI_EIO;
    cJSON_Delete(doc.header);
    free(s);
    return rc;
}
