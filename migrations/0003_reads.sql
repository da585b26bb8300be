-- What the read API returns, as SQL functions so that every endpoint renders a resource the same
-- way and a repository version reads its frozen content (see 0002 for change seqs).

-- OCL's time format: ISO-8601 UTC with exactly six fractional digits.
CREATE FUNCTION ocl_time(t timestamptz) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- A resource as the API shows it: the stored OCL JSON with the server's fields on top
-- ("retired" only for resources that can retire: pass NULL otherwise).
CREATE FUNCTION ocl_json(data jsonb, id text, url text, retired boolean, version integer,
                         created_by text, created_at timestamptz, updated_by text,
                         updated_at timestamptz) RETURNS jsonb LANGUAGE sql STABLE AS
$$ SELECT data || jsonb_build_object('id', id, 'url', url, 'version', version,
                                     'created_by', created_by, 'created_at', ocl_time(created_at),
                                     'updated_by', updated_by, 'updated_at', ocl_time(updated_at))
               || CASE WHEN retired IS NULL THEN '{}'::jsonb
                       ELSE jsonb_build_object('retired', retired) END $$;

-- A repository's concepts and mappings at change seq s (NULL: the live content): the rows whose
-- current version is older than s, and the history rows that were current at s.
CREATE FUNCTION concepts_at(repo bigint, s bigint)
RETURNS TABLE (id bigint, mnemonic text, retired boolean, doc jsonb) LANGUAGE sql STABLE AS $$
    SELECT c.id, c.mnemonic, c.retired, ocl_json(c.data, c.mnemonic, c.url, c.retired, c.version,
           c.created_by, c.created_at, c.updated_by, c.updated_at)
    FROM concepts c WHERE c.repo_id = repo AND (s IS NULL OR c.seq <= s)
    UNION ALL
    SELECT c.id, c.mnemonic, v.retired, ocl_json(v.data, c.mnemonic, c.url, v.retired, v.version,
           c.created_by, c.created_at, v.created_by, v.created_at)
    FROM concept_versions v JOIN concepts c ON c.id = v.concept_id
    WHERE s IS NOT NULL AND v.repo_id = repo AND v.seq <= s AND s < v.seq_to $$;

CREATE FUNCTION mappings_at(repo bigint, s bigint)
RETURNS TABLE (id bigint, mnemonic text, retired boolean, doc jsonb) LANGUAGE sql STABLE AS $$
    SELECT m.id, m.mnemonic, m.retired, ocl_json(m.data, m.mnemonic, m.url, m.retired, m.version,
           m.created_by, m.created_at, m.updated_by, m.updated_at)
    FROM mappings m WHERE m.repo_id = repo AND (s IS NULL OR m.seq <= s)
    UNION ALL
    SELECT m.id, m.mnemonic, v.retired, ocl_json(v.data, m.mnemonic, m.url, v.retired, v.version,
           m.created_by, m.created_at, v.created_by, v.created_at)
    FROM mapping_versions v JOIN mappings m ON m.id = v.mapping_id
    WHERE s IS NOT NULL AND v.repo_id = repo AND v.seq <= s AND s < v.seq_to $$;

-- One concept or mapping as a reference resolves it: version ver when pinned, else its state
-- at s, else its current state.
CREATE FUNCTION concept_state(cid bigint, ver integer, s bigint)
RETURNS TABLE (id bigint, mnemonic text, retired boolean, doc jsonb) LANGUAGE sql STABLE AS $$
    SELECT c.id, c.mnemonic, c.retired, ocl_json(c.data, c.mnemonic, c.url, c.retired, c.version,
           c.created_by, c.created_at, c.updated_by, c.updated_at)
    FROM concepts c WHERE c.id = cid
      AND CASE WHEN ver IS NOT NULL THEN c.version = ver WHEN s IS NOT NULL THEN c.seq <= s
               ELSE true END
    UNION ALL
    SELECT c.id, c.mnemonic, v.retired, ocl_json(v.data, c.mnemonic, c.url, v.retired, v.version,
           c.created_by, c.created_at, v.created_by, v.created_at)
    FROM concept_versions v JOIN concepts c ON c.id = v.concept_id
    WHERE v.concept_id = cid
      AND CASE WHEN ver IS NOT NULL THEN v.version = ver
               WHEN s IS NOT NULL THEN v.seq <= s AND s < v.seq_to ELSE false END $$;

CREATE FUNCTION mapping_state(mid bigint, ver integer, s bigint)
RETURNS TABLE (id bigint, mnemonic text, retired boolean, doc jsonb) LANGUAGE sql STABLE AS $$
    SELECT m.id, m.mnemonic, m.retired, ocl_json(m.data, m.mnemonic, m.url, m.retired, m.version,
           m.created_by, m.created_at, m.updated_by, m.updated_at)
    FROM mappings m WHERE m.id = mid
      AND CASE WHEN ver IS NOT NULL THEN m.version = ver WHEN s IS NOT NULL THEN m.seq <= s
               ELSE true END
    UNION ALL
    SELECT m.id, m.mnemonic, v.retired, ocl_json(v.data, m.mnemonic, m.url, v.retired, v.version,
           m.created_by, m.created_at, v.created_by, v.created_at)
    FROM mapping_versions v JOIN mappings m ON m.id = v.mapping_id
    WHERE v.mapping_id = mid
      AND CASE WHEN ver IS NOT NULL THEN v.version = ver
               WHEN s IS NOT NULL THEN v.seq <= s AND s < v.seq_to ELSE false END $$;

-- A collection's references live at s (NULL: now).
CREATE FUNCTION references_at(repo bigint, s bigint)
RETURNS SETOF collection_references LANGUAGE sql STABLE AS $$
    SELECT * FROM collection_references r
    WHERE r.repo_id = repo
      AND CASE WHEN s IS NULL THEN r.removed_seq IS NULL
               ELSE r.added_seq <= s AND (r.removed_seq IS NULL OR r.removed_seq > s) END $$;

-- What a collection holds at s: each referenced concept or mapping once.
CREATE FUNCTION collection_concepts_at(repo bigint, s bigint)
RETURNS TABLE (id bigint, mnemonic text, retired boolean, doc jsonb) LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (x.id) x.* FROM references_at(repo, s) r
    CROSS JOIN LATERAL concept_state(r.concept_id, r.target_version, s) x
    WHERE r.concept_id IS NOT NULL ORDER BY x.id $$;

CREATE FUNCTION collection_mappings_at(repo bigint, s bigint)
RETURNS TABLE (id bigint, mnemonic text, retired boolean, doc jsonb) LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (x.id) x.* FROM references_at(repo, s) r
    CROSS JOIN LATERAL mapping_state(r.mapping_id, r.target_version, s) x
    WHERE r.mapping_id IS NOT NULL ORDER BY x.id $$;

-- Whether caller may read repository r (root sees everything).
CREATE FUNCTION repo_readable(r repositories, caller text, is_root boolean) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT is_root OR r.public_access <> 'None' OR r.owner_user = caller
        OR EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = r.owner_org_id
                   AND m.username = caller) $$;
