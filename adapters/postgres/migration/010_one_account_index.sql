-- One per-account list index instead of four, as SQLite's migration 019: every new ticket
-- went into all four at its account's place. The filter columns follow the id as key
-- columns, so a filtered page walks the account's entries newest first and B-tree tests
-- status, topic and property on each index entry before it visits the row.
DROP INDEX tickets_account;
DROP INDEX tickets_account_status;
DROP INDEX tickets_account_topic;
DROP INDEX tickets_account_property;
CREATE INDEX tickets_account ON tickets (account_id, archived, id, status, topic, property_id);
