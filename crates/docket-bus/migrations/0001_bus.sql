-- Events a consumer has processed; the primary key makes processing idempotent.
CREATE TABLE bus_inbox (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
