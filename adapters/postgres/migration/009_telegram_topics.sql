-- Forum topics of tickets in the staff chat, as SQLite's migration 018.
CREATE TABLE telegram_topics (
	chat_id    bigint      NOT NULL,
	ticket_id  bigint      NOT NULL REFERENCES tickets (id),
	thread_id  bigint      NOT NULL,
	closed     boolean     NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (chat_id, ticket_id)
);
CREATE UNIQUE INDEX telegram_topics_thread ON telegram_topics (chat_id, thread_id);
