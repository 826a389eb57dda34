-- States with state types (pending reminder, pending auto close ±, closed ±, merged, removed),
-- the date a pending state is due, and the owner's lock.
ALTER TABLE tickets ADD COLUMN pending_until BIGINT;
ALTER TABLE tickets ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET state = 'closed_successful' WHERE state = 'closed';
-- What the workflow service asks for: pending tickets by the date they are due.
CREATE INDEX tickets_pending ON tickets (pending_until) WHERE pending_until IS NOT NULL;
