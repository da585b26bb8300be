-- User administration: disabled users, named tokens beside the one each user had, and an audit
-- log of root's actions (README "Users and tokens").
--
-- A disabled user's tokens answer 401, its waiting tasks are cancelled and its running ones stop
-- at their next batch; it is hidden from other users' lists, and what it owns stays readable as
-- its access allows. Its row stays (tasks, feeds and resources refer to it) until root purges it.
ALTER TABLE users ADD COLUMN disabled_at timestamptz,
                  ADD COLUMN token_last_used_at timestamptz; -- of the token in users (named "default")

-- More tokens per user, each named; read_only ones may only read (GET). users.token_sha256 stays
-- the user's first token (named "default" in the lists), so every older client keeps working.
CREATE TABLE user_tokens (
    id           bigserial PRIMARY KEY,
    username     text NOT NULL REFERENCES users ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9._@ -]{1,64}$' AND name <> 'default'),
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    read_only    boolean NOT NULL DEFAULT false,
    expires_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_used_at timestamptz,
    UNIQUE (username, name)
);

-- What root did to users, tokens and other users' tasks. Kept when the user is purged.
CREATE TABLE audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor  text NOT NULL,
    action text NOT NULL,  -- user.create, user.update, user.disable, user.delete, user.purge,
                           -- token.issue, token.create, token.revoke, task.cancel, task.resume
    target text NOT NULL,
    detail jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
