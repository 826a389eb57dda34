-- The history is append-only: UPDATE and DELETE are refused.
CREATE TRIGGER ticket_history_no_update BEFORE UPDATE ON ticket_history
BEGIN
    SELECT RAISE(ABORT, 'ticket_history is append-only');
END;

CREATE TRIGGER ticket_history_no_delete BEFORE DELETE ON ticket_history
BEGIN
    SELECT RAISE(ABORT, 'ticket_history is append-only');
END;
