/* rules.h — what one import line means: its type, directive, identity, URL, parent and root key,
 * and whether it is well-formed (OCL.md "Directives", "Resource types and identity").
 *
 * Pure: takes a parsed JSON object, touches no database. Existence of owners and repositories,
 * rights and the effect of the directive are decided later, by the importer against the store.
 */
#ifndef BI_IMPORTER_RULES_H
#define BI_IMPORTER_RULES_H

#include "rights.h"
#include "urls.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define RULES_MAX_DEPTH 32  /* nesting of objects and arrays in one line */
#define RULES_TEXT_MAX 1024 /* map_type, to_concept_code: stored as identity columns */
#define RULES_FILE_URL_MAX 2048 /* an Import line's file_url (DB_URL_MAX) */

enum rules_type {
    RULES_ORGANIZATION,
    RULES_USER,
    RULES_SOURCE,
    RULES_COLLECTION,
    RULES_CONCEPT,
    RULES_MAPPING,
    RULES_REFERENCE,
    RULES_SOURCE_VERSION,
    RULES_COLLECTION_VERSION,
    RULES_IMPORT, /* {"type":"Import","file_url":…,"queue"?:…}: a child task */
    RULES_N_TYPES,
    RULES_NO_TYPE = -1,
};

enum rules_action {
    RULES_CREATE_OR_UPDATE,
    RULES_NEW, /* also "CREATE" */
    RULES_UPDATE,
    RULES_DELETE,
    RULES_DELETE_IF_EXISTS,
    RULES_SKIP,
};

typedef struct rules_error {
    int code;           /* BI_E*, e.g. BI_EMISSING */
    char field[64];     /* the field at fault; "" for the line as a whole */
    char message[320];  /* names the field: "Concept requires concept_class" */
} rules_error;

typedef struct rules_line {
    enum rules_type type;
    enum rules_action action;
    urls_ref ref;              /* the object; a mapping without "id" has ref.id "" */
    char url[URLS_MAX];        /* canonical URL of the object; "" for a mapping without id */
    char parent_url[URLS_MAX]; /* repository of content and versions, owner of a repository */
    char root[URLS_MAX];       /* results are grouped under it */
    /* Organizations and repositories */
    bool has_public_access;
    enum rights_access public_access;
    /* Concepts and mappings */
    bool has_retired;
    bool retired;
    /* Mappings: identity when there is no id, canonical URLs */
    char map_type[RULES_TEXT_MAX];
    char from_concept_url[URLS_MAX];
    char to_concept_url[URLS_MAX];   /* or "" with the two below */
    char to_source_url[URLS_MAX];
    char to_concept_code[RULES_TEXT_MAX];
    /* References */
    const cJSON *expressions; /* borrowed from the line: array of strings */
    bool cascade_mappings;    /* "__cascade": "sourcemappings" */
} rules_line;

/* Empties *out: no type, the default action, every text "" but root "/". Only the fields'
 * heads are written, not the ~10 KB of their buffers: zeroing the whole of it for every line was
 * a tenth of an import's CPU in the server. */
void rules_line_clear(rules_line *out);

/* Reads line (a parsed JSON value) into *out. Returns 0, or a BI_E* code with *err filled; on
 * error *out still holds what could be read: type (RULES_NO_TYPE when unknown), action and root
 * (the root is "/" when the type is unknown), so the line's result can be grouped. Borrows line
 * for out->expressions. DELETE, DELETE_IF_EXISTS and SKIP lines need only their identity
 * fields; the others need every required field of their type. */
int rules_check_line(const cJSON *line, rules_line *out, rules_error *err);

/* Returns OCL's name of type ("Source Version"), or "" for RULES_NO_TYPE. */
const char *rules_type_name(enum rules_type type);

/* Returns the directive's name as OCL spells it ("CREATE_OR_UPDATE"). */
const char *rules_action_name(enum rules_action action);

#endif
