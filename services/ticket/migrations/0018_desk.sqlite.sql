CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO queue_state_counts (queue_id, state, n) VALUES (new.queue_id, new.state, 1)
        ON CONFLICT (queue_id, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets BEGIN
    UPDATE queue_state_counts SET n = n - 1 WHERE queue_id = old.queue_id AND state = old.state;
END;
CREATE TRIGGER tickets_count_update AFTER UPDATE OF queue_id, state ON tickets
    WHEN old.queue_id IS NOT new.queue_id OR old.state IS NOT new.state BEGIN
    UPDATE queue_state_counts SET n = n - 1 WHERE queue_id = old.queue_id AND state = old.state;
    INSERT INTO queue_state_counts (queue_id, state, n) VALUES (new.queue_id, new.state, 1)
        ON CONFLICT (queue_id, state) DO UPDATE SET n = n + 1;
END;
