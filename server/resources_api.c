#include "resources_api.h"

#include "error.h"
#include "ids.h"
#include "owners.h"
#include "reads.h"
#include "repos.h"
#include "rights.h"
#include "urls.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOURCES_DEFAULT_LIMIT 50
#define RESOURCES_MAX_LIMIT 1000

/* One request's context: its connection, the repository it addresses, and the message of a
 * failure for the router to send. */
typedef struct scope {
    http_req *req;
    db_conn *conn;
    db_repo repo;
    char repo_url[URLS_MAX];
    char repo_id[24];
    char why[URLS_MAX + 320];
} scope;

static int scope_fail(scope *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int scope_fail(scope *s, int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    return err;
}

/* Runs fn with a pooled connection; answers its failure with its message. */
static int resources_run(http_req *req, int (*fn)(scope *)) {
    scope s = {.req = req};
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &s.conn);
    if (err < 0)
        return err;
    err = fn(&s);
    db_pool_release(req->app->pool, s.conn);
    if (err < 0 && s.why[0] != '\0')
        return http_send_error(req, err, "%s", s.why);
    return err;
}

static const char *scope_bool(bool value) { return value ? "true" : "false"; }

/* Reads the optional boolean query parameter name into *out. */
static int scope_bool_param(scope *s, const char *name, bool *out) {
    return http_query_bool(s->req, name, out, s->why, sizeof s->why);
}

/* Reads the optional positive integer query parameter name, at most max, into *out. */
static int scope_count_param(scope *s, const char *name, long max, long *out) {
    return http_query_long(s->req, name, 1, max, out, s->why, sizeof s->why);
}

/* Answers 400 (and returns BI_EINVAL) unless every query parameter is a list's own (page,
 * limit, brief, verbose) or, for concepts and mappings, theirs. */
static int scope_list_params(scope *s, bool content, bool concepts) {
    static const char *const common[] = {"page", "limit", "brief", "verbose", NULL};
    static const char *const mappings[] = {"page", "limit", "brief", "verbose", "include_retired",
                                           NULL};
    static const char *const concept_params[] = {"page", "limit", "brief", "verbose",
                                                 "include_retired", "q", NULL};
    return http_query_only(s->req, !content ? common : concepts ? concept_params : mappings);
}

/* Answers one page of list what with X-Total-Count. */
static int scope_send_list(scope *s, enum db_list what, const char *const *args) {
    long page = 1, limit = RESOURCES_DEFAULT_LIMIT, total = 0;
    bool brief = false;
    int err;
    bool content = what == DB_LIST_CONCEPTS || what == DB_LIST_MAPPINGS;
    if (scope_list_params(s, content, what == DB_LIST_CONCEPTS) < 0)
        return 0; /* answered */
    if ((err = scope_count_param(s, "page", 1000000000L, &page)) < 0 ||
        (err = scope_count_param(s, "limit", RESOURCES_MAX_LIMIT, &limit)) < 0 ||
        (err = scope_bool_param(s, "brief", &brief)) < 0)
        return err;
    char *json;
    if ((err = db_reads_list(s->conn, what, args, limit, (page - 1) * limit, brief, &json,
                             &total)) < 0)
        return err;
    char header[64];
    snprintf(header, sizeof header, "X-Total-Count: %ld\r\n", total);
    http_send_json_text(s->req, 200, header, json, strlen(json));
    free(json);
    return 0;
}

/* Answers the single resource what, or 404 with not_found as the message. */
static int scope_send_one(scope *s, enum db_one what, const char *const *args,
                          const char *not_found) {
    char *json;
    int err = db_reads_one(s->conn, what, args, &json, NULL, 0);
    if (err == BI_ENOTFOUND)
        return scope_fail(s, err, "%s", not_found);
    if (err < 0)
        return err;
    http_send_json_text(s->req, 200, NULL, json, strlen(json));
    free(json);
    return 0;
}

/* Resolves the repository of params 0-3 (owner type, owner, repository type, id) that the
 * caller may read into s->repo; anything else is 404. */
