#include "rules.h"

#include "error.h"
#include "ids.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[RULES_N_TYPES] = {
    "Organization", "User",      "Source",         "Collection",        "Concept",
    "Mapping",      "Reference", "Source Version", "Collection Version", "Import"};

static const struct {
    const char *name;
    enum rules_action action;
} action_names[] = {
    {"CREATE_OR_UPDATE", RULES_CREATE_OR_UPDATE}, {"NEW", RULES_NEW},
    {"CREATE", RULES_NEW},                        {"UPDATE", RULES_UPDATE},
    {"DELETE", RULES_DELETE},                     {"DELETE_IF_EXISTS", RULES_DELETE_IF_EXISTS},
    {"SKIP", RULES_SKIP},
};

const char *rules_type_name(enum rules_type type) {
    return type >= 0 && type < RULES_N_TYPES ? type_names[type] : "";
}

const char *rules_action_name(enum rules_action action) {
    for (size_t i = 0; i < sizeof action_names / sizeof action_names[0]; i++)
        if (action_names[i].action == action)
            return action_names[i].name;
    return "";
}

static int rules_fail(rules_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int rules_fail(rules_error *err, int code, const char *field, const char *fmt, ...) {
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* Depth of nested arrays and objects, counting v itself; stops counting past limit. */
static int rules_depth(const cJSON *v, int limit) {
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return 0;
    if (limit == 0)
        return 1;
    int deepest = 0;
    for (const cJSON *c = v->child; c != NULL && deepest < limit; c = c->next) {
        int d = rules_depth(c, limit - 1);
        if (d > deepest)
            deepest = d;
    }
    return deepest + 1;
}

/* An optional string: absent or null gives *out NULL. */
static int rules_get_string(const cJSON *line, const char *field, const char **out,
                            rules_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, field);
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return rules_fail(err, BI_EFIELDTYPE, field, "'%s' must be a string", field);
    *out = v->valuestring;
    return 0;
}

/* A required non-empty string. */
static int rules_need_string(const cJSON *line, enum rules_type type, const char *field,
                             const char **out, rules_error *err) {
    int rc = rules_get_string(line, field, out, err);
    if (rc == 0 && (*out == NULL || (*out)[0] == '\0'))
        rc = rules_fail(err, BI_EMISSING, field, "%s requires %s", type_names[type], field);
    return rc;
}

/* A required name-syntax id ([A-Za-z0-9._@-]{1,64}) copied into out. */
static int rules_need_name(const cJSON *line, enum rules_type type, const char *field, char *out,
                           rules_error *err) {
    const char *text;
    int rc = rules_need_string(line, type, field, &text, err);
    if (rc < 0)
        return rc;
    if (!ids_name_is_valid(text, strlen(text)))
        return rules_fail(err, BI_EBADID, field, "'%s' must match [A-Za-z0-9._@-]{1,64}", field);
    strcpy(out, text);
    return 0;
}

/* A URL field parsed into *out and canonicalised into canonical, which must be of kind. */
static int rules_need_url(const cJSON *line, enum rules_type type, const char *field,
                          enum urls_kind kind, const char *kind_name, urls_ref *out,
                          char canonical[URLS_MAX], rules_error *err) {
    const char *text;
    int rc = rules_need_string(line, type, field, &text, err);
    if (rc < 0)
        return rc;
    if (urls_parse(text, out) < 0 || out->kind != kind ||
        urls_format(out, canonical, URLS_MAX) < 0)
        return rules_fail(err, BI_EBADURL, field, "'%s' must be the URL of %s", field, kind_name);
    return 0;
}

/* The owner: "owner_url", or "owner" + "owner_type". */
static int rules_read_owner(const cJSON *line, enum rules_type type, urls_ref *ref,
                            rules_error *err) {
    const char *owner_url, *owner_type;
    int rc = rules_get_string(line, "owner_url", &owner_url, err);
    if (rc < 0)
        return rc;
    if (owner_url != NULL) {
        urls_ref owner;
        if (urls_parse(owner_url, &owner) < 0 || owner.kind != URLS_OWNER)
            return rules_fail(err, BI_EBADURL, "owner_url",
                              "'owner_url' must be the URL of an organization or a user");
        ref->owner_type = owner.owner_type;
        strcpy(ref->owner, owner.owner);
        return 0;
    }
    if ((rc = rules_need_name(line, type, "owner", ref->owner, err)) < 0 ||
        (rc = rules_need_string(line, type, "owner_type", &owner_type, err)) < 0)
        return rc;
    if (strcasecmp(owner_type, "Organization") == 0)
        ref->owner_type = URLS_ORG;
    else if (strcasecmp(owner_type, "User") == 0)
        ref->owner_type = URLS_USER;
    else
        return rules_fail(err, BI_EBADVALUE, "owner_type",
                          "'owner_type' must be Organization or User");
    return 0;
}

/* The repository of content or a version: owner + "source" or "collection". */
static int rules_read_repo(const cJSON *line, enum rules_type type, enum urls_repo_type repo_type,
                           urls_ref *ref, rules_error *err) {
    int rc = rules_read_owner(line, type, ref, err);
    if (rc < 0)
        return rc;
    ref->repo_type = repo_type;
    return rules_need_name(line, type, repo_type == URLS_SOURCE ? "source" : "collection",
                           ref->repo, err);
}

/* A Reference's collection: "collection_url", or owner + "collection". */
static int rules_read_reference_collection(const cJSON *line, urls_ref *ref, rules_error *err) {
    const char *url;
    int rc = rules_get_string(line, "collection_url", &url, err);
    if (rc < 0)
        return rc;
    if (url == NULL)
        return rules_read_repo(line, RULES_REFERENCE, URLS_COLLECTION, ref, err);
    urls_ref parsed;
    if (urls_parse(url, &parsed) < 0 || parsed.kind != URLS_REPO ||
        parsed.repo_type != URLS_COLLECTION)
        return rules_fail(err, BI_EBADURL, "collection_url",
                          "'collection_url' must be the URL of a collection");
    *ref = parsed;
    return 0;
}

static int rules_copy_text(const char *text, const char *field, char out[RULES_TEXT_MAX],
                           rules_error *err) {
    if (strlen(text) >= RULES_TEXT_MAX)
        return rules_fail(err, BI_EBADVALUE, field, "'%s' is longer than %d bytes", field,
                          RULES_TEXT_MAX - 1);
    strcpy(out, text);
    return 0;
}

static int rules_read_mapping(const cJSON *line, rules_line *out, rules_error *err) {
    const char *id, *map_type, *to_concept_url, *to_source_url, *to_code;
    urls_ref target;
    int rc;
    if ((rc = rules_get_string(line, "id", &id, err)) < 0)
        return rc;
    if (id != NULL && !urls_concept_id_is_valid(id, strlen(id)))
        return rules_fail(err, BI_EBADID, "id",
                          "'id' must be 1-255 bytes of UTF-8 without control characters");
    if (id != NULL)
        strcpy(out->ref.id, id);
    if ((rc = rules_need_string(line, RULES_MAPPING, "map_type", &map_type, err)) < 0 ||
        (rc = rules_copy_text(map_type, "map_type", out->map_type, err)) < 0 ||
        (rc = rules_need_url(line, RULES_MAPPING, "from_concept_url", URLS_CONCEPT, "a concept",
                             &target, out->from_concept_url, err)) < 0 ||
        (rc = rules_get_string(line, "to_concept_url", &to_concept_url, err)) < 0 ||
        (rc = rules_get_string(line, "to_source_url", &to_source_url, err)) < 0 ||
        (rc = rules_get_string(line, "to_concept_code", &to_code, err)) < 0)
        return rc;
    if (to_concept_url != NULL && to_concept_url[0] != '\0')
        return rules_need_url(line, RULES_MAPPING, "to_concept_url", URLS_CONCEPT, "a concept",
                              &target, out->to_concept_url, err);
    if (to_source_url == NULL || to_source_url[0] == '\0' || to_code == NULL || to_code[0] == '\0')
        return rules_fail(err, BI_EMISSING, "to_concept_url",
                          "Mapping requires to_concept_url, or to_source_url and to_concept_code");
    if ((rc = rules_need_url(line, RULES_MAPPING, "to_source_url", URLS_REPO, "a source", &target,
                             out->to_source_url, err)) < 0)
        return rc;
    if (target.repo_type != URLS_SOURCE)
        return rules_fail(err, BI_EBADURL, "to_source_url",
                          "'to_source_url' must be the URL of a source");
    return rules_copy_text(to_code, "to_concept_code", out->to_concept_code, err);
}

/* names: a non-empty array of objects, each with a "name" and a "locale" string. */
static int rules_check_names(const cJSON *line, rules_error *err) {
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(line, "names");
    if (names == NULL || cJSON_IsNull(names))
        return rules_fail(err, BI_EMISSING, "names", "Concept requires names");
    if (!cJSON_IsArray(names))
        return rules_fail(err, BI_EFIELDTYPE, "names", "'names' must be an array of objects");
    if (cJSON_GetArraySize(names) == 0)
        return rules_fail(err, BI_EMISSING, "names", "Concept requires at least one name");
    int i = 0;
    for (const cJSON *n = names->child; n != NULL; n = n->next, i++) {
        if (!cJSON_IsObject(n))
            return rules_fail(err, BI_EFIELDTYPE, "names", "'names[%d]' must be an object", i);
        static const char *const fields[] = {"name", "locale"};
        for (int f = 0; f < 2; f++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(n, fields[f]);
            if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
                return rules_fail(err, v == NULL ? BI_EMISSING : BI_EFIELDTYPE, "names",
                                  "'names[%d].%s' must be a non-empty string", i, fields[f]);
        }
    }
    return 0;
}

/* Optional fields with a fixed JSON type, checked for every type that has them. */
static int rules_check_optional(const cJSON *line, rules_line *out, rules_error *err) {
    static const struct {
        const char *field;
        int cjson_types; /* accepted cJSON type bits, null always accepted */
        const char *what;
    } optional[] = {
        {"extras", cJSON_Object, "an object"},
        {"descriptions", cJSON_Array, "an array"},
        {"retired", cJSON_True | cJSON_False, "true or false"},
        {"released", cJSON_True | cJSON_False, "true or false"},
        {"public_access", cJSON_String, "a string"},
        {"external_id", cJSON_String, "a string"},
        {"description", cJSON_String, "a string"},
    };
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, optional[i].field);
        if (v != NULL && !cJSON_IsNull(v) && !(v->type & optional[i].cjson_types))
            return rules_fail(err, BI_EFIELDTYPE, optional[i].field, "'%s' must be %s",
                              optional[i].field, optional[i].what);
    }
    const cJSON *access = cJSON_GetObjectItemCaseSensitive(line, "public_access");
    if (cJSON_IsString(access)) {
        if (rights_access_parse(access->valuestring, &out->public_access) < 0)
            return rules_fail(err, BI_EBADVALUE, "public_access",
                              "'public_access' must be View, Edit or None");
        out->has_public_access = true;
    }
    const cJSON *retired = cJSON_GetObjectItemCaseSensitive(line, "retired");
    out->has_retired = cJSON_IsBool(retired);
    out->retired = cJSON_IsTrue(retired);
    return 0;
}

