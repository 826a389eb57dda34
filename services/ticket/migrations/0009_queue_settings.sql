-- Queues in a hierarchy (names are paths, `2nd Level::Mail`, whose parent exists), with the
-- signature of answers from them, their email addresses, and what a customer's reply to a
-- closed ticket does: reopen it, open a new ticket linked to it, or be rejected.
ALTER TABLE queues ADD COLUMN parent_id TEXT REFERENCES queues (id);
ALTER TABLE queues ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN follow_up TEXT NOT NULL DEFAULT 'reopen';
-- The addresses as a JSON array, read with the queue; `queue_addresses` makes each address
-- belong to one queue of the installation (mail to it lands there).
ALTER TABLE queues ADD COLUMN addresses TEXT NOT NULL DEFAULT '[]';
ALTER TABLE queues ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE queue_addresses (
    address TEXT PRIMARY KEY,
    queue_id TEXT NOT NULL REFERENCES queues (id)
);
CREATE INDEX queue_addresses_queue ON queue_addresses (queue_id);
