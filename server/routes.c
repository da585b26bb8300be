/* routes.c — the table of contents of the HTTP API. Every endpoint is one row; openapi/
 * describes the same set (a unit test checks both ways). The first matching row wins, so
 * literal segments come before parameters (".../versions/" before ".../:version/"). */
#include "about_api.h"
#include "admin_api.h"
#include "console.h"
#include "health.h"
#include "feeds_api.h"
#include "http.h"
#include "imports_api.h"
#include "manage_api.h"
#include "metrics_api.h"
#include "resources_api.h"
#include "task_detail_api.h"
#include "task_events_api.h"
#include "tasks_api.h"
#include "users_api.h"

#define OWNER "/:owner_type(orgs|users)/:owner"
#define REPO OWNER "/:repo_type(sources|collections)/:repo"

static const http_route routes[] = {
    {"GET", "/", console_redirect, HTTP_PUBLIC},
    {"GET", "/console/", console_get_file, HTTP_PUBLIC},
    {"GET", "/console/:file", console_get_file, HTTP_PUBLIC},
    {"GET", "/healthz", health_get_healthz, HTTP_PUBLIC},
    {"GET", "/readyz", health_get_readyz, HTTP_PUBLIC},
    {"GET", "/version/", about_api_get_version, HTTP_PUBLIC},
    {"GET", "/toggles/", about_api_get_toggles, HTTP_PUBLIC},
    {"GET", "/metrics", metrics_api_get, HTTP_PUBLIC}, /* its own token check */
    {"GET", "/user/", users_api_get_me, 0},
    {"POST", "/user/token/", users_api_rotate_own_token, 0},
    {"GET", "/user/webhook-secret/", users_api_get_webhook_secret, 0},
    {"POST", "/user/webhook-secret/", users_api_rotate_webhook_secret, 0},
    {"GET", "/user/tokens/", admin_api_list_tokens, 0},
    {"POST", "/user/tokens/", admin_api_create_token, 0},
    {"DELETE", "/user/tokens/:id/", admin_api_revoke_token, 0},
    {"GET", "/users/", admin_api_list_users, 0},
    {"POST", "/users/", users_api_create, 0},
    {"PATCH", "/users/:username/", admin_api_update_user, 0},
    {"DELETE", "/users/:username/", admin_api_delete_user, 0},
    {"POST", "/users/:username/token/", users_api_issue_token, 0},
    {"POST", "/manage/bulkimport/", imports_api_post, HTTP_OCL},
    {"POST", "/manage/bulkimport/:queue/", imports_api_post, HTTP_OCL},
    {"GET", "/manage/bulkimport/", imports_api_get, HTTP_OCL},
    {"DELETE", "/manage/bulkimport/", imports_api_delete, HTTP_OCL},
    {"GET", "/manage/bulkimport/:queue/", imports_api_get, HTTP_OCL},
    {"DELETE", "/manage/bulkimport/:queue/", imports_api_delete, HTTP_OCL},
    /* oclapi2's deprecated import routes: every form of POST is taken on each (their literal
     * segments come before ":queue/", as in oclapi2, so no queue is named file-url). */
    {"POST", "/importers/bulk-import/file-url/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import/upload/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import/:queue/file-url/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import/:queue/upload/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import-inline/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import-inline/:queue/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import/", imports_api_post, HTTP_OCL},
    {"POST", "/importers/bulk-import/:queue/", imports_api_post, HTTP_OCL},
    {"GET", "/importers/bulk-import/", imports_api_get, HTTP_OCL},
    {"DELETE", "/importers/bulk-import/", imports_api_delete, HTTP_OCL},
    {"GET", "/importers/bulk-import/:queue/", imports_api_get, HTTP_OCL},
    {"DELETE", "/importers/bulk-import/:queue/", imports_api_delete, HTTP_OCL},
    {"GET", "/tasks/", tasks_api_list, 0},
    {"GET", "/tasks/events/", task_events_api_stream, 0},
    {"GET", "/tasks/:task/", tasks_api_get, 0},
    {"GET", "/tasks/:task/results/", task_detail_api_results, 0},
    {"GET", "/tasks/:task/batches/", task_detail_api_batches, 0},
    {"GET", "/tasks/:task/deliveries/", task_detail_api_deliveries, 0},
    {"DELETE", "/tasks/:task/", tasks_api_delete, 0},
    {"GET", "/users/:username/tasks/", tasks_api_list_user, 0},
    {"POST", "/manage/feeds/", feeds_api_create, 0},
    {"GET", "/manage/feeds/", feeds_api_list, 0},
    {"GET", "/manage/feeds/:name/", feeds_api_get, 0},
    {"PATCH", "/manage/feeds/:name/", feeds_api_update, 0},
    {"DELETE", "/manage/feeds/:name/", feeds_api_delete, 0},
    {"POST", "/manage/feeds/:name/run/", feeds_api_run, 0},
    {"POST", "/manage/feeds/:name/pause/", feeds_api_pause_feed, 0},
    {"POST", "/manage/feeds/:name/resume/", feeds_api_resume_feed, 0},
    {"GET", "/manage/feeds/:name/runs/", feeds_api_runs, 0},
    {"GET", "/manage/queues/", manage_api_queues, 0},
    {"GET", "/manage/nodes/", manage_api_nodes, 0},
    {"GET", "/manage/stats/", manage_api_stats, 0},
    {"GET", "/manage/audit/", admin_api_list_audit, 0},
    {"POST", "/importers/bulk-import-parallel-inline/", imports_api_post_inline, HTTP_OCL},
    {"POST", "/importers/bulk-import-parallel-inline/:queue/", imports_api_post_inline, HTTP_OCL},
    {"GET", "/users/:username/", resources_api_get_user, 0},
    {"GET", "/orgs/", resources_api_list_orgs, 0},
    {"GET", "/orgs/:org/", resources_api_get_org, 0},
    {"GET", "/orgs/:org/members/", resources_api_list_members, 0},
    {"PUT", "/orgs/:org/members/:username/", resources_api_add_member, 0},
    {"DELETE", "/orgs/:org/members/:username/", resources_api_remove_member, 0},
    {"GET", OWNER "/:repo_type(sources|collections)/", resources_api_list_repos, 0},
    {"GET", REPO "/", resources_api_get_repo, 0},
    {"GET", REPO "/versions/", resources_api_list_repo_versions, 0},
    {"GET", REPO "/concepts/", resources_api_list_concepts, 0},
    {"GET", REPO "/mappings/", resources_api_list_mappings, 0},
    {"GET", REPO "/references/", resources_api_list_references, 0},
    {"GET", REPO "/concepts/:concept/", resources_api_get_concept, 0},
    {"GET", REPO "/concepts/:concept/versions/", resources_api_list_concept_versions, 0},
    {"GET", REPO "/mappings/:mapping/", resources_api_get_mapping, 0},
    {"GET", REPO "/:version/", resources_api_get_repo_version, 0},
    {"GET", REPO "/:version/concepts/", resources_api_list_version_concepts, 0},
    {"GET", REPO "/:version/mappings/", resources_api_list_version_mappings, 0},
};

const http_route *http_routes(size_t *out_n) {
    *out_n = sizeof routes / sizeof routes[0];
    return routes;
}
