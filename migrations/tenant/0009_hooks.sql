-- Hooks (issue 6): every webhook delivery and JavaScript action run of a
-- project, each attempt with its outcome, and the outbox topic that hands
-- asynchronous webhooks to the hooks queue.

-- One delivery: an asynchronous webhook event (delivered by the worker,
-- retried with backoff until it succeeds or runs out of attempts), or the
-- record of a synchronous webhook call or JavaScript action run in a flow.
CREATE TABLE hook_deliveries (
    id               uuid PRIMARY KEY,
    hook_id          text NOT NULL,
    hook_type        text NOT NULL CHECK (hook_type IN ('web_hook', 'action')),
    -- the flow and point that fired it, e.g. registration / after
    flow             text NOT NULL,
    point            text NOT NULL CHECK (point IN ('before', 'after')),
    mode             text NOT NULL CHECK (mode IN ('sync', 'async')),
    status           text NOT NULL CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
    url              text NOT NULL DEFAULT '',
    -- the event as sent (the request body of a webhook, the event of an action)
    payload          jsonb NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
    backoff_base_ms  integer NOT NULL DEFAULT 10000,
    backoff_max_ms   integer NOT NULL DEFAULT 3600000,
    next_attempt_at  timestamptz,
    last_error       text NOT NULL DEFAULT '',
    -- the delivery this one replays
    replay_of        uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- the admin list: newest first, keyset on (created_at, id)
CREATE INDEX hook_deliveries_created ON hook_deliveries (created_at DESC, id DESC);
CREATE INDEX hook_deliveries_status ON hook_deliveries (status, created_at DESC, id DESC);
CREATE INDEX hook_deliveries_hook ON hook_deliveries (hook_id, created_at DESC, id DESC);

-- One attempt of a delivery and how it ended.
CREATE TABLE hook_attempts (
    id                uuid PRIMARY KEY,
    delivery_id       uuid NOT NULL REFERENCES hook_deliveries (id) ON DELETE CASCADE,
    attempt           integer NOT NULL,
    -- the HTTP status of a webhook (NULL when no answer came)
    status_code       integer,
    latency_ms        integer NOT NULL DEFAULT 0,
    -- the first bytes of the answer (webhook) or the decision (action)
    response_excerpt  text NOT NULL DEFAULT '',
    error             text NOT NULL DEFAULT '',
    -- console output of a JavaScript action
    logs              jsonb NOT NULL DEFAULT '[]',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hook_attempts_delivery ON hook_attempts (delivery_id, attempt);

-- Asynchronous webhooks go through the same transactional outbox as mail.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_topic_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_topic_check CHECK (topic IN ('courier', 'hook'));
