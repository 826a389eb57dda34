-- Two changes moving tickets opposite ways lock the same two counter rows: taking them in key
-- order means neither waits for the other while holding what the other needs.
CREATE FUNCTION count_ticket_states() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO queue_state_counts (queue_id, state, n) VALUES (NEW.queue_id, NEW.state, 1)
            ON CONFLICT (queue_id, state) DO UPDATE SET n = queue_state_counts.n + 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE queue_state_counts SET n = n - 1 WHERE queue_id = OLD.queue_id AND state = OLD.state;
    ELSIF (OLD.queue_id, OLD.state) < (NEW.queue_id, NEW.state) THEN
        UPDATE queue_state_counts SET n = n - 1 WHERE queue_id = OLD.queue_id AND state = OLD.state;
        INSERT INTO queue_state_counts (queue_id, state, n) VALUES (NEW.queue_id, NEW.state, 1)
            ON CONFLICT (queue_id, state) DO UPDATE SET n = queue_state_counts.n + 1;
    ELSE
        INSERT INTO queue_state_counts (queue_id, state, n) VALUES (NEW.queue_id, NEW.state, 1)
            ON CONFLICT (queue_id, state) DO UPDATE SET n = queue_state_counts.n + 1;
        UPDATE queue_state_counts SET n = n - 1 WHERE queue_id = OLD.queue_id AND state = OLD.state;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_count_insert_delete AFTER INSERT OR DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION count_ticket_states();
CREATE TRIGGER tickets_count_update AFTER UPDATE OF queue_id, state ON tickets
    FOR EACH ROW WHEN (OLD.queue_id IS DISTINCT FROM NEW.queue_id OR OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION count_ticket_states();
