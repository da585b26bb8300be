-- When each batch ran: its transaction's start and the moment its results were recorded, just
-- before its commit. A task's throughput over time, and how many of its batches ran at once
-- (OCL's parallel caps that), read from these. Rows of earlier batches have none. The defaults
-- are set apart from the columns so that adding them rewrites nothing.
ALTER TABLE import_batches ADD COLUMN began_at timestamptz, ADD COLUMN recorded_at timestamptz;
ALTER TABLE import_batches ALTER COLUMN began_at SET DEFAULT now(),
                           ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();
