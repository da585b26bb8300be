/* routes.c — the table of contents of the HTTP API. Every endpoint is one row; openapi/
 * describes the same set (a unit test checks both ways). The first matching row wins, so
 * literal segments come before parameters (".../versions/" before ".../:version/"). */
#include "health.h"
#include "http.h"
#include "resources_api.h"
#include "users_api.h"

#define OWNER "/:owner_type(orgs|users)/:owner"
#define REPO OWNER "/:repo_type(sources|collections)/:repo"

static const http_route routes[] = {
    {"GET", "/healthz", health_get_healthz, true},
    {"GET", "/readyz", health_get_readyz, true},
    {"GET", "/user/", users_api_get_me, false},
    {"POST", "/user/token/", users_api_rotate_own_token, false},
    {"POST", "/users/", users_api_create, false},
    {"POST", "/users/:username/token/", users_api_issue_token, false},
    {"GET", "/users/:username/", resources_api_get_user, false},
    {"GET", "/orgs/", resources_api_list_orgs, false},
    {"GET", "/orgs/:org/", resources_api_get_org, false},
    {"GET", "/orgs/:org/members/", resources_api_list_members, false},
    {"PUT", "/orgs/:org/members/:username/", resources_api_add_member, false},
    {"DELETE", "/orgs/:org/members/:username/", resources_api_remove_member, false},
    {"GET", OWNER "/:repo_type(sources|collections)/", resources_api_list_repos, false},
    {"GET", REPO "/", resources_api_get_repo, false},
    {"GET", REPO "/versions/", resources_api_list_repo_versions, false},
    {"GET", REPO "/concepts/", resources_api_list_concepts, false},
    {"GET", REPO "/mappings/", resources_api_list_mappings, false},
    {"GET", REPO "/references/", resources_api_list_references, false},
    {"GET", REPO "/concepts/:concept/", resources_api_get_concept, false},
    {"GET", REPO "/concepts/:concept/versions/", resources_api_list_concept_versions, false},
    {"GET", REPO "/mappings/:mapping/", resources_api_get_mapping, false},
    {"GET", REPO "/:version/", resources_api_get_repo_version, false},
    {"GET", REPO "/:version/concepts/", resources_api_list_version_concepts, false},
    {"GET", REPO "/:version/mappings/", resources_api_list_version_mappings, false},
};

const http_route *http_routes(size_t *out_n) {
    *out_n = sizeof routes / sizeof routes[0];
    return routes;
}
