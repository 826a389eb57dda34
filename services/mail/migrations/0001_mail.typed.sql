-- Every message received, byte for byte, before anything else happens to it; what became of it.
-- The same Message-ID with the same content is stored once (a redelivery, a second poll).
CREATE TABLE inbound_messages (
    id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL,
    -- lmtp, smtp, imap:<account>, upload
    source TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    raw {bytes} NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- pending, done, quarantined, refused
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    -- new_ticket, follow_up, bounce
    outcome TEXT NOT NULL DEFAULT '',
    ticket_id TEXT NOT NULL DEFAULT '',
    article_id TEXT NOT NULL DEFAULT '',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    processed_at BIGINT,
    CONSTRAINT inbound_messages_dedup UNIQUE (message_id, sha256)
);
-- Ids are UUIDv7, in arrival order: workers take the oldest pending ones, listings page by id.
CREATE INDEX inbound_messages_state ON inbound_messages (state, id);
CREATE INDEX inbound_messages_message_id ON inbound_messages (message_id);
CREATE INDEX inbound_messages_sender ON inbound_messages (sender, received_at);

-- Every mail we send, built once (a retry sends the same bytes), with its state.
CREATE TABLE outgoing_mail (
    id TEXT PRIMARY KEY,
    -- confirmation, reply, notice
    kind TEXT NOT NULL,
    -- What it is for, once: confirmation:<inbound id>, reply:<article id>
    source_key TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL,
    article_id TEXT NOT NULL DEFAULT '',
    mail_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    message_id TEXT NOT NULL,
    raw {bytes} NOT NULL,
    -- queued, retrying, sent, failed
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outgoing_mail_due ON outgoing_mail (state, next_attempt_at);
CREATE INDEX outgoing_mail_message_id ON outgoing_mail (message_id);
