CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content BLOB NOT NULL
);
CREATE VIRTUAL TABLE attachments_fts USING fts5(
    text, content = 'attachments', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER attachments_fts_insert AFTER INSERT ON attachments BEGIN
    INSERT INTO attachments_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER attachments_fts_update AFTER UPDATE OF text ON attachments BEGIN
    INSERT INTO attachments_fts (attachments_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO attachments_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER attachments_fts_delete AFTER DELETE ON attachments BEGIN
    INSERT INTO attachments_fts (attachments_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
