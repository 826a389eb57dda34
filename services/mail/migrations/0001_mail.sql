-- Message-IDs that thread mail onto tickets: those of mail we received and of mail we sent.
CREATE TABLE thread_ids (
    message_id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX thread_ids_ticket ON thread_ids (ticket_id, created_at);
