-- The platform API of the dashboard: accounts (identities of the built-in
-- console project), workspace members and invitations, workspace access
-- tokens and the platform audit log. Workspaces themselves are in 0001.

-- An account as the platform knows it: the console identity's id, the
-- email it signed up with (kept current on every authenticated call) and
-- its personal workspace, made on the account's first platform API call.
CREATE TABLE accounts (
    id                    uuid PRIMARY KEY,
    email                 text NOT NULL,
    personal_workspace_id uuid REFERENCES workspaces (id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_email ON accounts (lower(email));

CREATE TABLE workspace_members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, account_id)
);
-- members of a workspace, in joining order (paged)
CREATE INDEX workspace_members_list ON workspace_members (workspace_id, created_at, account_id);
-- the workspaces of an account, in joining order (paged)
CREATE INDEX workspace_members_account ON workspace_members (account_id, created_at, workspace_id);

-- Invitations by email. Only the SHA-256 of the invitation secret is kept.
CREATE TABLE workspace_invitations (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    hash         bytea NOT NULL UNIQUE,
    invited_by   uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid REFERENCES accounts (id) ON DELETE SET NULL,
    revoked_at   timestamptz
);
CREATE INDEX workspace_invitations_list ON workspace_invitations (workspace_id, created_at, id);

-- Workspace access tokens for the platform API (CLI, automation). Only
-- the SHA-256 of the secret is kept.
CREATE TABLE workspace_tokens (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    role         text NOT NULL CHECK (role IN ('admin', 'viewer')),
    hint         text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_by   uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX workspace_tokens_list ON workspace_tokens (workspace_id, created_at, id);

-- Who did what, when and from where, through the platform API.
CREATE TABLE audit_events (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_type   text NOT NULL CHECK (actor_type IN ('account', 'token')),
    actor_id     uuid NOT NULL,
    actor_name   text NOT NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}',
    ip           text NOT NULL,
    user_agent   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_events_list ON audit_events (workspace_id, created_at DESC, id DESC);

-- Paging a workspace's projects and a project's API keys by (created_at, id).
CREATE INDEX projects_workspace_list ON projects (workspace_id, created_at DESC, id DESC) WHERE state = 'active';
CREATE INDEX project_api_keys_list ON project_api_keys (project_id, created_at DESC, id DESC);
