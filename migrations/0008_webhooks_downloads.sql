-- Imports from a URL, completion webhooks and idempotent uploads.

-- A task may name a file to download instead of carrying an upload: its lines arrive when a
-- worker has fetched it (fetched = true), in the same transaction as the new total.
ALTER TABLE import_tasks ADD COLUMN file_url text;
ALTER TABLE import_tasks ADD COLUMN fetched boolean NOT NULL DEFAULT true;
-- Where to POST the task's status when it ends.
ALTER TABLE import_tasks ADD COLUMN callback_url text;

-- Each user's key for signing webhooks (HMAC-SHA256); made on first use, rotated on request.
ALTER TABLE users ADD COLUMN webhook_secret text;

-- One delivery per task ending. The body is fixed at the first attempt, so every retry sends
-- the same bytes. A node takes a delivery by moving due_at past its attempt (a lease): a node
-- that dies mid-attempt leaves it due again soon, and no transaction stays open over HTTP.
CREATE TABLE webhook_deliveries (
    id           bigserial PRIMARY KEY,
    task_id      text NOT NULL REFERENCES import_tasks ON DELETE CASCADE,
    url          text NOT NULL,
    body         text,
    attempts     integer NOT NULL DEFAULT 0,
    due_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_status  integer,              -- the receiver's last HTTP status, NULL: no answer
    last_error   text,
    delivered_at timestamptz,
    gave_up_at   timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX webhook_deliveries_by_task ON webhook_deliveries (task_id);

-- A repeated Idempotency-Key from the same user within 24 hours names the task it made.
CREATE TABLE idempotency_keys (
    username   text NOT NULL,
    key        text NOT NULL,
    task_id    text NOT NULL REFERENCES import_tasks ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (username, key)
);
CREATE INDEX idempotency_keys_by_task ON idempotency_keys (task_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A task ending also queues its webhook, in the same transaction: nothing is lost between
-- the ending and the delivery.
CREATE OR REPLACE FUNCTION import_task_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.callback_url IS NOT NULL THEN
        INSERT INTO webhook_deliveries (task_id, url) VALUES (NEW.id, NEW.callback_url);
    END IF;
    PERFORM pg_notify('bulkimport_done', NEW.id);
    RETURN NULL;
END $$;
