-- A task's lines and batches go with it, however the task goes: retention, or its user's purge
-- (a User DELETE line cascades to the user's tasks). They have no foreign key, on purpose (a
-- check per uploaded line cost a fifth of the upload, 0006), so a purged user's lines and
-- batches stayed behind, orphaned. One statement-level trigger deletes them set-wise instead.
DELETE FROM import_lines l WHERE NOT EXISTS (SELECT 1 FROM import_tasks t WHERE t.id = l.task_id);
DELETE FROM import_batches b WHERE NOT EXISTS (SELECT 1 FROM import_tasks t WHERE t.id = b.task_id);

CREATE FUNCTION import_tasks_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM import_lines l USING gone g WHERE l.task_id = g.id;
    DELETE FROM import_batches b USING gone g WHERE b.task_id = g.id;
    RETURN NULL;
END $$;

CREATE TRIGGER import_tasks_gone AFTER DELETE ON import_tasks
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION import_tasks_gone();
