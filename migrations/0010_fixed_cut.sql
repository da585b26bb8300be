-- Everything that decides how a task's lines are cut into batches is stored with the task
-- (importer/plan.h): a task resumed on a node with other --workers, or by another build, cuts
-- exactly the batches its committed ones were cut from. Before this, whether a wave ran in
-- parallel depended on the node that ran it, and a task finished by a node of another
-- --workers could skip lines and repeat others.
-- partitions 0: every batch serial; batch_bytes: a batch also ends at this much text;
-- parallel: OCL's parameter (1: lines strictly in file order).
ALTER TABLE import_tasks
    ADD COLUMN partitions integer NOT NULL DEFAULT 0 CHECK (partitions BETWEEN 0 AND 16),
    ADD COLUMN batch_bytes integer NOT NULL DEFAULT 16777216 CHECK (batch_bytes > 0),
    ADD COLUMN parallel integer NOT NULL DEFAULT 5 CHECK (parallel BETWEEN 1 AND 100);

-- Tasks queued before: cut as a node with more than one worker cut them (the default).
UPDATE import_tasks SET partitions = 4 WHERE NOT named AND NOT test_mode;