static int scope_repo(scope *s) {
    const http_req *req = s->req;
    urls_ref ref = {.kind = URLS_REPO};
    ref.owner_type = strcmp(req->params[0], "orgs") == 0    ? URLS_ORG
                     : strcmp(req->params[0], "users") == 0 ? URLS_USER
                                                            : URLS_NO_OWNER;
    ref.repo_type = strcmp(req->params[2], "sources") == 0       ? URLS_SOURCE
                    : strcmp(req->params[2], "collections") == 0 ? URLS_COLLECTION
                                                                 : URLS_NO_REPO;
    if (ref.owner_type == URLS_NO_OWNER || ref.repo_type == URLS_NO_REPO ||
        !ids_name_is_valid(req->params[1], strlen(req->params[1])) ||
        !ids_name_is_valid(req->params[3], strlen(req->params[3])))
        return scope_fail(s, BI_ENOTFOUND, "no such resource");
    strcpy(ref.owner, req->params[1]);
    strcpy(ref.repo, req->params[3]);
    urls_format(&ref, s->repo_url, sizeof s->repo_url);
    int err = db_repos_lookup(s->conn, req->user.username, s->repo_url, DB_LOCK_NONE, &s->repo);
    if (err < 0)
        return err;
    rights_target target = {.caller_is_owner = s->repo.caller_is_owner};
    rights_access_parse(s->repo.public_access, &target.public_access);
    if (!s->repo.found || rights_check(&req->user, &target, RIGHTS_READ) < 0)
        return scope_fail(s, BI_ENOTFOUND, "no repository at %s", s->repo_url);
    snprintf(s->repo_id, sizeof s->repo_id, "%lld", (long long)s->repo.id);
    return 0;
}

/* The organization params[0], visible to the caller, into *out; else 404. */
static int scope_org(scope *s, db_owner *out) {
    const http_req *req = s->req;
    int err = db_owners_lookup(s->conn, req->user.username, true, req->params[0], out);
    if (err < 0)
        return err;
    rights_target target = {.caller_is_owner = out->caller_is_owner};
    rights_access_parse(out->public_access, &target.public_access);
    if (!out->found || rights_check(&req->user, &target, RIGHTS_READ) < 0)
        return scope_fail(s, BI_ENOTFOUND, "no organization named '%s'", req->params[0]);
    return 0;
}

/* ---- owners ------------------------------------------------------------------------------ */

static int list_orgs(scope *s) {
    const char *args[] = {s->req->user.username, scope_bool(s->req->user.is_root)};
    return scope_send_list(s, DB_LIST_ORGS, args);
}

static int get_org(scope *s) {
    const char *args[] = {s->req->params[0], s->req->user.username,
                          scope_bool(s->req->user.is_root)};
    char message[128];
    snprintf(message, sizeof message, "no organization named '%.64s'", s->req->params[0]);
    return scope_send_one(s, DB_ONE_ORG, args, message);
}

static int list_members(scope *s) {
    db_owner org;
    int err = scope_org(s, &org);
    if (err < 0)
        return err;
    /* A disabled member is hidden from all but root, as its own page is. */
    const char *args[] = {s->req->params[0], s->req->user.is_root ? "true" : "false"};
    return scope_send_list(s, DB_LIST_MEMBERS, args);
}

/* Membership changes need membership (or root); a hidden organization is 404. */
static int scope_org_admin(scope *s) {
    db_owner org;
    int err = scope_org(s, &org);
    if (err < 0)
        return err;
    if (!org.caller_is_owner && !s->req->user.is_root)
        return scope_fail(s, BI_EPERM, "only members of '%s' may change its members",
                          s->req->params[0]);
    return 0;
}

static int add_member(scope *s) {
    int err = scope_org_admin(s);
    if (err < 0)
        return err;
    err = db_members_add(s->conn, s->req->params[0], s->req->params[1]);
    if (err == BI_ENOTFOUND)
        return scope_fail(s, err, "no user named '%s'", s->req->params[1]);
    return err < 0 ? err : http_send_no_content(s->req);
}

static int remove_member(scope *s) {
    int err = scope_org_admin(s);
    if (err < 0 || (err = db_begin(s->conn)) < 0)
        return err;
    err = db_members_remove(s->conn, s->req->params[0], s->req->params[1], s->req->user.is_root);
    if (err == 0)
        err = db_commit(s->conn);
    else
        db_rollback(s->conn);
    if (err == BI_ENOTFOUND)
        return scope_fail(s, err, "'%s' is not a member of '%s'", s->req->params[1],
                          s->req->params[0]);
    if (err == BI_ECONFLICT)
        return scope_fail(s, BI_EPERM, "only root may remove the last member of '%s'",
                          s->req->params[0]);
    return err < 0 ? err : http_send_no_content(s->req);
}

/* A user as a resource; a disabled one is hidden from all but root, who also sees the admin
 * fields (is_root, disabled, disabled_at, tokens, last_used_at). */
