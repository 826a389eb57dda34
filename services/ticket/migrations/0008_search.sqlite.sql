-- Full text with FTS5 over the rows themselves (external content), kept current by triggers;
-- unicode61 lower-cases and keeps diacritics, as PostgreSQL's `simple` configuration does.
CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, content = 'tickets', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE articles_fts USING fts5(
    subject, body, content = 'articles', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO tickets_fts (rowid, title) SELECT rowid, title FROM tickets;
INSERT INTO articles_fts (rowid, subject, body) SELECT rowid, subject, body FROM articles;

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO tickets_fts (rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF subject, body ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
    INSERT INTO articles_fts (rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
END;
