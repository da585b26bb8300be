-- The upload in chunks: one row per run of up to 256 consecutive lines and about 64 KiB of their
-- text (a longer line has a chunk of its own), instead of one row per line. A row per line
-- cost PostgreSQL a heap tuple and a (task, line) index entry each: storing a 200,000-line file
-- took three times as long as a COPY of its raw lines into an unindexed table (bench/RESULTS.md).
--
-- A chunk holds lines first_line..last_line (a task's lines are numbered 1..total, blank lines
-- take no number). body is their bytes end to end, line k of the chunk (from 1) being
-- body[starts[k] + 1 .. starts[k + 1]]. A line the upload flagged has no bytes and its code
-- in errors[k] (invalid_utf8, nul_byte, line_too_long); errors is NULL when none is.
-- body is stored uncompressed, out of line: compressing it cost more CPU than it saved, and
-- one line's slice of it is then read without the rest (the results' "text" reads so).
CREATE TABLE import_chunks (
    task_id    text NOT NULL,
    first_line integer NOT NULL,
    last_line  integer NOT NULL,
    starts     integer[] NOT NULL,
    errors     text[],
    body       bytea NOT NULL,
    PRIMARY KEY (task_id, last_line)
);
ALTER TABLE import_chunks ALTER COLUMN body SET STORAGE EXTERNAL;

-- The stored uploads, converted: PENDING and STARTED tasks go on from their checkpoints with
-- the same lines; finished ones keep their lines for their results' text and failed lines.
-- Chunks of the conversion hold up to 256 lines and about 64 KiB, as the server cuts them.
WITH l AS (
    SELECT task_id, line_no, (line_no - 1) / 256 AS run, error,
           coalesce(convert_to(text, 'UTF8'), ''::bytea) AS bytes
    FROM import_lines),
ranked AS (  -- a line longer than a chunk: a part of its own (the next line starts past it)
    SELECT *, CASE WHEN octet_length(bytes) > 65536 THEN -line_no
                   ELSE (sum(octet_length(bytes)) OVER w - octet_length(bytes)) / 65536 END AS part
    FROM l WINDOW w AS (PARTITION BY task_id, run ORDER BY line_no)),
placed AS (
    SELECT *, sum(octet_length(bytes)) OVER (PARTITION BY task_id, run, part ORDER BY line_no)
              AS ends
    FROM ranked)
INSERT INTO import_chunks (task_id, first_line, last_line, starts, errors, body)
SELECT task_id, min(line_no), max(line_no), '{0}'::integer[] || array_agg(ends::integer ORDER BY line_no),
       CASE WHEN bool_or(error IS NOT NULL) THEN array_agg(error ORDER BY line_no) END,
       string_agg(bytes, ''::bytea ORDER BY line_no)
FROM placed GROUP BY task_id, run, part;

DROP TABLE import_lines;

CREATE OR REPLACE FUNCTION import_tasks_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM import_chunks c USING gone g WHERE c.task_id = g.id;
    DELETE FROM import_batches b USING gone g WHERE b.task_id = g.id;
    RETURN NULL;
END $$;
