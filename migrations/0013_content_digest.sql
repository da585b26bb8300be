-- Unchanged lines almost free: each concept and mapping keeps the MD5 of the exact JSON text
-- its current content was written from. A line whose text is the same (and whose retired flag
-- is) is found unchanged by the lookup alone, without the update statement that would compare
-- the parsed documents and write nothing. Rows written before this migration have none and take
-- the comparison, as every line did before.
ALTER TABLE concepts ADD COLUMN data_md5 uuid;
ALTER TABLE mappings ADD COLUMN data_md5 uuid;

-- A digest vouches only for the data it was written with. A writer that changes the data and
-- not the digest (a node of an older version still running during a rolling upgrade, a hand-made
-- UPDATE) clears it, so the row takes the full comparison again instead of being taken for
-- unchanged.
CREATE FUNCTION content_digest_cleared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.data_md5 := NULL;
    RETURN NEW;
END $$;

CREATE TRIGGER concepts_digest_follows_data BEFORE UPDATE ON concepts FOR EACH ROW
    WHEN (NEW.data_md5 IS NOT DISTINCT FROM OLD.data_md5 AND NEW.data IS DISTINCT FROM OLD.data)
    EXECUTE FUNCTION content_digest_cleared();
CREATE TRIGGER mappings_digest_follows_data BEFORE UPDATE ON mappings FOR EACH ROW
    WHEN (NEW.data_md5 IS NOT DISTINCT FROM OLD.data_md5 AND NEW.data IS DISTINCT FROM OLD.data)
    EXECUTE FUNCTION content_digest_cleared();
