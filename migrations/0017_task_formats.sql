-- How a task's file is read: its format ('' detects it from the name and the first bytes) and
-- an OCL export's new owner and version (NULL: the export's own). An upload is converted as it
-- arrives; a file_url task's download is converted when the task starts, from these.
ALTER TABLE import_tasks
    ADD COLUMN format text NOT NULL DEFAULT '' CHECK (format IN ('', 'jsonl', 'csv', 'zip', 'export')),
    ADD COLUMN export_owner text,
    ADD COLUMN export_owner_type text,
    ADD COLUMN export_version text;

-- Directives from the data: a line whose field action_field holds one of delete_values (a JSON
-- array of strings, compared with the field's value as text) is DELETE_IF_EXISTS, unless it
-- has its own __action. Given to an import, or to a feed for each of its runs' tasks.
ALTER TABLE import_tasks
    ADD COLUMN action_field text,
    ADD COLUMN delete_values jsonb;
ALTER TABLE feeds
    ADD COLUMN action_field text,
    ADD COLUMN delete_values jsonb;

-- Child tasks: an import line {"type":"Import","file_url":…} queues a task of the same user,
-- whose parent it names; depth counts the levels (at most 3). A parent's cancel reaches the
-- children that have not ended.
ALTER TABLE import_tasks
    ADD COLUMN parent_id text REFERENCES import_tasks ON DELETE SET NULL,
    ADD COLUMN depth integer NOT NULL DEFAULT 0 CHECK (depth BETWEEN 0 AND 3);
CREATE INDEX import_tasks_children ON import_tasks (parent_id, created_at) WHERE parent_id IS NOT NULL;
