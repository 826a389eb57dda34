-- What the agent desk's queue overview counts, kept current by triggers (below, per engine) in
-- the transaction of every change to a ticket's queue or state, whichever code path makes it:
-- reading the overview costs a few rows, not a count over every ticket being worked on.
CREATE TABLE queue_state_counts (
    queue_id TEXT NOT NULL,
    state TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (queue_id, state)
);
INSERT INTO queue_state_counts (queue_id, state, n)
    SELECT queue_id, state, COUNT(*) FROM tickets GROUP BY queue_id, state;
-- Services customers may choose in the portal (all of them until an administrator says not).
ALTER TABLE services ADD COLUMN portal INTEGER NOT NULL DEFAULT 1;
-- Escalated: tickets still being worked on that are past their target date (a range of this
-- index; only tickets with a target date are in it).
CREATE INDEX tickets_escalation ON tickets (tenant_id, target_at)
    WHERE target_at IS NOT NULL AND state IN ('new', 'open', 'pending_reminder',
        'pending_auto_close_successful', 'pending_auto_close_unsuccessful');
