-- Times are INTEGER microseconds since the Unix epoch, UTC.
-- Accounts, users and properties keep the panel's own IDs.

CREATE TABLE accounts (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE users (
	id                 INTEGER PRIMARY KEY,
	email              TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	name               TEXT    NOT NULL,
	role               TEXT    NOT NULL CHECK (role IN ('customer', 'staff', 'admin')),
	default_account_id INTEGER,
	telegram_id        INTEGER UNIQUE,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);

CREATE TABLE memberships (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts (id),
	PRIMARY KEY (user_id, account_id)
) WITHOUT ROWID;
CREATE INDEX memberships_account ON memberships (account_id, user_id);

CREATE TABLE properties (
	id         INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts (id),
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX properties_account ON properties (account_id, name);

CREATE TABLE api_keys (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       TEXT    NOT NULL UNIQUE,
	prefix     TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- AUTOINCREMENT: a ticket ID is never reused, so reply tokens and mail threads stay unique.
CREATE TABLE tickets (
	id                   INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id           INTEGER NOT NULL REFERENCES accounts (id),
	user_id              INTEGER NOT NULL REFERENCES users (id),
	subject              TEXT    NOT NULL,
	description          TEXT    NOT NULL,
	topic                INTEGER NOT NULL,
	status               INTEGER NOT NULL,
	property_id          INTEGER REFERENCES properties (id),
	channel              TEXT    NOT NULL,
	follow_up_of         INTEGER,
	message_count        INTEGER NOT NULL DEFAULT 0,
	public_message_count INTEGER NOT NULL DEFAULT 0,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL
);
-- Lists are per account, newest first, optionally filtered by one field.
CREATE INDEX tickets_account          ON tickets (account_id, id);
CREATE INDEX tickets_account_status   ON tickets (account_id, status, id);
CREATE INDEX tickets_account_topic    ON tickets (account_id, topic, id);
CREATE INDEX tickets_account_property ON tickets (account_id, property_id, id);

CREATE TABLE messages (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	ticket_id      INTEGER NOT NULL REFERENCES tickets (id),
	author_user_id INTEGER,
	author         TEXT    NOT NULL,
	channel        TEXT    NOT NULL,
	body           TEXT    NOT NULL,
	internal       INTEGER NOT NULL DEFAULT 0,
	hidden         INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
	message_id   INTEGER NOT NULL REFERENCES messages (id),
	file_name    TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	hash         TEXT    NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_hash ON attachments (hash);

CREATE TABLE ticket_events (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	ticket_id     INTEGER NOT NULL REFERENCES tickets (id),
	at            INTEGER NOT NULL,
	actor_user_id INTEGER,
	kind          TEXT    NOT NULL,
	from_status   INTEGER,
	to_status     INTEGER,
	detail        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- The outbox: written in the transaction of the change that causes it.
CREATE TABLE notifications (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	event           TEXT    NOT NULL,
	channel         TEXT    NOT NULL,
	user_id         INTEGER,
	recipient       TEXT    NOT NULL,
	ticket_id       INTEGER REFERENCES tickets (id),
	message_id      INTEGER,
	new_status      INTEGER,
	detail          TEXT    NOT NULL DEFAULT '',
	in_reply_to     TEXT    NOT NULL DEFAULT '',
	message_ref     TEXT,
	state           TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER
);
CREATE INDEX notifications_due   ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_state ON notifications (state, id);
CREATE UNIQUE INDEX notifications_ref ON notifications (message_ref) WHERE message_ref IS NOT NULL;
CREATE INDEX notifications_ticket ON notifications (ticket_id, id);
CREATE INDEX notifications_notices ON notifications (recipient, created_at) WHERE event = 'notice';

-- Every inbound message applied or refused, by its channel's key: the dedupe record, written
-- in the transaction of the change it made, and the list of rejected mail for staff.
CREATE TABLE inbound_messages (
	channel    TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	result     TEXT    NOT NULL,
	ticket_id  INTEGER,
	message_id INTEGER,
	raw_hash   TEXT    NOT NULL DEFAULT '',
	sender     TEXT    NOT NULL DEFAULT '',
	subject    TEXT    NOT NULL DEFAULT '',
	reason     TEXT    NOT NULL DEFAULT '',
	at         INTEGER NOT NULL,
	PRIMARY KEY (channel, key)
);
CREATE INDEX inbound_messages_result ON inbound_messages (result, at);

-- A row rewritten by readiness probes, proving the database takes writes.
CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
);
