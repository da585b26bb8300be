-- The OCL resource store: organizations and members, repositories (sources and collections),
-- concepts, mappings, collection references, repository versions, and the history of concept
-- and mapping versions.
--
-- Freezing content cheaply: change_seq orders every content change. A concept or mapping row
-- carries the seq of its current version; when it changes, the superseded version moves to
-- *_versions with seq_to set to the seq that replaced it. A repository version records only a
-- seq S: its content is the current rows with seq <= S plus the history rows with
-- seq <= S < seq_to. Creating a version copies nothing. Writers of a repository's content hold a
-- FOR SHARE lock on its row for the transaction; creating a version takes FOR UPDATE before
-- drawing S, so no change with a smaller seq can commit after the version exists.
--
-- Identity: every resource has its canonical URL (importer/urls.c) as a unique key, besides
-- the columns it is made of. The submitted JSON is kept in data (without __ directives).

CREATE SEQUENCE change_seq;

-- Users are resources too (type "User", created by root): a user made by an import has no token
-- until root issues one.
ALTER TABLE users
    ALTER COLUMN token_sha256 DROP NOT NULL,
    ADD COLUMN data       jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN version    integer NOT NULL DEFAULT 1,
    ADD COLUMN created_by text NOT NULL DEFAULT 'root',
    ADD COLUMN updated_by text NOT NULL DEFAULT 'root',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE DOMAIN ocl_name AS text CHECK (VALUE ~ '^[A-Za-z0-9._@-]{1,64}$');
CREATE DOMAIN ocl_access AS text CHECK (VALUE IN ('View', 'Edit', 'None'));

CREATE TABLE organizations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mnemonic      ocl_name NOT NULL UNIQUE,
    url           text NOT NULL UNIQUE,
    public_access ocl_access NOT NULL DEFAULT 'View',
    data          jsonb NOT NULL,
    version       integer NOT NULL DEFAULT 1,
    created_by    text NOT NULL,
    updated_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_members (
    org_id     bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
    username   text NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, username)
);
CREATE INDEX org_members_by_user ON org_members (username);

CREATE TABLE repositories (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_type     text NOT NULL CHECK (repo_type IN ('Source', 'Collection')),
    owner_org_id  bigint REFERENCES organizations ON DELETE CASCADE,
    owner_user    text REFERENCES users ON DELETE CASCADE,
    mnemonic      ocl_name NOT NULL,
    url           text NOT NULL UNIQUE,
    public_access ocl_access NOT NULL DEFAULT 'View',
    data          jsonb NOT NULL,
    version       integer NOT NULL DEFAULT 1,
    created_by    text NOT NULL,
    updated_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((owner_org_id IS NULL) <> (owner_user IS NULL))
);
CREATE INDEX repositories_by_org ON repositories (owner_org_id, repo_type, mnemonic);
CREATE INDEX repositories_by_user ON repositories (owner_user, repo_type, mnemonic);

CREATE TABLE repository_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_id     bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
    mnemonic    ocl_name NOT NULL,
    url         text NOT NULL UNIQUE,
    seq         bigint NOT NULL, -- the content frozen: see above
    data        jsonb NOT NULL,  -- metadata only: description, released, external_id, ...
    version     integer NOT NULL DEFAULT 1,
    created_by  text NOT NULL,
    updated_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo_id, mnemonic)
);

CREATE TABLE concepts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_id     bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
    mnemonic    text NOT NULL CHECK (octet_length(mnemonic) BETWEEN 1 AND 255),
    url         text NOT NULL UNIQUE,
    data        jsonb NOT NULL,
    retired     boolean NOT NULL DEFAULT false,
    version     integer NOT NULL DEFAULT 1,
    seq         bigint NOT NULL,
    created_by  text NOT NULL,
    updated_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo_id, mnemonic)
);
CREATE INDEX concepts_by_repo_seq ON concepts (repo_id, seq);

CREATE TABLE concept_versions (
    concept_id  bigint NOT NULL REFERENCES concepts ON DELETE CASCADE,
    repo_id     bigint NOT NULL,
    version     integer NOT NULL,
    seq         bigint NOT NULL,
    seq_to      bigint NOT NULL,
    data        jsonb NOT NULL,
    retired     boolean NOT NULL,
    created_by  text NOT NULL, -- who made this version
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (concept_id, version)
);
CREATE INDEX concept_versions_by_repo_seq ON concept_versions (repo_id, seq);

CREATE TABLE mappings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_id         bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
    mnemonic        text NOT NULL CHECK (octet_length(mnemonic) BETWEEN 1 AND 255),
    has_given_id    boolean NOT NULL, -- false: the server assigned mnemonic
    url             text NOT NULL UNIQUE,
    map_type        text NOT NULL,
    from_concept_url text NOT NULL,
    to_concept_url  text,
    to_source_url   text,
    to_concept_code text,
    -- The identity of a mapping without an id, hashed to keep the index small whatever the
    -- lengths of its parts.
    natural_key     text GENERATED ALWAYS AS (md5(map_type || chr(31) || from_concept_url || chr(31)
                        || coalesce(to_concept_url, '') || chr(31) || coalesce(to_source_url, '')
                        || chr(31) || coalesce(to_concept_code, ''))) STORED,
    data            jsonb NOT NULL,
    retired         boolean NOT NULL DEFAULT false,
    version         integer NOT NULL DEFAULT 1,
    seq             bigint NOT NULL,
    created_by      text NOT NULL,
    updated_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo_id, mnemonic),
    CHECK (to_concept_url IS NOT NULL OR (to_source_url IS NOT NULL AND to_concept_code IS NOT NULL))
);
CREATE UNIQUE INDEX mappings_natural_key ON mappings (repo_id, natural_key) WHERE NOT has_given_id;
CREATE INDEX mappings_by_repo_seq ON mappings (repo_id, seq);
CREATE INDEX mappings_by_from_concept ON mappings (repo_id, from_concept_url);

CREATE TABLE mapping_versions (
    mapping_id  bigint NOT NULL REFERENCES mappings ON DELETE CASCADE,
    repo_id     bigint NOT NULL,
    version     integer NOT NULL,
    seq         bigint NOT NULL,
    seq_to      bigint NOT NULL,
    data        jsonb NOT NULL,
    retired     boolean NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (mapping_id, version)
);
CREATE INDEX mapping_versions_by_repo_seq ON mapping_versions (repo_id, seq);

-- A collection's references. Removing one sets removed_seq, so versions keep it.
CREATE TABLE collection_references (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_id        bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
    expression     text NOT NULL,  -- canonical URL, possibly of a pinned version
    concept_id     bigint REFERENCES concepts ON DELETE CASCADE,
    mapping_id     bigint REFERENCES mappings ON DELETE CASCADE,
    target_version integer,        -- the pinned version, when the expression names one
    added_seq      bigint NOT NULL,
    removed_seq    bigint,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((concept_id IS NULL) <> (mapping_id IS NULL))
);
CREATE UNIQUE INDEX collection_references_live ON collection_references (repo_id, expression)
    WHERE removed_seq IS NULL;
CREATE INDEX collection_references_by_seq ON collection_references (repo_id, added_seq);
CREATE INDEX collection_references_by_concept ON collection_references (concept_id);
CREATE INDEX collection_references_by_mapping ON collection_references (mapping_id);
