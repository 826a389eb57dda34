-- The first received message of each Message-ID within a tenant: later copies of it (a second
-- MX, a forwarder, another mailbox) find this row and make nothing. The key is the Message-ID
-- with the sender and the Date as a guard; sent_at is the lowest BIGINT for mail without a Date.
CREATE TABLE message_claims (
    tenant_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    -- The message that claimed it first, and the ticket it went to once processed.
    inbound_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, message_id, sender, sent_at)
);
CREATE INDEX message_claims_inbound ON message_claims (inbound_id);
CREATE INDEX message_claims_ticket ON message_claims (ticket_id);

-- The automatic answers each sender got within the window (a JSON list of [at, key]), one row
-- per sender so that writers take their turn on it.
CREATE TABLE auto_answers (
    recipient TEXT PRIMARY KEY,
    answers TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
