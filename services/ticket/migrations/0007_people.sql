-- People on a ticket besides its owner and customer: the responsible agent, the requester's
-- desired date and the coordinator's target date, and the agents watching it.
ALTER TABLE tickets ADD COLUMN responsible_id TEXT;
ALTER TABLE tickets ADD COLUMN desired_at BIGINT;
ALTER TABLE tickets ADD COLUMN target_at BIGINT;
CREATE INDEX tickets_responsible ON tickets (tenant_id, responsible_id);

CREATE TABLE ticket_watchers (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    agent_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);
CREATE INDEX ticket_watchers_agent ON ticket_watchers (agent_id);
