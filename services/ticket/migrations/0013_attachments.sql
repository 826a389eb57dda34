-- Attachments: their bytes once per content (by SHA-256) outside the article rows, one row per
-- attachment of an article with its name, types and the text search sees; time accounting.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles (id),
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    declared_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_article ON attachments (article_id);
CREATE INDEX attachments_ticket ON attachments (ticket_id);
CREATE INDEX attachments_sha256 ON attachments (sha256);

ALTER TABLE articles ADD COLUMN time_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN time_minutes BIGINT NOT NULL DEFAULT 0;
