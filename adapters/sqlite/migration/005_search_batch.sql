-- A trigger indexing each message as it is inserted makes FTS5 flush its pending terms into
-- a new segment (and merge segments) at every later statement of the transaction: several
-- times per ticket, inside the commit of an API request. Instead the writer indexes, at the
-- end of each batch, every message after search_progress.last_message_id, in the same
-- transaction (DB.runBatch): one flush per batch, and search still sees every committed
-- message.
DROP TRIGGER messages_search_insert;
CREATE TABLE search_progress (
	id              INTEGER PRIMARY KEY CHECK (id = 1),
	last_message_id INTEGER NOT NULL
);
INSERT INTO search_progress (id, last_message_id) SELECT 1, COALESCE(max(id), 0) FROM messages;
