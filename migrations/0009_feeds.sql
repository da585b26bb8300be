-- Feeds: standing imports from a URL on a schedule, their runs, and the phases of a task.

-- A feed belongs to its user; its name is unique among that user's feeds. The validators
-- (etag, last_modified) and the cursor are those of the last run whose task ended in SUCCESS:
-- a failed or cancelled run leaves them, so its data is fetched again.
CREATE TABLE feeds (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username         text NOT NULL REFERENCES users ON DELETE CASCADE,
    name             text NOT NULL,
    url              text NOT NULL,
    schedule         text NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('full', 'incremental')),
    prune            boolean NOT NULL,
    prune_on_errors  boolean NOT NULL,
    queue            text,               -- NULL: the standard queue
    update_if_exists boolean NOT NULL,
    batch_size       integer CHECK (batch_size BETWEEN 1 AND 100000), -- NULL: the server's
    cursor_param     text,
    cursor_field     text,
    headers          jsonb NOT NULL DEFAULT '{}', -- sent with each fetch, never shown
    callback_url     text,               -- the runs' tasks' webhook
    paused           boolean NOT NULL DEFAULT false,
    cursor           text,
    etag             text,
    last_modified    text,
    next_run_at      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (username, name)
);
CREATE INDEX feeds_due ON feeds (next_run_at) WHERE NOT paused;

-- One row per run: FETCHING while the file downloads, then UNCHANGED or FAILED (no task), or
-- the state of the run's task, copied with its counts when the task ends (so the history
-- outlives the task's retention).
CREATE TABLE feed_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id       bigint NOT NULL REFERENCES feeds ON DELETE CASCADE,
    trigger       text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    state         text NOT NULL DEFAULT 'FETCHING',
    task_id       text,
    url           text NOT NULL,  -- as fetched, with the cursor
    http_status   integer,
    bytes         bigint,
    lines         integer,
    etag          text,
    last_modified text,
    next_cursor   text,
    processed     integer,
    created       integer,
    updated       integer,
    deleted       integer,
    skipped       integer,
    failed        integer,
    pruned        integer,
    error         text,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    fetched_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX feed_runs_by_feed ON feed_runs (feed_id, id DESC);

-- A feed's run is an ordinary task that knows its run; it may prune after its import.
ALTER TABLE import_tasks
    ADD COLUMN feed_run_id bigint REFERENCES feed_runs ON DELETE SET NULL,
    ADD COLUMN prune boolean NOT NULL DEFAULT false,
    ADD COLUMN prune_on_errors boolean NOT NULL DEFAULT false,
    ADD COLUMN phase text NOT NULL DEFAULT 'import' CHECK (phase IN ('fetch', 'import', 'prune'));
CREATE INDEX import_tasks_by_feed_run ON import_tasks (feed_run_id) WHERE feed_run_id IS NOT NULL;
UPDATE import_tasks SET phase = 'fetch' WHERE NOT fetched;

-- Prune batches: their results have no line (first_line is negative: -1, -2, ...) and count
-- in pruned, not in processed.
ALTER TABLE import_batches ADD COLUMN pruned integer NOT NULL DEFAULT 0;

-- A task ending also closes its feed run, and a SUCCESS moves the feed's cursor and validators
-- on: all in the transaction that ends the task.
CREATE OR REPLACE FUNCTION import_task_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.callback_url IS NOT NULL THEN
        INSERT INTO webhook_deliveries (task_id, url) VALUES (NEW.id, NEW.callback_url);
    END IF;
    IF NEW.feed_run_id IS NOT NULL THEN
        UPDATE feed_runs r SET state = NEW.state, task_id = NEW.id, finished_at = NEW.finished_at,
               error = NEW.error, processed = b.processed, created = b.created,
               updated = b.updated, deleted = b.deleted, skipped = b.skipped, failed = b.failed,
               pruned = b.pruned
        FROM (SELECT coalesce(sum(processed), 0) AS processed, coalesce(sum(created), 0) AS created,
                     coalesce(sum(updated), 0) AS updated, coalesce(sum(deleted), 0) AS deleted,
                     coalesce(sum(skipped), 0) AS skipped, coalesce(sum(failed), 0) AS failed,
                     coalesce(sum(pruned), 0) AS pruned
              FROM import_batches WHERE task_id = NEW.id) b
        WHERE r.id = NEW.feed_run_id;
        IF NEW.state = 'SUCCESS' THEN
            UPDATE feeds f SET cursor = coalesce(r.next_cursor, f.cursor), etag = r.etag,
                   last_modified = r.last_modified
            FROM feed_runs r WHERE r.id = NEW.feed_run_id AND f.id = r.feed_id;
        END IF;
    END IF;
    PERFORM pg_notify('bulkimport_done', NEW.id);
    RETURN NULL;
END $$;
