-- Reloads: a running preview is updated in place to a newer revision of its
-- generation. previews.revision is the revision it serves; while an update
-- runs, reloading_revision names it; an update that failed leaves the old
-- revision serving and records the failed one and why, until a later update
-- succeeds.
ALTER TABLE previews ADD COLUMN reloading_revision integer;
ALTER TABLE previews ADD COLUMN failed_revision integer;
ALTER TABLE previews ADD COLUMN failed_error text NOT NULL DEFAULT '';
ALTER TABLE previews ADD COLUMN failed_exit_code integer;
ALTER TABLE previews ADD COLUMN failed_cause jsonb;
