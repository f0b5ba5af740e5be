-- Generations: the source files of an app, immutable after upload.
CREATE TABLE generations (
    id          uuid PRIMARY KEY,
    owner       text        NOT NULL,
    name        text        NOT NULL,
    framework   text        NOT NULL,
    entrypoint  text        NOT NULL,
    file_count  integer     NOT NULL CHECK (file_count > 0),
    total_bytes bigint      NOT NULL CHECK (total_bytes >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Listing is per owner, newest first, paged by (created_at, id).
CREATE INDEX generations_owner_created ON generations (owner, created_at DESC, id DESC);

CREATE TABLE generation_files (
    generation_id uuid    NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    path          text    NOT NULL,
    content       bytea   NOT NULL,
    size          integer NOT NULL,
    sha256        text    NOT NULL,
    PRIMARY KEY (generation_id, path)
);

-- Previews: one row per launch. A row is "live" while starting or running.
CREATE TABLE previews (
    id             uuid        PRIMARY KEY,
    generation_id  uuid        NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    owner          text        NOT NULL,
    runner_id      text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('starting', 'running', 'stopped', 'failed', 'expired')),
    container_id   text,
    port           integer     NOT NULL,
    image          text        NOT NULL DEFAULT '',
    memory_mb      integer     NOT NULL,
    cpus           double precision NOT NULL,
    pids           integer     NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    stopped_at     timestamptz,
    expires_at     timestamptz NOT NULL,
    last_active_at timestamptz NOT NULL DEFAULT now(),
    exit_code      integer,
    oom_killed     boolean     NOT NULL DEFAULT false,
    error          text        NOT NULL DEFAULT '',
    log_tail       text[]      NOT NULL DEFAULT '{}',
    timings        jsonb       NOT NULL DEFAULT '{}'
);

-- One live preview per generation, and a port is never held by two live previews:
-- true even when two previewd processes launch at once.
CREATE UNIQUE INDEX previews_one_live_per_generation ON previews (generation_id)
    WHERE status IN ('starting', 'running');
CREATE UNIQUE INDEX previews_live_port ON previews (port)
    WHERE status IN ('starting', 'running');
CREATE INDEX previews_generation_created ON previews (generation_id, created_at DESC);

-- Session tokens: only their SHA-256 is stored. Each launch call (also an idempotent
-- repeat) gets its own token, so a second tab never invalidates the first.
CREATE TABLE preview_sessions (
    token_hash   bytea       PRIMARY KEY,
    preview_id   uuid        NOT NULL REFERENCES previews (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX preview_sessions_preview ON preview_sessions (preview_id);