static int get_user(scope *s) {
    const char *args[] = {s->req->params[0]};
    char message[128];
    snprintf(message, sizeof message, "no user named '%.64s'", s->req->params[0]);
    bool disabled;
    int err = db_users_is_disabled(s->conn, s->req->params[0], &disabled);
    if (err < 0)
        return err;
    if (disabled && !s->req->user.is_root)
        return scope_fail(s, BI_ENOTFOUND, "%s", message);
    if (!s->req->user.is_root)
        return scope_send_one(s, DB_ONE_USER, args, message);
    char *json, *admin;
    if ((err = db_reads_one(s->conn, DB_ONE_USER, args, &json, NULL, 0)) == BI_ENOTFOUND)
        return scope_fail(s, err, "%s", message);
    if (err < 0)
        return err;
    if ((err = db_users_admin_get(s->conn, s->req->params[0], &admin)) < 0) {
        free(json);
        return err == BI_ENOTFOUND ? scope_fail(s, err, "%s", message) : err;
    }
    cJSON *user = cJSON_Parse(json), *extra = cJSON_Parse(admin);
    free(json);
    free(admin);
    for (cJSON *f = extra ? extra->child : NULL; f != NULL; f = f->next)
        if (strcmp(f->string, "username") != 0 && strcmp(f->string, "created_at") != 0)
            cJSON_AddItemToObject(user, f->string, cJSON_Duplicate(f, true));
    http_send_json(s->req, 200, user);
    cJSON_Delete(user);
    cJSON_Delete(extra);
    return 0;
}

static int list_repos(scope *s) {
    const http_req *req = s->req;
    bool is_org = strcmp(req->params[0], "orgs") == 0;
    const char *type = strcmp(req->params[2], "sources") == 0       ? "Source"
                       : strcmp(req->params[2], "collections") == 0 ? "Collection"
                                                                    : NULL;
    if ((!is_org && strcmp(req->params[0], "users") != 0) || type == NULL)
        return scope_fail(s, BI_ENOTFOUND, "no such resource");
    db_owner owner;
    int err = db_owners_lookup(s->conn, req->user.username, is_org, req->params[1], &owner);
    if (err < 0)
        return err;
    rights_target target = {.caller_is_owner = owner.caller_is_owner};
    rights_access_parse(owner.public_access, &target.public_access);
    if (!owner.found || rights_check(&req->user, &target, RIGHTS_READ) < 0)
        return scope_fail(s, BI_ENOTFOUND, "no %s named '%s'", is_org ? "organization" : "user",
                          req->params[1]);
    const char *args[] = {type, scope_bool(is_org), req->params[1], req->user.username,
                          scope_bool(req->user.is_root)};
    return scope_send_list(s, DB_LIST_REPOS, args);
}

/* ---- one repository ---------------------------------------------------------------------- */

static int get_repo(scope *s) {
    int err = scope_repo(s);
    if (err < 0)
        return err;
    const char *args[] = {s->repo_id};
    return scope_send_one(s, DB_ONE_REPO, args, "no such repository");
}

static int list_repo_versions(scope *s) {
    int err = scope_repo(s);
    if (err < 0)
        return err;
    const char *args[] = {s->repo_id};
    return scope_send_list(s, DB_LIST_REPO_VERSIONS, args);
}

/* Lists the concepts or mappings of the repository at change seq (NULL: live). */
static int scope_list_content(scope *s, bool concepts, const char *seq) {
    bool include_retired = false;
    char q[256];
    int err = scope_bool_param(s, "include_retired", &include_retired);
    if (err < 0)
        return err;
    int got_q = concepts ? http_query_text(s->req, "q", q, sizeof q) : 0;
    if (got_q < 0)
        return 0; /* answered */
    bool has_q = got_q > 0 && q[0] != '\0';
    const char *args[] = {s->repo_id, seq, scope_bool(s->repo.is_collection),
                          scope_bool(include_retired), has_q ? q : NULL};
    return scope_send_list(s, concepts ? DB_LIST_CONCEPTS : DB_LIST_MAPPINGS, args);
}

static int list_concepts(scope *s) {
    int err = scope_repo(s);
    return err < 0 ? err : scope_list_content(s, true, NULL);
}

static int list_mappings(scope *s) {
    int err = scope_repo(s);
    return err < 0 ? err : scope_list_content(s, false, NULL);
}

/* Answers the concept or mapping params[4] of a source. */
static int scope_get_content(scope *s, bool concept) {
    int err = scope_repo(s);
    if (err < 0)
        return err;
    if (s->repo.is_collection)
        return scope_fail(s, BI_ENOTFOUND, "a collection holds references: see %sreferences/",
                          s->repo_url);
    const char *args[] = {s->repo_id, s->req->params[4]};
    char message[URLS_MAX + 320];
    snprintf(message, sizeof message, "no %s '%.255s' in %s", concept ? "concept" : "mapping",
             s->req->params[4], s->repo_url);
    return scope_send_one(s, concept ? DB_ONE_CONCEPT : DB_ONE_MAPPING, args, message);
}

