-- The control schema: workspaces, projects and their keys and domains.

CREATE TABLE workspaces (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    -- the workspace that operator commands use when none is named
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workspaces_one_default ON workspaces (is_default) WHERE is_default;

CREATE TABLE projects (
    id             uuid PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES workspaces (id),
    slug           text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    environment    text NOT NULL DEFAULT 'dev' CHECK (environment IN ('dev', 'prod')),
    schema_name    text NOT NULL UNIQUE CHECK (schema_name ~ '^p_[a-z0-9]{1,60}$'),
    -- which Postgres cluster holds the schema; one cell ("default") today
    cell           text NOT NULL DEFAULT 'default',
    state          text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleting', 'deleted')),
    -- highest tenant migration applied to the schema (mirrors its own version table)
    tenant_version integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE INDEX projects_workspace ON projects (workspace_id, created_at) WHERE state = 'active';
CREATE INDEX projects_pending_migration ON projects (tenant_version) WHERE state = 'active';
CREATE INDEX projects_deleting ON projects (deleted_at) WHERE state = 'deleting';

-- Custom domains (host names) that serve a project.
CREATE TABLE project_domains (
    domain      text PRIMARY KEY CHECK (domain = lower(domain)),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_domains_project ON project_domains (project_id);

-- Admin API keys of a project. Only the SHA-256 of the secret is kept.
CREATE TABLE project_api_keys (
    id            uuid PRIMARY KEY,
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          text NOT NULL,
    -- the first characters of the secret, shown in lists to tell keys apart
    hint          text NOT NULL,
    hash          bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX project_api_keys_project ON project_api_keys (project_id, created_at);

-- Project schemas created and migrated ahead of time, so that creating a
-- project claims one instead of running every tenant migration (index
-- builds fsync, and their number grows with every release).
CREATE TABLE spare_schemas (
    schema_name    text PRIMARY KEY CHECK (schema_name ~ '^p_[a-z0-9]{1,60}$'),
    cell           text NOT NULL DEFAULT 'default',
    tenant_version integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spare_schemas_cell ON spare_schemas (cell, created_at);
