-- The runtime a preview runs on, as its launch and status answers say it:
-- the runtime image's name and the versions of the framework and of every
-- package installed for the app ({"image": "runtime-python-trixie",
-- "packages": {"fastapi": "0.115.11"}}). NULL until the image is resolved.
ALTER TABLE previews ADD COLUMN runtime jsonb;
