-- Courier (issue 5): outgoing messages, each send attempt, the project's
-- template overrides and SMTP settings, and the transactional outbox that
-- hands work to the queue.

-- One outgoing message (the Kratos courier message). Subject and bodies are
-- rendered when the message is enqueued; template_data keeps the variables
-- they were rendered from.
CREATE TABLE courier_messages (
    id             uuid PRIMARY KEY,
    type           text NOT NULL DEFAULT 'email' CHECK (type IN ('email', 'sms')),
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'sent', 'abandoned')),
    recipient      text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 320),
    subject        text NOT NULL DEFAULT '',
    body           text NOT NULL DEFAULT '',
    html_body      text NOT NULL DEFAULT '',
    template_type  text NOT NULL DEFAULT '',
    template_data  jsonb NOT NULL DEFAULT '{}',
    locale         text NOT NULL DEFAULT '',
    channel        text,
    -- attempts made so far (incremented when a worker claims the message)
    send_count     integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- the admin list: newest first, keyset on (created_at, id)
CREATE INDEX courier_messages_created ON courier_messages (created_at DESC, id DESC);
CREATE INDEX courier_messages_recipient ON courier_messages (recipient, created_at DESC, id DESC);
CREATE INDEX courier_messages_status ON courier_messages (status, created_at DESC, id DESC);

-- One send attempt of a message and how it ended.
CREATE TABLE courier_message_dispatches (
    id          uuid PRIMARY KEY,
    message_id  uuid NOT NULL REFERENCES courier_messages (id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('failed', 'success')),
    error       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX courier_message_dispatches_message ON courier_message_dispatches (message_id, created_at);

-- Work written in the same transaction as the step that causes it, until it
-- is done. due_at is when the relay sweep should (re)hand it to the queue if
-- nothing has finished it by then. platform.outbox_due says which projects
-- have rows here, so that the sweep never visits idle projects.
CREATE TABLE outbox (
    id          uuid PRIMARY KEY,
    topic       text NOT NULL CHECK (topic IN ('courier')),
    ref_id      uuid NOT NULL,
    due_at      timestamptz NOT NULL DEFAULT now(),
    relayed     integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, ref_id)
);
CREATE INDEX outbox_due ON outbox (due_at);

-- A project's own mail templates, per template type and locale ('' is the
-- project's default language). Missing ones fall back to the built-in ones.
CREATE TABLE courier_templates (
    template_type  text NOT NULL,
    locale         text NOT NULL DEFAULT '' CHECK (locale ~ '^([a-z]{2,3}(-[a-z0-9]{2,8})*)?$'),
    subject        text NOT NULL,
    body_text      text NOT NULL,
    body_html      text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (template_type, locale)
);

-- The project's own SMTP server (at most one row); absent = platform default.
-- The password is AES-GCM sealed; key_id names the configured secret it was
-- sealed with, so keys can rotate.
CREATE TABLE courier_smtp_settings (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    host          text NOT NULL,
    port          integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security      text NOT NULL DEFAULT 'starttls' CHECK (security IN ('starttls', 'tls', 'none')),
    username      text NOT NULL DEFAULT '',
    password_enc  bytea,
    key_id        text NOT NULL DEFAULT '',
    from_address  text NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL DEFAULT now()
);
