-- Deleting a ticket's history is refused unless a retention run opened the gate for it.
DROP TRIGGER ticket_history_no_delete;
CREATE TRIGGER ticket_history_no_delete BEFORE DELETE ON ticket_history
WHEN NOT EXISTS (SELECT 1 FROM retention_gate WHERE ticket_id = old.ticket_id)
BEGIN
    SELECT RAISE(ABORT, 'ticket_history is append-only');
END;
CREATE INDEX tickets_retention ON tickets (closed_at) WHERE legal_hold = 0 AND retention_objection = 0 AND anonymised = 0;
