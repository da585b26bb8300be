-- Cancel requests, and the indexes that heartbeats, rescue and retention use.
ALTER TABLE import_tasks ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
CREATE INDEX import_tasks_started ON import_tasks (heartbeat_at) WHERE state = 'STARTED';
CREATE INDEX import_tasks_finished ON import_tasks (finished_at)
    WHERE state IN ('SUCCESS', 'FAILURE', 'REVOKED');