static int get_concept(scope *s) { return scope_get_content(s, true); }
static int get_mapping(scope *s) { return scope_get_content(s, false); }

static int list_concept_versions(scope *s) {
    int err = scope_repo(s);
    if (err < 0)
        return err;
    const char *args[] = {s->repo_id, s->req->params[4]};
    char *json;
    if ((err = db_reads_one(s->conn, DB_ONE_CONCEPT, args, &json, NULL, 0)) == BI_ENOTFOUND ||
        s->repo.is_collection)
        return scope_fail(s, BI_ENOTFOUND, "no concept '%.255s' in %s", s->req->params[4],
                          s->repo_url);
    if (err < 0)
        return err;
    free(json);
    return scope_send_list(s, DB_LIST_CONCEPT_VERSIONS, args);
}

static int list_references(scope *s) {
    int err = scope_repo(s);
    if (err < 0)
        return err;
    if (!s->repo.is_collection)
        return scope_fail(s, BI_ENOTFOUND, "%s is a source: it has no references", s->repo_url);
    const char *args[] = {s->repo_id};
    return scope_send_list(s, DB_LIST_REFERENCES, args);
}

/* Resolves version params[4] of the repository: "HEAD" is the live content (seq NULL). When
 * json is not NULL it gets the version's JSON. */
static int scope_version(scope *s, char *seq, size_t seq_len, bool *out_head, char **json) {
    int err = scope_repo(s);
    if (err < 0)
        return err;
    *out_head = strcmp(s->req->params[4], "HEAD") == 0;
    if (*out_head)
        return json ? db_reads_one(s->conn, DB_ONE_REPO, (const char *[]){s->repo_id}, json, NULL, 0)
                    : 0;
    const char *args[] = {s->repo_id, s->req->params[4]};
    char *doc;
    err = db_reads_one(s->conn, DB_ONE_REPO_VERSION, args, &doc, seq, seq_len);
    if (err == BI_ENOTFOUND)
        return scope_fail(s, err, "no version '%.64s' of %s", s->req->params[4], s->repo_url);
    if (err < 0)
        return err;
    if (json != NULL)
        *json = doc;
    else
        free(doc);
    return 0;
}

static int get_repo_version(scope *s) {
    char seq[24];
    bool head;
    char *json;
    int err = scope_version(s, seq, sizeof seq, &head, &json);
    if (err < 0)
        return err;
    http_send_json_text(s->req, 200, NULL, json, strlen(json));
    free(json);
    return 0;
}

static int scope_list_version_content(scope *s, bool concepts) {
    char seq[24];
    bool head;
    int err = scope_version(s, seq, sizeof seq, &head, NULL);
    return err < 0 ? err : scope_list_content(s, concepts, head ? NULL : seq);
}

static int list_version_concepts(scope *s) { return scope_list_version_content(s, true); }
static int list_version_mappings(scope *s) { return scope_list_version_content(s, false); }

/* ---- the handlers ------------------------------------------------------------------------ */

#define RESOURCES_HANDLER(name, fn)                                                                \
    int resources_api_##name(http_req *req) { return resources_run(req, fn); }

RESOURCES_HANDLER(list_orgs, list_orgs)
RESOURCES_HANDLER(get_org, get_org)
RESOURCES_HANDLER(list_members, list_members)
RESOURCES_HANDLER(add_member, add_member)
RESOURCES_HANDLER(remove_member, remove_member)
RESOURCES_HANDLER(get_user, get_user)
RESOURCES_HANDLER(list_repos, list_repos)
RESOURCES_HANDLER(get_repo, get_repo)
RESOURCES_HANDLER(list_repo_versions, list_repo_versions)
RESOURCES_HANDLER(list_concepts, list_concepts)
RESOURCES_HANDLER(get_concept, get_concept)
RESOURCES_HANDLER(list_concept_versions, list_concept_versions)
RESOURCES_HANDLER(list_mappings, list_mappings)
RESOURCES_HANDLER(get_mapping, get_mapping)
RESOURCES_HANDLER(list_references, list_references)
RESOURCES_HANDLER(get_repo_version, get_repo_version)
RESOURCES_HANDLER(list_version_concepts, list_version_concepts)
RESOURCES_HANDLER(list_version_mappings, list_version_mappings)
