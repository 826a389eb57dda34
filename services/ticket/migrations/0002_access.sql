-- Ticket core's copy of what the identity service owns and announces on the bus (tenant.created,
-- group.created, customer.created/updated): enough to check a queue's group or a ticket's customer
-- without reading identity's tables.
CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX groups_tenant ON groups (tenant_id);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    company_id TEXT
);

-- Every queue belongs to one group; permissions on the group are permissions on its queues.
-- `portal`: customers may open tickets in it.
ALTER TABLE queues ADD COLUMN group_id TEXT;
ALTER TABLE queues ADD COLUMN portal INTEGER NOT NULL DEFAULT 0;
CREATE INDEX queues_group ON queues (group_id);

-- The owner is an agent (by id, so substitutes can be found); the customer is a customer user
-- (visibility), with the company they belonged to when the ticket was opened.
ALTER TABLE tickets DROP COLUMN owner;
ALTER TABLE tickets ADD COLUMN owner_id TEXT;
ALTER TABLE tickets ADD COLUMN customer_id TEXT;
ALTER TABLE tickets ADD COLUMN company_id TEXT;
CREATE INDEX tickets_customer ON tickets (tenant_id, customer_id, created_at, id);
CREATE INDEX tickets_company ON tickets (tenant_id, company_id, created_at, id);
CREATE INDEX tickets_owner ON tickets (tenant_id, owner_id);
