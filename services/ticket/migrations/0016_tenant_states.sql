-- Each tenant's own states, each behaving as one of the built-in states (its state type with it):
-- `waiting for the customer` as pending_reminder, `closed with workaround` as closed_successful.
CREATE TABLE ticket_states (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    base TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT ticket_states_tenant_name_key UNIQUE (tenant_id, name)
);
ALTER TABLE tickets ADD COLUMN custom_state TEXT;
CREATE INDEX tickets_custom_state ON tickets (tenant_id, custom_state) WHERE custom_state IS NOT NULL;
