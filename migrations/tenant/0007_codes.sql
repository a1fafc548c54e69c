-- One-time codes of the verification and recovery flows (code method).
-- Only an HMAC of the code is stored, never the code itself. A code is
-- bound to its flow (deleted with it), valid until expires_at, used once
-- (used_at), and burned after too many wrong attempts on its flow.

CREATE TABLE selfservice_codes (
    id            uuid PRIMARY KEY,
    flow_id       uuid NOT NULL REFERENCES selfservice_flows (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('verification', 'recovery')),
    identity_id   uuid REFERENCES identities (id) ON DELETE CASCADE,
    -- the normalised address the code was sent to
    address       text NOT NULL,
    code_hash     bytea NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX selfservice_codes_flow ON selfservice_codes (flow_id);
CREATE INDEX selfservice_codes_expires ON selfservice_codes (expires_at);
