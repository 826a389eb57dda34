-- Reminders and escalations told once: the pending time a ticket's reminder went out for, and
-- the target date its escalation was announced for. A new pending time or target date is told
-- again when it comes.
ALTER TABLE tickets ADD COLUMN reminded_for BIGINT;
ALTER TABLE tickets ADD COLUMN escalated_for BIGINT;
