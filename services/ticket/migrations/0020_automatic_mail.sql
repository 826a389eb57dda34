-- What automatic mail (an auto-reply, a bounce, list mail) to a closed ticket of the queue does:
-- 'note' keeps it as an internal note and the ticket closed; 'follow_up' handles it as a
-- customer's reply under the queue's follow-up policy.
ALTER TABLE queues ADD COLUMN automatic_mail TEXT NOT NULL DEFAULT 'note';
