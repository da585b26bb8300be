-- The nodes of the cluster, as their keepers report them every heartbeat (GET /manage/nodes/,
-- the metrics' heartbeat ages). A node that stops says so; one that died goes silent, and is
-- forgotten a day after its last heartbeat.
CREATE TABLE nodes (
    name         text PRIMARY KEY,            -- host:pid
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    stopped_at   timestamptz,
    workers      integer NOT NULL,
    busy         integer NOT NULL DEFAULT 0,  -- workers running a task at the last heartbeat
    version      text NOT NULL,
    commit       text NOT NULL,               -- of the build ("unknown" outside a git checkout)
    schema       text NOT NULL
);
