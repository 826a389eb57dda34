-- Tags on tickets, and custom fields: typed, defined per tenant, shown in some or all queues;
-- one value row per ticket and field (one per option for a multi select).
CREATE TABLE ticket_tags (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    tag TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags (tag, ticket_id);

CREATE TABLE custom_fields (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL,
    queue_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT custom_fields_tenant_key_key UNIQUE (tenant_id, key)
);

CREATE TABLE ticket_field_values (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    field_id TEXT NOT NULL REFERENCES custom_fields (id),
    value TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id, value)
);
CREATE INDEX ticket_field_values_field ON ticket_field_values (field_id, value, ticket_id);
