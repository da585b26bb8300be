-- A task reaching SUCCESS, FAILURE or REVOKED, by whatever path (a worker, a cancel of a
-- pending task), wakes the long-polls of every node when it commits.
CREATE FUNCTION import_task_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bulkimport_done', NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER import_task_done AFTER UPDATE OF state ON import_tasks FOR EACH ROW
    WHEN (NEW.state IN ('SUCCESS', 'FAILURE', 'REVOKED') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION import_task_done();
