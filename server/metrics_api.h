/* metrics_api.h — GET /metrics: this node's metrics in Prometheus' text exposition format
 * (README "Operating"), for --metrics-token or root's token.
 *
 * Counters and histograms come from db/metrics.h; the gauges are read at scrape time: this
 * node's workers, pool, waiters, uploads and result streams, whether the database answers, and
 * (on the leader only, so that a sum across nodes counts them once) the cluster's tasks by state
 * and queue and the oldest PENDING task's age per queue.
 */
#ifndef BI_SERVER_METRICS_API_H
#define BI_SERVER_METRICS_API_H

#include "http.h"

int metrics_api_get(http_req *req);

#endif
