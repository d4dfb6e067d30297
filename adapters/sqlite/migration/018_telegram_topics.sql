-- The forum topic each ticket has in a staff chat that is a forum: posts of the ticket go
-- to its topic, and what staff write in the topic answers the ticket. A ticket has at most
-- one topic in a chat (the key) and a topic belongs to one ticket (the unique index, which
-- also finds the ticket of a message written in a topic).
CREATE TABLE telegram_topics (
	chat_id    INTEGER NOT NULL,
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	thread_id  INTEGER NOT NULL,
	closed     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (chat_id, ticket_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX telegram_topics_thread ON telegram_topics (chat_id, thread_id);
