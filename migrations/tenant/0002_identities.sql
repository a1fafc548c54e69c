-- Identities, their credentials, addresses and identity schemas (Kratos model).

CREATE TABLE identity_schemas (
    id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
    -- json, not jsonb: the author's property order decides the order of form fields
    schema      json NOT NULL,
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX identity_schemas_one_default ON identity_schemas (is_default) WHERE is_default;

CREATE TABLE identities (
    id                uuid PRIMARY KEY,
    schema_id         text NOT NULL REFERENCES identity_schemas (id),
    state             text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    state_changed_at  timestamptz,
    traits            jsonb NOT NULL DEFAULT '{}',
    metadata_public   jsonb,
    metadata_admin    jsonb,
    external_id       text UNIQUE,
    organization_id   uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identity_credentials (
    id           uuid PRIMARY KEY,
    identity_id  uuid NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type         text NOT NULL,
    config       jsonb NOT NULL DEFAULT '{}',
    version      integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (identity_id, type)
);

-- Identifiers are unique per credential type within the project; emails are
-- stored case-folded.
CREATE TABLE identity_credential_identifiers (
    id             uuid PRIMARY KEY,
    credential_id  uuid NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
    identity_id    uuid NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type           text NOT NULL,
    identifier     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (type, identifier)
);
CREATE INDEX identity_credential_identifiers_identifier ON identity_credential_identifiers (identifier);
CREATE INDEX identity_credential_identifiers_identity ON identity_credential_identifiers (identity_id);

CREATE TABLE identity_verifiable_addresses (
    id           uuid PRIMARY KEY,
    identity_id  uuid NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via          text NOT NULL CHECK (via IN ('email', 'sms')),
    value        text NOT NULL,
    verified     boolean NOT NULL DEFAULT false,
    verified_at  timestamptz,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'completed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (via, value)
);
CREATE INDEX identity_verifiable_addresses_identity ON identity_verifiable_addresses (identity_id);

CREATE TABLE identity_recovery_addresses (
    id           uuid PRIMARY KEY,
    identity_id  uuid NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via          text NOT NULL CHECK (via IN ('email', 'sms')),
    value        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (via, value)
);
CREATE INDEX identity_recovery_addresses_identity ON identity_recovery_addresses (identity_id);

-- Every project starts with the default schema: email as the password and
-- code identifier, verified and recovered by email; an optional name.
INSERT INTO identity_schemas (id, is_default, schema) VALUES ('default', true, $schema$
{
  "$id": "https://schemas.lanyard.dev/presets/email-password.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "E-Mail",
          "maxLength": 320,
          "ory.sh/kratos": {
            "credentials": {
              "password": {"identifier": true},
              "webauthn": {"identifier": true},
              "totp": {"account_name": true},
              "code": {"identifier": true, "via": "email"},
              "passkey": {"display_name": true}
            },
            "verification": {"via": "email"},
            "recovery": {"via": "email"}
          }
        },
        "name": {
          "type": "object",
          "properties": {
            "first": {"type": "string", "title": "First name", "maxLength": 256},
            "last": {"type": "string", "title": "Last name", "maxLength": 256}
          }
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}
$schema$::json);