static int rules_read_reference(const cJSON *line, rules_line *out, rules_error *err) {
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(line, "data");
    const cJSON *expressions = cJSON_GetObjectItemCaseSensitive(data, "expressions");
    if (data != NULL && !cJSON_IsObject(data))
        return rules_fail(err, BI_EFIELDTYPE, "data", "'data' must be an object");
    if (expressions == NULL || cJSON_IsNull(expressions))
        return rules_fail(err, BI_EMISSING, "data.expressions",
                          "Reference requires data.expressions");
    if (!cJSON_IsArray(expressions) || cJSON_GetArraySize(expressions) == 0)
        return rules_fail(err, BI_EFIELDTYPE, "data.expressions",
                          "'data.expressions' must be a non-empty array of strings");
    for (const cJSON *e = expressions->child; e != NULL; e = e->next)
        if (!cJSON_IsString(e))
            return rules_fail(err, BI_EFIELDTYPE, "data.expressions",
                              "'data.expressions' must be a non-empty array of strings");
    out->expressions = expressions;
    const char *cascade;
    int rc = rules_get_string(line, "__cascade", &cascade, err);
    if (rc < 0)
        return rc;
    if (cascade != NULL && strcasecmp(cascade, "sourcemappings") != 0)
        return rules_fail(err, BI_EBADVALUE, "__cascade", "'__cascade' must be sourcemappings");
    out->cascade_mappings = cascade != NULL;
    return 0;
}

