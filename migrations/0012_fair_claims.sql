-- The standard queue claims round-robin between users: the next task is the oldest of the
-- user whose latest start is the oldest (a user who has none comes first), so one user's 50
-- queued tasks do not hold back another user's one. This index answers "latest start of this
-- user" with one backward index step.
CREATE INDEX import_tasks_last_start ON import_tasks (username, started_at DESC NULLS LAST);
