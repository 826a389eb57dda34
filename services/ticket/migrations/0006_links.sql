-- Links between tickets of one tenant: `parent_child` (source is the parent; a ticket has at most
-- one parent) and `related` (stored once, the smaller id as source).
CREATE TABLE ticket_links (
    tenant_id TEXT NOT NULL,
    source_id TEXT NOT NULL REFERENCES tickets (id),
    target_id TEXT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (source_id, target_id, kind)
);
CREATE INDEX ticket_links_target ON ticket_links (target_id, kind);
CREATE UNIQUE INDEX ticket_links_one_parent ON ticket_links (target_id) WHERE kind = 'parent_child';
