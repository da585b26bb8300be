/* about_api.h — what OCL's web app asks a server before anything else, answered as oclapi2
 * does so that it starts cleanly against bulkimportd. Served without a token.
 */
#ifndef BI_SERVER_ABOUT_API_H
#define BI_SERVER_ABOUT_API_H

#include "http.h"

/* GET /version/: the server's version as a JSON string ("0.1.0"), as oclapi2 answers. */
int about_api_get_version(http_req *req);

/* GET /toggles/: oclapi2's feature toggles, an object of name → boolean; bulkimportd has none
 * of OCL's features to toggle, so {}. */
int about_api_get_toggles(http_req *req);

#endif
