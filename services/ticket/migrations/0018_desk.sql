-- What the agent desk's queue overview counts: the tickets still being worked on, per queue and
-- state, with their target date (a ticket past it counts as escalated). Closed, merged and
-- removed tickets (most of a large installation) are not in the index at all.
CREATE INDEX tickets_active ON tickets (tenant_id, queue_id, state, target_at)
    WHERE state IN ('new', 'open', 'pending_reminder', 'pending_auto_close_successful',
                    'pending_auto_close_unsuccessful');
