-- Retention: each tenant's period and what happens to closed tickets older than it (deleted or
-- anonymised), the tickets kept anyway (legal hold, the requester's objection), a log of every
-- run, a lease so one replica runs at a time, and the gate through which a run alone may remove
-- a ticket's otherwise append-only history.
CREATE TABLE tenant_retention (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    days INTEGER NOT NULL,
    action TEXT NOT NULL
);
ALTER TABLE tickets ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN retention_objection INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN anonymised INTEGER NOT NULL DEFAULT 0;

CREATE TABLE retention_gate (
    ticket_id TEXT PRIMARY KEY
);

CREATE TABLE retention_runs (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    deleted TEXT NOT NULL,
    anonymised TEXT NOT NULL,
    kept BIGINT NOT NULL
);

CREATE TABLE retention_lease (
    id INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    until_at BIGINT NOT NULL
);
INSERT INTO retention_lease (id, holder, until_at) VALUES (1, '', 0);
