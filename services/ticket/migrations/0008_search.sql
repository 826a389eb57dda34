-- Search: when a ticket was closed (cleared when it is reopened), the filters' indexes, and
-- each agent's saved searches. The full-text indexes differ per engine.
ALTER TABLE tickets ADD COLUMN closed_at BIGINT;
UPDATE tickets SET closed_at = updated_at WHERE state IN ('closed_successful', 'closed_unsuccessful');
CREATE INDEX tickets_closed ON tickets (tenant_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX tickets_tenant_created ON tickets (tenant_id, created_at, id);
CREATE INDEX tickets_tenant_updated ON tickets (tenant_id, updated_at, id);

CREATE TABLE saved_searches (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    filter TEXT NOT NULL,
    sort TEXT NOT NULL,
    descending INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT saved_searches_agent_name_key UNIQUE (agent_id, name)
);
