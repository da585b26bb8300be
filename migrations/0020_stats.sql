-- Statistics that add up across imports (GET /manage/stats/): daily roll-ups written when a task
-- ends, by whatever path (a worker, a cancel, a disabled user), in the same transaction. They
-- refer to nothing, so they survive the retention purge and a user's purge.
CREATE TABLE stats_lines (
    day        date NOT NULL,
    username   text NOT NULL,
    queue      text NOT NULL,
    repository text NOT NULL,  -- the lines' repository URL, '' for lines of none
    action     text NOT NULL,
    status     integer NOT NULL,
    lines      bigint NOT NULL,
    PRIMARY KEY (day, username, queue, repository, action, status)
);
CREATE TABLE stats_tasks (
    day      date NOT NULL,
    username text NOT NULL,
    queue    text NOT NULL,
    state    text NOT NULL,
    tasks    bigint NOT NULL,
    bytes    bigint NOT NULL,  -- of the lines stored
    PRIMARY KEY (day, username, queue, state)
);

-- What each task's endings have rolled up so far: a task resumed after a cancel ends again, and
-- only the lines it applied since count then.
CREATE TABLE stats_task_counted (
    task_id    text NOT NULL REFERENCES import_tasks ON DELETE CASCADE,
    repository text NOT NULL,
    action     text NOT NULL,
    status     integer NOT NULL,
    lines      bigint NOT NULL,
    PRIMARY KEY (task_id, repository, action, status)
);

CREATE FUNCTION import_task_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today date := (coalesce(NEW.finished_at, clock_timestamp()) AT TIME ZONE 'UTC')::date;
    first boolean := NOT EXISTS (SELECT 1 FROM stats_task_counted WHERE task_id = NEW.id);
BEGIN
    WITH now_ AS (SELECT coalesce(r.repo_url, '') AS repository, r.action, r.status, count(*) AS lines
                  FROM import_results r WHERE r.task_id = NEW.id
                  GROUP BY coalesce(r.repo_url, ''), r.action, r.status),
         delta AS (SELECT n.repository, n.action, n.status, n.lines - coalesce(c.lines, 0) AS lines
                   FROM now_ n LEFT JOIN stats_task_counted c ON c.task_id = NEW.id
                   AND c.repository = n.repository AND c.action = n.action AND c.status = n.status),
         counted AS (INSERT INTO stats_task_counted SELECT NEW.id, repository, action, status, lines
                     FROM now_ ON CONFLICT (task_id, repository, action, status)
                     DO UPDATE SET lines = EXCLUDED.lines)
    INSERT INTO stats_lines
    SELECT today, NEW.username, NEW.queue, repository, action, status, lines FROM delta
    WHERE lines > 0
    ON CONFLICT (day, username, queue, repository, action, status)
    DO UPDATE SET lines = stats_lines.lines + EXCLUDED.lines;
    INSERT INTO stats_task_counted VALUES (NEW.id, '', '', -1, 0)  -- it has ended once
    ON CONFLICT DO NOTHING;
    INSERT INTO stats_tasks
    SELECT today, NEW.username, NEW.queue, NEW.state, 1,
           CASE WHEN first THEN coalesce((SELECT sum(octet_length(c.body)) FROM import_chunks c
                                          WHERE c.task_id = NEW.id), 0) ELSE 0 END
    ON CONFLICT (day, username, queue, state)
    DO UPDATE SET tasks = stats_tasks.tasks + 1, bytes = stats_tasks.bytes + EXCLUDED.bytes;
    RETURN NULL;
END $$;
CREATE TRIGGER import_task_stats AFTER UPDATE OF state ON import_tasks FOR EACH ROW
    WHEN (NEW.state IN ('SUCCESS', 'FAILURE', 'REVOKED') AND OLD.state IS DISTINCT FROM NEW.state
          AND NOT NEW.test_mode)
    EXECUTE FUNCTION import_task_stats();
