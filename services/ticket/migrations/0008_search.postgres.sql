-- Full text with the `simple` configuration (lower case, no stemming): German and English alike.
CREATE INDEX tickets_title_fts ON tickets USING GIN (to_tsvector('simple', title));
CREATE INDEX articles_body_fts ON articles USING GIN (to_tsvector('simple', left(subject || ' ' || body, 250000)));