/* Reads the identity, and for writing directives the required content, of out->type. */
/* An Import line: an http(s) file_url and perhaps a queue; it creates, so no other directive. */
static int rules_read_import(const cJSON *line, const rules_line *out, rules_error *err) {
    const char *url, *queue;
    int rc = rules_need_string(line, out->type, "file_url", &url, err);
    if (rc < 0)
        return rc;
    if (strlen(url) > RULES_FILE_URL_MAX ||
        (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return rules_fail(err, BI_EBADURL, "file_url",
                          "'file_url' must be an http:// or https:// URL of at most %d bytes",
                          RULES_FILE_URL_MAX);
    if ((rc = rules_get_string(line, "queue", &queue, err)) < 0)
        return rc;
    if (queue != NULL && (!ids_queue_name_is_valid(queue) || strcmp(queue, "file-url") == 0 ||
                          strcmp(queue, "upload") == 0))
        return rules_fail(err, BI_EBADVALUE, "queue",
                          "'queue' must be a queue name: [A-Za-z0-9._@-]{1,64}, not default, "
                          "priority, file-url, upload, '.' or '..'");
    if (out->action != RULES_CREATE_OR_UPDATE && out->action != RULES_NEW)
        return rules_fail(err, BI_EACTION, "__action",
                          "an Import line creates a task: its __action can only be NEW");
    return 0;
}

static int rules_read_type(const cJSON *line, rules_line *out, bool content, rules_error *err) {
    urls_ref *ref = &out->ref;
    const char *text;
    int rc = 0;
    switch (out->type) {
    case RULES_ORGANIZATION:
    case RULES_USER:
        ref->kind = URLS_OWNER;
        ref->owner_type = out->type == RULES_ORGANIZATION ? URLS_ORG : URLS_USER;
        rc = rules_need_name(line, out->type, out->type == RULES_USER ? "username" : "id",
                             ref->owner, err);
        if (rc == 0 && content && out->type == RULES_ORGANIZATION)
            rc = rules_need_string(line, out->type, "name", &text, err);
        return rc;
    case RULES_SOURCE:
    case RULES_COLLECTION:
        ref->kind = URLS_REPO;
        ref->repo_type = out->type == RULES_SOURCE ? URLS_SOURCE : URLS_COLLECTION;
        if ((rc = rules_need_name(line, out->type, "id", ref->repo, err)) < 0 ||
            (rc = rules_read_owner(line, out->type, ref, err)) < 0)
            return rc;
        return content ? rules_need_string(line, out->type, "name", &text, err) : 0;
    case RULES_SOURCE_VERSION:
    case RULES_COLLECTION_VERSION:
        ref->kind = URLS_REPO_VERSION;
        if ((rc = rules_need_string(line, out->type, "id", &text, err)) < 0)
            return rc;
        if (!urls_version_id_is_valid(text, strlen(text)))
            return rules_fail(err, BI_EBADID, "id",
                              "'id' must match [A-Za-z0-9._@-]{1,64} and not be a reserved word "
                              "(HEAD, concepts, mappings, versions, references, members, "
                              "sources, collections)");
        strcpy(ref->repo_version, text);
        return rules_read_repo(line, out->type,
                               out->type == RULES_SOURCE_VERSION ? URLS_SOURCE : URLS_COLLECTION,
                               ref, err);
    case RULES_CONCEPT:
        ref->kind = URLS_CONCEPT;
        if ((rc = rules_need_string(line, out->type, "id", &text, err)) < 0)
            return rc;
        if (!urls_concept_id_is_valid(text, strlen(text)))
            return rules_fail(err, BI_EBADID, "id",
                              "'id' must be 1-255 bytes of UTF-8 without control characters");
        strcpy(ref->id, text);
        if ((rc = rules_read_repo(line, out->type, URLS_SOURCE, ref, err)) < 0 || !content)
            return rc;
        if ((rc = rules_need_string(line, out->type, "concept_class", &text, err)) < 0 ||
            (rc = rules_need_string(line, out->type, "datatype", &text, err)) < 0)
            return rc;
        return rules_check_names(line, err);
    case RULES_MAPPING:
        ref->kind = URLS_MAPPING;
        if ((rc = rules_read_repo(line, out->type, URLS_SOURCE, ref, err)) < 0)
            return rc;
        return rules_read_mapping(line, out, err);
    case RULES_REFERENCE:
        ref->kind = URLS_REPO;
        if ((rc = rules_read_reference_collection(line, ref, err)) < 0)
            return rc;
        return rules_read_reference(line, out, err);
    case RULES_IMPORT:
        return rules_read_import(line, out, err);
    default:
        return rules_fail(err, BI_ETYPE, "type", "unknown type");
    }
}

/* Formats with fmt into dst, leaving dst as it was when ref is incomplete. */
static void rules_format_into(int (*fmt)(const urls_ref *, char *, size_t), const urls_ref *ref,
                              char *dst) {
    char tmp[URLS_MAX];
    if (fmt(ref, tmp, sizeof tmp) == 0)
        strcpy(dst, tmp);
}

/* Sets url, parent_url and root from as much of the identity as was read: also on a failed
 * line, so its result is grouped under the right root. */
static void rules_set_urls(rules_line *out) {
    const urls_ref *ref = &out->ref;
    switch (out->type) {
    case RULES_IMPORT:
        strcpy(out->root, "/tasks/");
        break;
    case RULES_ORGANIZATION:
    case RULES_USER:
        strcpy(out->root, out->type == RULES_ORGANIZATION ? "/orgs/" : "/users/");
        rules_format_into(urls_format, ref, out->url);
        break;
    case RULES_SOURCE:
    case RULES_COLLECTION:
        rules_format_into(urls_format_owner, ref, out->root);
        rules_format_into(urls_format_owner, ref, out->parent_url);
        rules_format_into(urls_format, ref, out->url);
        break;
    case RULES_SOURCE_VERSION:
    case RULES_COLLECTION_VERSION:
        rules_format_into(urls_format_owner, ref, out->root);
        rules_format_into(urls_format_repo, ref, out->parent_url);
        rules_format_into(urls_format, ref, out->url);
        break;
    case RULES_CONCEPT:
    case RULES_MAPPING:
    case RULES_REFERENCE:
        rules_format_into(urls_format_repo, ref, out->root);
        rules_format_into(urls_format_repo, ref, out->parent_url);
        if (out->type == RULES_REFERENCE)
            rules_format_into(urls_format_repo, ref, out->url);
        else if (ref->id[0] != '\0')
            rules_format_into(urls_format, ref, out->url);
        break;
    default:
        break;
    }
}

void rules_line_clear(rules_line *out) {
    out->type = RULES_NO_TYPE;
    out->action = RULES_CREATE_OR_UPDATE;
    out->ref.kind = 0;
    out->ref.owner_type = 0;
    out->ref.repo_type = 0;
    out->ref.owner[0] = out->ref.repo[0] = out->ref.repo_version[0] = '\0';
    out->ref.id[0] = out->ref.version[0] = '\0';
    out->url[0] = out->parent_url[0] = '\0';
    strcpy(out->root, "/");
    out->has_public_access = false;
    out->public_access = 0;
    out->has_retired = out->retired = false;
    out->map_type[0] = out->from_concept_url[0] = out->to_concept_url[0] = '\0';
    out->to_source_url[0] = out->to_concept_code[0] = '\0';
    out->expressions = NULL;
    out->cascade_mappings = false;
}

int rules_check_line(const cJSON *line, rules_line *out, rules_error *err) {
    rules_line_clear(out);
    err->code = 0;
    err->field[0] = err->message[0] = '\0';
    if (!cJSON_IsObject(line))
        return rules_fail(err, BI_ENOTOBJECT, "", "the line must be a JSON object");
    const cJSON *csv_error = cJSON_GetObjectItemCaseSensitive(line, "__csv_error");
    if (cJSON_IsString(csv_error)) /* a row OCL's CSV converter refused (csvconv.h) */
        return rules_fail(err, BI_ECSVROW, "", "%s", csv_error->valuestring);

    const char *type;
    int rc = rules_get_string(line, "type", &type, err);
    if (rc < 0)
        return rc;
    if (type == NULL || type[0] == '\0')
        return rules_fail(err, BI_ETYPE, "type", "the line has no type");
    for (int t = 0; t < RULES_N_TYPES; t++)
        if (strcasecmp(type, type_names[t]) == 0)
            out->type = (enum rules_type)t;
    if (out->type == RULES_NO_TYPE)
        return rules_fail(err, BI_ETYPE, "type", "unknown type '%.64s'", type);

    const char *action;
    if ((rc = rules_get_string(line, "__action", &action, err)) < 0)
        return rc;
    bool known = action == NULL;
    for (size_t i = 0; !known && i < sizeof action_names / sizeof action_names[0]; i++)
        if (strcasecmp(action, action_names[i].name) == 0) {
            out->action = action_names[i].action;
            known = true;
        }
    if (!known)
        return rules_fail(err, BI_EACTION, "__action",
                          "unknown __action '%.64s' (CREATE_OR_UPDATE, NEW, CREATE, UPDATE, "
                          "DELETE, DELETE_IF_EXISTS or SKIP)",
                          action);

    if (rules_depth(line, RULES_MAX_DEPTH) > RULES_MAX_DEPTH)
        return rules_fail(err, BI_ETOODEEP, "", "the line nests objects and arrays deeper than %d",
                          RULES_MAX_DEPTH);

    bool content = out->action == RULES_CREATE_OR_UPDATE || out->action == RULES_NEW ||
                   out->action == RULES_UPDATE;
    rc = rules_read_type(line, out, content, err);
    if (rc == 0)
        rc = rules_check_optional(line, out, err);
    rules_set_urls(out);
    return rc;
}
