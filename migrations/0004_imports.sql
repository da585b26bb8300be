-- Import tasks, their uploaded lines and every line's result.
--
-- A task and its lines are inserted in one transaction (nothing half-uploaded). A worker claims
-- a task by raising its lease; every batch commits its resource writes, its results and the
-- task's checkpoint and counters in one transaction, fenced by that lease.

CREATE TABLE import_tasks (
    id               text PRIMARY KEY,  -- <uuid4>-<username>~<queue>
    username         text NOT NULL REFERENCES users ON DELETE CASCADE,
    queue            text NOT NULL,     -- 'default', 'priority' or the name of a named queue
    named            boolean NOT NULL,  -- a named queue runs one task at a time, in order
    state            text NOT NULL DEFAULT 'PENDING'
                     CHECK (state IN ('PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED')),
    update_if_exists boolean NOT NULL,
    test_mode        boolean NOT NULL,
    content_sha256   bytea,             -- set when the upload completes
    total            integer NOT NULL DEFAULT 0,
    processed        integer NOT NULL DEFAULT 0,
    created          integer NOT NULL DEFAULT 0,
    updated          integer NOT NULL DEFAULT 0,
    deleted          integer NOT NULL DEFAULT 0,
    skipped          integer NOT NULL DEFAULT 0,
    failed           integer NOT NULL DEFAULT 0,
    checkpoint       integer NOT NULL DEFAULT 0, -- lines 1..checkpoint have their results
    lease            bigint NOT NULL DEFAULT 0,
    worker           text,
    heartbeat_at     timestamptz,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX import_tasks_pending ON import_tasks (created_at) WHERE state = 'PENDING';
CREATE INDEX import_tasks_by_user ON import_tasks (username, created_at DESC);
CREATE INDEX import_tasks_by_queue ON import_tasks (username, queue, created_at)
    WHERE state IN ('PENDING', 'STARTED');
-- The same content with the same options, queued twice by one user, is refused (409).
CREATE UNIQUE INDEX import_tasks_no_duplicate
    ON import_tasks (username, queue, content_sha256, update_if_exists, test_mode)
    WHERE state IN ('PENDING', 'STARTED');

-- The upload: one row per non-blank line. A line that failed while streaming keeps no text and
-- its error code (invalid_utf8, nul_byte, line_too_long).
CREATE TABLE import_lines (
    task_id  text NOT NULL REFERENCES import_tasks ON DELETE CASCADE,
    line_no  integer NOT NULL,
    text     text,
    error    text,
    PRIMARY KEY (task_id, line_no)
);

-- One row per line with a result (OCL.md "Results"); status 0 is OCL's "skip".
CREATE TABLE import_results (
    task_id    text NOT NULL REFERENCES import_tasks ON DELETE CASCADE,
    line_no    integer NOT NULL,
    root       text NOT NULL,
    action     text NOT NULL,
    status     integer NOT NULL,
    obj_type   text,
    obj_url    text,
    repo_url   text,
    owner_url  text,
    message    text NOT NULL,
    error_code text,
    PRIMARY KEY (task_id, line_no)
);
