-- Templates (canned answers) per tenant, offered in some or all of its queues.
CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    queue_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT templates_tenant_name_key UNIQUE (tenant_id, name)
);
