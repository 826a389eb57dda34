-- Ticket numbers per tenant: each tenant gets a short code inside its numbers (given in the order
-- tenants number their first ticket) and counts its own tickets per day, so that its numbers
-- tell nothing about other tenants' volume. `ticket_number_counters` (one counter for all
-- tenants) is no longer written; it stays for replicas still running the previous version.
CREATE TABLE tenant_number_codes (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    code BIGINT NOT NULL CONSTRAINT tenant_number_codes_code_key UNIQUE
);

-- The last code given: one row, whose lock makes tenants numbering their first tickets at once
-- take turns.
CREATE TABLE tenant_number_code_seq (
    id INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO tenant_number_code_seq (id, value) VALUES (1, 0);

-- Per tenant and UTC day: the counter behind that tenant's numbers of that day.
CREATE TABLE tenant_ticket_counters (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    day TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
