-- Revisions: a generation's files change by patches, each making a numbered
-- revision. generation_files holds the files of every stored revision;
-- generations.revision is the current one (its framework, entrypoint,
-- file_count and total_bytes are the current revision's). Every existing
-- generation becomes revision 1, in which every file was added.
ALTER TABLE generations ADD COLUMN revision integer NOT NULL DEFAULT 1 CHECK (revision > 0);

CREATE TABLE generation_revisions (
    generation_id uuid        NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    revision      integer     NOT NULL CHECK (revision > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    framework     text        NOT NULL,
    entrypoint    text        NOT NULL,
    file_count    integer     NOT NULL CHECK (file_count > 0),
    total_bytes   bigint      NOT NULL CHECK (total_bytes >= 0),
    added         text[]      NOT NULL DEFAULT '{}',
    modified      text[]      NOT NULL DEFAULT '{}',
    deleted       text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (generation_id, revision)
);

INSERT INTO generation_revisions (generation_id, revision, created_at, framework, entrypoint,
    file_count, total_bytes, added)
SELECT g.id, 1, g.created_at, g.framework, g.entrypoint, g.file_count, g.total_bytes,
    COALESCE((SELECT array_agg(f.path ORDER BY f.path) FROM generation_files f WHERE f.generation_id = g.id), '{}')
FROM generations g;

-- Files are stored per revision; pruning a revision (deleting its row)
-- deletes its files.
ALTER TABLE generation_files ADD COLUMN revision integer NOT NULL DEFAULT 1;
ALTER TABLE generation_files ALTER COLUMN revision DROP DEFAULT;
ALTER TABLE generation_files DROP CONSTRAINT generation_files_pkey;
ALTER TABLE generation_files ADD PRIMARY KEY (generation_id, revision, path);
ALTER TABLE generation_files ADD FOREIGN KEY (generation_id, revision)
    REFERENCES generation_revisions (generation_id, revision) ON DELETE CASCADE;

-- The revision a preview runs: the generation's current one when it was
-- launched. A running preview keeps it until it is launched again.
ALTER TABLE previews ADD COLUMN revision integer NOT NULL DEFAULT 1;
