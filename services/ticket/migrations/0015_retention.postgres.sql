-- Deleting a ticket's history is refused unless a retention run opened the gate for it.
CREATE OR REPLACE FUNCTION ticket_history_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM retention_gate WHERE ticket_id = OLD.ticket_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ticket_history is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE INDEX tickets_retention ON tickets (closed_at) WHERE legal_hold = 0 AND retention_objection = 0 AND anonymised = 0;
