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
