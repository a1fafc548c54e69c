-- Billing (package billing): each workspace's Stripe customer and
-- subscription state, the Stripe events already processed, monthly active
-- users and the usage reported to Stripe.

-- One row per workspace that has touched billing. A workspace without a
-- row (or without an active subscription) is on the configured default plan.
CREATE TABLE workspace_billing (
    workspace_id        uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    stripe_customer_id  text UNIQUE,
    subscription_id     text,
    -- Stripe's subscription status (active, trialing, past_due, canceled, ...)
    subscription_status text NOT NULL DEFAULT '',
    -- the plan the subscription is for; '' when none
    plan                text NOT NULL DEFAULT '',
    -- a plan set by an operator (enterprise); wins over the subscription
    manual_plan         text NOT NULL DEFAULT '',
    current_period_end  timestamptz,
    -- first failed payment of the current dunning; the paid plan is kept until grace_until
    payment_failed_at   timestamptz,
    grace_until         timestamptz,
    -- creation time of the last invoice.paid event (a failure older than it is stale)
    last_paid_at        timestamptz,
    -- creation time of the Stripe event that set the subscription state,
    -- so that an older event arriving late does not undo a newer one
    state_at            timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Stripe events already acted on (each acts once).
CREATE TABLE stripe_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    workspace_id uuid,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_processed ON stripe_events (processed_at);

-- Monthly active users: an identity that registered or got a session in a
-- calendar month (UTC), per project.
CREATE TABLE usage_mau (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    project_id   uuid NOT NULL,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    identity_id  uuid NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, month, identity_id)
);
CREATE INDEX usage_mau_workspace ON usage_mau (workspace_id, month, project_id);

-- Meter events sent (or about to be sent) to Stripe. A row is written
-- before the event is sent and keeps its identifier, so a retry resends the
-- same event (Stripe drops duplicates by identifier) instead of a new one.
CREATE TABLE usage_reports (
    identifier   text PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    month        date NOT NULL,
    -- the workspace's MAU for the month once this report is counted
    cumulative   bigint NOT NULL CHECK (cumulative > 0),
    quantity     bigint NOT NULL CHECK (quantity > 0),
    stripe_customer_id text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    UNIQUE (workspace_id, month, cumulative)
);
CREATE INDEX usage_reports_unsent ON usage_reports (created_at) WHERE sent_at IS NULL;
