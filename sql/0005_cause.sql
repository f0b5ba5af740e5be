-- Why a preview failed, as data: {"kind", "message", "file", "line",
-- "symbol", "hint"}; NULL for previews that did not fail.
ALTER TABLE previews ADD COLUMN cause jsonb;
