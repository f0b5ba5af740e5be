-- Whether a preview was launched into a warm container (one started ahead of
-- time with its interpreter loaded) rather than a new one.
ALTER TABLE previews ADD COLUMN warm boolean NOT NULL DEFAULT false;
