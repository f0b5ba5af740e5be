-- Restart policy and crash accounting: how many times a crashed app may be
-- restarted, how many times it was, and how many of its processes the kernel
-- killed for memory while the preview kept running.
ALTER TABLE previews
    ADD COLUMN restart_max int NOT NULL DEFAULT 0 CHECK (restart_max >= 0),
    ADD COLUMN restarts    int NOT NULL DEFAULT 0,
    ADD COLUMN oom_kills   int NOT NULL DEFAULT 0;
