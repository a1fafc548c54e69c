-- Billing (package billing): the identities active on each day, for the
-- daily chart of the dashboard's Billing page, and the usage warnings
-- already mailed to workspace owners.

-- One row per identity and UTC day on which it registered or got a
-- session (usage_mau keeps the month's distinct users). The Billing page
-- reads one month of one workspace through usage_daily_workspace.
CREATE TABLE usage_daily (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    project_id   uuid NOT NULL,
    day          date NOT NULL,
    identity_id  uuid NOT NULL,
    PRIMARY KEY (project_id, day, identity_id)
);
CREATE INDEX usage_daily_workspace ON usage_daily (workspace_id, day);

-- Every monthly active user known so far was active at least on the day
-- it was first seen.
INSERT INTO usage_daily (workspace_id, project_id, day, identity_id)
SELECT workspace_id, project_id, (first_seen AT TIME ZONE 'UTC')::date, identity_id FROM usage_mau
ON CONFLICT DO NOTHING;

-- The usage warning job counts the current month's MAU of every
-- workspace: an index-only scan of that month's entries.
CREATE INDEX usage_mau_month ON usage_mau (month, workspace_id);

-- The 80% and 100% MAU warnings: one row per workspace, month and
-- threshold, written in the same transaction as the mail to the owners,
-- so each warning goes out once.
CREATE TABLE usage_warnings (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    threshold    integer NOT NULL CHECK (threshold IN (80, 100)),
    plan         text NOT NULL,
    mau          bigint NOT NULL,
    included_mau bigint NOT NULL,
    -- owners mailed (0 when a higher threshold was crossed at the same time
    -- and only its mail went out)
    recipients   integer NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, month, threshold)
);
