-- One per-account list index instead of four. Every new ticket went into all four at a
-- place of its own (its account's), so each create dirtied four random index pages, the
-- largest part of a commit's WAL frames. This one index still answers a filtered page and
-- its count from the index alone: the filter columns follow the id, so a page walks the
-- account's entries newest first and tests status, topic and property on each entry
-- before it reads the row (SQLite's deferred seek). A filter that matches few of a large
-- account's tickets reads more entries than the old exact indexes did (docs/storage.md).
DROP INDEX tickets_account;
DROP INDEX tickets_account_status;
DROP INDEX tickets_account_topic;
DROP INDEX tickets_account_property;
CREATE INDEX tickets_account ON tickets (account_id, archived, id, status, topic, property_id);
