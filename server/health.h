/* health.h — liveness and readiness probes, served without a token. */
#ifndef BI_SERVER_HEALTH_H
#define BI_SERVER_HEALTH_H

#include "http.h"

/* GET /healthz: 200 {"status":"ok"} while the process serves HTTP. */
int health_get_healthz(http_req *req);

/* GET /readyz: 200 {"status":"ready"} when the database answers and every migration is
 * applied, else 503 {"code":"unavailable",...}. */
int health_get_readyz(http_req *req);

#endif
