-- The Telegram gateway: one-time link codes, the update offset, finished updates, the
-- customers' open dialogues, and which bot message belongs to which ticket.

-- A code from POST /api/Telegram/Link; only its SHA-256 is kept. Used once, then deleted.
CREATE TABLE telegram_link_codes (
	hash       TEXT    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX telegram_link_codes_expiry ON telegram_link_codes (expires_at);

-- One row: the next update ID to ask getUpdates for. It moves only after an update is
-- committed, so Telegram redelivers whatever was not.
CREATE TABLE telegram_offset (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	next_update INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

-- Updates finished without going through the inbound pipeline (commands, dialogue steps),
-- recorded in the transaction that stored their effect: the dedupe record for them.
CREATE TABLE telegram_updates (
	update_id INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL
);
CREATE INDEX telegram_updates_at ON telegram_updates (at);

-- A dialogue in progress with one Telegram user (/new, "new ticket or reply?"), as JSON.
CREATE TABLE telegram_dialogues (
	telegram_user_id INTEGER PRIMARY KEY,
	state            TEXT    NOT NULL,
	updated_at       INTEGER NOT NULL
);

-- Every bot message that belongs to a ticket: a Telegram reply to it replies to the ticket.
CREATE TABLE telegram_messages (
	chat_id    INTEGER NOT NULL,
	message_id INTEGER NOT NULL,
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	at         INTEGER NOT NULL,
	PRIMARY KEY (chat_id, message_id)
) WITHOUT ROWID;
