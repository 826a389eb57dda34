-- What the mail channel needs of ticket core.
-- An article's idempotency key (e.g. `mail:<message id>`): a retried create or append with the
-- same key returns what the first one made, so a crash between "stored" and "acknowledged"
-- never makes a second ticket or article.
CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL DEFAULT '',
    article_id TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
-- The state of the mail an article went out as (JSON: state, attempts, detail, message id),
-- reported by the mail service; NULL for articles that are not sent.
ALTER TABLE articles ADD COLUMN delivery TEXT;
-- The language a template is written in (`de`, `en`); '' for any.
ALTER TABLE templates ADD COLUMN language TEXT NOT NULL DEFAULT '';
-- Mail from an address belongs to the tenant's customer user with that address.
CREATE INDEX customers_email ON customers (tenant_id, lower(email));
