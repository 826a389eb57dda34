CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE queues (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT queues_tenant_name_key UNIQUE (tenant_id, name)
);

-- One row per day: the counter behind that day's ticket numbers.
CREATE TABLE ticket_number_counters (
    day TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    number TEXT NOT NULL CONSTRAINT tickets_number_key UNIQUE,
    queue_id TEXT NOT NULL REFERENCES queues (id),
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    owner TEXT,
    customer TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX tickets_queue_created ON tickets (queue_id, created_at, id);
CREATE INDEX tickets_queue_updated ON tickets (queue_id, updated_at, id);
CREATE INDEX tickets_queue_priority ON tickets (queue_id, priority, id);

CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    sender TEXT NOT NULL,
    channel TEXT NOT NULL,
    visible_to_customer INTEGER NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX articles_ticket ON articles (ticket_id, created_at, id);

-- Append-only: one row per change of a ticket, seq = the ticket's version after the change.
CREATE TABLE ticket_history (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);
