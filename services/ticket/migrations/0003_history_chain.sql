-- The history's hash chain: each entry carries the hash of the ticket's previous entry and its own
-- (see src/chain.rs). Entries written before this migration carry none and fail verification.
ALTER TABLE ticket_history ADD COLUMN prev_hash TEXT;
ALTER TABLE ticket_history ADD COLUMN hash TEXT;
