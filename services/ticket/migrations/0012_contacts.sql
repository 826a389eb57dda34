-- How to reach a ticket's customer, on the ticket (from the customer's record when the ticket is
-- opened, or as the agent took it down), and the customer records it comes from.
ALTER TABLE tickets ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN contact_email TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN contact_organisation TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN organisation TEXT NOT NULL DEFAULT '';

-- Agents working a ticket jointly, besides its owner.
CREATE TABLE ticket_collaborators (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    agent_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);
CREATE INDEX ticket_collaborators_agent ON ticket_collaborators (agent_id, ticket_id);
