-- The change log: one row per thing that happened (a ticket created, a status changed, a
-- message written or hidden, a notification given up, a mail rejected), written in the
-- transaction of the change itself. The change feed reads it by ID, a customer's by account.
-- It only grows; no foreign key ties it to tickets (which are never deleted).
CREATE TABLE changes (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	type             TEXT    NOT NULL,
	at               INTEGER NOT NULL,
	account_id       INTEGER,
	ticket_id        INTEGER,
	message_id       INTEGER,
	internal         INTEGER NOT NULL DEFAULT 0,
	-- from_status and to_status: ticket.status_changed only (NULL otherwise).
	from_status      INTEGER,
	to_status        INTEGER,
	assignee_user_id INTEGER,
	department_id    INTEGER,
	detail           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX changes_account ON changes (account_id, id);

-- Webhooks: the panels' endpoints, the change types each subscribes to (seq keeps the
-- order they were given in), and one delivery per change and subscribed webhook, queued in
-- the change's transaction.
CREATE TABLE webhooks (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	url             TEXT    NOT NULL,
	secret          TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	disabled        INTEGER NOT NULL DEFAULT 0,
	disabled_reason TEXT    NOT NULL DEFAULT '',
	-- failing_since: the first failed attempt since the last delivery that succeeded.
	failing_since   INTEGER
);

CREATE TABLE webhook_events (
	webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	type       TEXT    NOT NULL,
	seq        INTEGER NOT NULL,
	PRIMARY KEY (webhook_id, type)
);
CREATE INDEX webhook_events_type ON webhook_events (type, webhook_id);

CREATE TABLE webhook_deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	change_id       INTEGER NOT NULL REFERENCES changes (id),
	state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
