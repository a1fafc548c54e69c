-- Link tokens of the verification and recovery flows (link method). A
-- token is 256 random bits; only its SHA-256 is stored. It is bound to its
-- flow (deleted with it), valid until expires_at and used once (used_at).

CREATE TABLE selfservice_link_tokens (
    id            uuid PRIMARY KEY,
    flow_id       uuid NOT NULL REFERENCES selfservice_flows (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('verification', 'recovery')),
    identity_id   uuid REFERENCES identities (id) ON DELETE CASCADE,
    -- the normalised address the link was sent to ('' for admin links)
    address       text NOT NULL,
    token_hash    bytea NOT NULL UNIQUE,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX selfservice_link_tokens_flow ON selfservice_link_tokens (flow_id);
CREATE INDEX selfservice_link_tokens_expires ON selfservice_link_tokens (expires_at);
