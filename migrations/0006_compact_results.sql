-- Results stored compactly, and batches that may run in parallel within a task.
--
-- One row per committed batch holds its lines' results as parallel arrays and its counts: a
-- row per line cost more to write than the import itself. The row is also the batch's
-- checkpoint: a batch has committed exactly when its row exists, and its primary key refuses
-- a second commit of the same batch. The view import_results gives one row per line again,
-- for the readers.
CREATE TABLE import_batches (
    task_id    text NOT NULL,
    first_line integer NOT NULL,  -- the batch's lowest line number names it
    processed  integer NOT NULL,
    created    integer NOT NULL,
    updated    integer NOT NULL,
    deleted    integer NOT NULL,
    skipped    integer NOT NULL,
    failed     integer NOT NULL,
    line_no    integer[] NOT NULL,
    root       text[] NOT NULL,
    action     text[] NOT NULL,
    status     integer[] NOT NULL,
    obj_type   text[] NOT NULL,
    obj_url    text[] NOT NULL,
    repo_url   text[] NOT NULL,
    owner_url  text[] NOT NULL,
    message    text[] NOT NULL,
    error_code text[] NOT NULL,
    -- The batch's (action, status) groups with their size and first line: a summary reads
    -- these few instead of every line.
    group_action text[] NOT NULL,
    group_status integer[] NOT NULL,
    group_count  integer[] NOT NULL,
    group_first  integer[] NOT NULL,
    PRIMARY KEY (task_id, first_line)
);

-- Each finished task's per-line results become one batch.
INSERT INTO import_batches
WITH g AS (SELECT task_id, array_agg(action ORDER BY first) AS action,
                  array_agg(status ORDER BY first) AS status, array_agg(n ORDER BY first) AS n,
                  array_agg(first ORDER BY first) AS first
           FROM (SELECT task_id, action, status, count(*) AS n, min(line_no) AS first
                 FROM import_results GROUP BY task_id, action, status) s
           GROUP BY task_id),
     r AS (SELECT task_id, min(line_no) AS first_line, count(*) AS processed,
                  count(*) FILTER (WHERE action = 'NEW' AND status > 0 AND status < 400) AS created,
                  count(*) FILTER (WHERE action = 'UPDATE' AND status > 0 AND status < 400) AS updated,
                  count(*) FILTER (WHERE action = 'DELETE' AND status > 0 AND status < 400) AS deleted,
                  count(*) FILTER (WHERE status = 0) AS skipped,
                  count(*) FILTER (WHERE status >= 400) AS failed,
                  array_agg(line_no ORDER BY line_no) AS line_no, array_agg(root ORDER BY line_no) AS root,
                  array_agg(action ORDER BY line_no) AS action, array_agg(status ORDER BY line_no) AS status,
                  array_agg(obj_type ORDER BY line_no) AS obj_type, array_agg(obj_url ORDER BY line_no) AS obj_url,
                  array_agg(repo_url ORDER BY line_no) AS repo_url,
                  array_agg(owner_url ORDER BY line_no) AS owner_url,
                  array_agg(message ORDER BY line_no) AS message,
                  array_agg(error_code ORDER BY line_no) AS error_code
           FROM import_results GROUP BY task_id)
SELECT r.*, g.action, g.status, g.n, g.first FROM r JOIN g USING (task_id);
DROP TABLE import_results;

CREATE VIEW import_results AS
SELECT b.task_id, r.line_no, r.root, r.action, r.status, r.obj_type, r.obj_url, r.repo_url,
       r.owner_url, r.message, r.error_code
FROM import_batches b
CROSS JOIN LATERAL unnest(b.line_no, b.root, b.action, b.status, b.obj_type, b.obj_url,
                          b.repo_url, b.owner_url, b.message, b.error_code)
    AS r(line_no, root, action, status, obj_type, obj_url, repo_url, owner_url, message,
         error_code);

-- A foreign key check per uploaded line cost a fifth of the upload; the task's lines and
-- batches are deleted with it by the retention purge instead (db/tasks.c).
ALTER TABLE import_lines DROP CONSTRAINT import_lines_task_id_fkey;

-- Counters now live in the batches (summed on read), so parallel batches never queue on the
-- task's row; checkpoint means "every batch up to this line has committed". The batch size is
-- fixed when the task is created, so a resumed task cuts exactly the same batches.
ALTER TABLE import_tasks DROP COLUMN processed, DROP COLUMN created, DROP COLUMN updated,
    DROP COLUMN deleted, DROP COLUMN skipped, DROP COLUMN failed,
    ADD COLUMN batch_size integer NOT NULL DEFAULT 1000 CHECK (batch_size BETWEEN 1 AND 100000);
