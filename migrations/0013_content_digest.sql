-- Unchanged lines almost free: each concept and mapping keeps a digest of the exact JSON text
-- its current content was written from (the first 128 bits of its SHA-256, as a uuid). A line whose text is the same (and whose retired flag
-- is) is found unchanged by the lookup alone, without the update statement that would compare
-- the parsed documents and write nothing. Rows written before this migration have none and take
-- the comparison, as every line did before.
ALTER TABLE concepts ADD COLUMN data_digest uuid;
ALTER TABLE mappings ADD COLUMN data_digest uuid;

-- A digest vouches only for the data it was written with. A writer that changes the data and
-- not the digest (a node of an older version still running during a rolling upgrade, a hand-made
-- UPDATE) clears it, so the row takes the full comparison again instead of being taken for
-- unchanged.
CREATE FUNCTION content_digest_cleared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.data_digest := NULL;
    RETURN NEW;
END $$;

CREATE TRIGGER concepts_digest_follows_data BEFORE UPDATE ON concepts FOR EACH ROW
    WHEN (NEW.data_digest IS NOT DISTINCT FROM OLD.data_digest AND NEW.data IS DISTINCT FROM OLD.data)
    EXECUTE FUNCTION content_digest_cleared();
CREATE TRIGGER mappings_digest_follows_data BEFORE UPDATE ON mappings FOR EACH ROW
    WHEN (NEW.data_digest IS NOT DISTINCT FROM OLD.data_digest AND NEW.data IS DISTINCT FROM OLD.data)
    EXECUTE FUNCTION content_digest_cleared();
