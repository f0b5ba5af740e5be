-- Preview logs: every line a preview printed (stdout, stderr), its dependency
-- install output (build) and runner events (system), numbered per preview. seq
-- is the SSE event id, so a stream resumes with WHERE seq > $last.
CREATE TABLE preview_logs (
    preview_id uuid        NOT NULL REFERENCES previews (id) ON DELETE CASCADE,
    seq        bigint      NOT NULL CHECK (seq > 0),
    ts         timestamptz NOT NULL,
    stream     text        NOT NULL CHECK (stream IN ('stdout', 'stderr', 'build', 'system')),
    line       text        NOT NULL,
    PRIMARY KEY (preview_id, seq)
);
