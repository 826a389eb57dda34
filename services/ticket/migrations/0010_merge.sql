-- Merging: the merged ticket points at the ticket it was merged into and keeps its history;
-- its articles are copied onto that ticket.
ALTER TABLE tickets ADD COLUMN merged_into TEXT REFERENCES tickets (id);
