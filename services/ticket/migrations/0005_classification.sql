-- Classification, per tenant: the service catalogue (a tree; names are paths like
-- `E-Mail::Exchange`) and the ticket types (a list).
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES services (id),
    created_at BIGINT NOT NULL,
    CONSTRAINT services_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE ticket_types (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT ticket_types_tenant_name_key UNIQUE (tenant_id, name)
);

ALTER TABLE tickets ADD COLUMN type_id TEXT;
ALTER TABLE tickets ADD COLUMN service_id TEXT;
CREATE INDEX tickets_service ON tickets (service_id, created_at, id);
CREATE INDEX tickets_type ON tickets (type_id, created_at, id);
