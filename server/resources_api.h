/* resources_api.h — the read API over the resource store, and organization membership.
 *
 * Repository-scoped routes share the shape /:owner_type/:owner/:repo_type/:repo/... where
 * owner_type is "orgs" or "users" and repo_type "sources" or "collections" (anything else is
 * 404). A repository the caller may not read is 404, as if it did not exist. Lists are pages
 * (?page=1&limit=50, limit at most 1000; ?brief=true trims each item to id, url and name) and
 * carry X-Total-Count.
 */
#ifndef BI_SERVER_RESOURCES_API_H
#define BI_SERVER_RESOURCES_API_H

#include "http.h"

int resources_api_list_orgs(http_req *req);
int resources_api_get_org(http_req *req);
int resources_api_list_members(http_req *req);
int resources_api_add_member(http_req *req);
int resources_api_remove_member(http_req *req);
int resources_api_get_user(http_req *req);
int resources_api_list_repos(http_req *req);
int resources_api_get_repo(http_req *req);
int resources_api_list_repo_versions(http_req *req);
int resources_api_list_concepts(http_req *req);
int resources_api_get_concept(http_req *req);
int resources_api_list_concept_versions(http_req *req);
int resources_api_list_mappings(http_req *req);
int resources_api_get_mapping(http_req *req);
int resources_api_list_references(http_req *req);
int resources_api_get_repo_version(http_req *req);
int resources_api_list_version_concepts(http_req *req);
int resources_api_list_version_mappings(http_req *req);

#endif
