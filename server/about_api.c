#include "about_api.h"

#include <string.h>

int about_api_get_version(http_req *req) {
    static const char version[] = "\"" BI_VERSION "\"";
    return http_send_json_text(req, 200, NULL, version, strlen(version));
}

int about_api_get_toggles(http_req *req) { return http_send_json_text(req, 200, NULL, "{}", 2); }
