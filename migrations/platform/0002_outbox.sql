-- Which projects have outbox rows, and from when the earliest is due. The
-- relay sweep reads this small table instead of visiting every project
-- schema, so one sweep costs O(projects with work), not O(projects). A row
-- is written in the same transaction as the project's outbox row (same
-- database); version changes on every write so that the sweep only removes
-- a row that nobody touched since it looked.
CREATE TABLE outbox_due (
    project_id  uuid PRIMARY KEY,
    due_at      timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1
);
CREATE INDEX outbox_due_at ON outbox_due (due_at);
