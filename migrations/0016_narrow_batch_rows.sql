-- A batch's row keeps its counters in its heap tuple and its per-line results out of line. A
-- task's counters are summed over its batch rows on every status poll; with the results
-- compressed inline each row took about 2 KB of heap, so a poll of a 5,000,000-line task (5,000
-- batches) read 10 MB (p99 27.5 ms in bench/RESULTS.md). Moved out, a row takes about 350
-- bytes: the sum reads a sixth of it. Rows written before stay as they are.
ALTER TABLE import_batches SET (toast_tuple_target = 128);
