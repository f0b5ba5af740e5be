-- What previewd saw when it called a running preview's endpoints and
-- rendered its pages in a headless browser, once the preview became
-- healthy: one row per preview, replaced when the checks run again (a new
-- revision). Any previewd can answer GET …/preview/checks from it.
CREATE TABLE preview_checks (
    preview_id uuid        PRIMARY KEY REFERENCES previews (id) ON DELETE CASCADE,
    revision   integer     NOT NULL CHECK (revision > 0),
    state      text        NOT NULL CHECK (state IN ('running', 'done', 'skipped')),
    checked_at timestamptz,
    endpoints  jsonb       NOT NULL DEFAULT '[]',
    browser    jsonb
);

-- The screenshots of the pages the browser check rendered, PNG; page 0 is
-- the app's root page.
CREATE TABLE preview_screenshots (
    preview_id uuid    NOT NULL REFERENCES preview_checks (preview_id) ON DELETE CASCADE,
    page       integer NOT NULL CHECK (page >= 0),
    png        bytea   NOT NULL,
    PRIMARY KEY (preview_id, page)
);
