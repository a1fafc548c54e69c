-- Sessions, their devices, and the small per-project settings table.
--
-- A session token (and its logout token) is never stored: only its SHA-256
-- hash is. Ending a session sets active = false (the row stays for the
-- session list and audits until the cleanup sweep removes it).

CREATE TABLE project_settings (
    key         text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id                      uuid PRIMARY KEY,
    identity_id             uuid NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    token_hash              bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    logout_token_hash       bytea NOT NULL UNIQUE CHECK (length(logout_token_hash) = 32),
    active                  boolean NOT NULL DEFAULT true,
    aal                     text NOT NULL DEFAULT 'aal1' CHECK (aal IN ('aal0', 'aal1', 'aal2', 'aal3')),
    authentication_methods  jsonb NOT NULL DEFAULT '[]',
    authenticated_at        timestamptz NOT NULL,
    issued_at               timestamptz NOT NULL,
    expires_at              timestamptz NOT NULL,
    -- the absolute limit sliding expiry and client refresh cannot pass
    max_expires_at          timestamptz NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at <= max_expires_at)
);
CREATE INDEX sessions_identity ON sessions (identity_id, id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE session_devices (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ip_address  text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    location    text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_devices_session ON session_devices (session_id);
