-- Events waiting to be published, written in the same transaction as the state change.
CREATE TABLE bus_outbox (
    seq BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    envelope BYTEA NOT NULL,
    trace_context TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX bus_outbox_pending ON bus_outbox (seq) WHERE published_at IS NULL;
