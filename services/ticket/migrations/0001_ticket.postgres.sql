-- The history is append-only: UPDATE and DELETE are refused.
CREATE FUNCTION ticket_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ticket_history is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ticket_history_no_update BEFORE UPDATE OR DELETE ON ticket_history
    FOR EACH ROW EXECUTE FUNCTION ticket_history_append_only();
