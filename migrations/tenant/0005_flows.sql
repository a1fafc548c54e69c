-- Self-service flows and the errors shown by /self-service/errors.

CREATE TABLE selfservice_flows (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('login', 'registration', 'settings', 'recovery', 'verification')),
    type          text NOT NULL CHECK (type IN ('browser', 'api')),
    state         text NOT NULL,
    identity_id   uuid REFERENCES identities (id) ON DELETE CASCADE,
    csrf_hash     bytea,
    -- the rendered flow (ui, request_url, ...) and strategy-private state
    body          jsonb NOT NULL,
    internal      jsonb NOT NULL DEFAULT '{}',
    expires_at    timestamptz NOT NULL,
    issued_at     timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX selfservice_flows_expires ON selfservice_flows (expires_at);
CREATE INDEX selfservice_flows_identity ON selfservice_flows (identity_id) WHERE identity_id IS NOT NULL;

CREATE TABLE selfservice_errors (
    id          uuid PRIMARY KEY,
    error       jsonb NOT NULL,
    csrf_hash   bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX selfservice_errors_created ON selfservice_errors (created_at);
