CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content BYTEA NOT NULL
);
CREATE INDEX attachments_text_fts ON attachments USING GIN (to_tsvector('simple', left(text, 250000)));
