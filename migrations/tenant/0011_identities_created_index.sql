-- The dashboard's per-project usage chart counts the identities created
-- on each day of a month: one range scan of this index instead of a scan
-- of every identity of the project.

CREATE INDEX identities_created ON identities (created_at);
