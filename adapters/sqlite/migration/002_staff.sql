-- The staff side: departments, assignment, deadlines, archive, merge, favourites, read
-- marks, message revisions and the full-text index. Times as in 001: microseconds, UTC.

CREATE TABLE departments (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

ALTER TABLE tickets ADD COLUMN assignee_user_id INTEGER REFERENCES users (id);
ALTER TABLE tickets ADD COLUMN department_id    INTEGER REFERENCES departments (id);
-- due_at: the response deadline (NULL: none).
ALTER TABLE tickets ADD COLUMN due_at           INTEGER;
-- archived: the customer moved the closed ticket out of their default list.
ALTER TABLE tickets ADD COLUMN archived         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN merged_into      INTEGER;
-- service_type: the compatibility API's free-text service kind ("server", "hosting").
ALTER TABLE tickets ADD COLUMN service_type     TEXT    NOT NULL DEFAULT '';

-- The staff queue reads across accounts, most recently updated first.
CREATE INDEX tickets_updated    ON tickets (updated_at, id);
CREATE INDEX tickets_status_upd ON tickets (status, updated_at, id);
CREATE INDEX tickets_assignee   ON tickets (assignee_user_id, updated_at) WHERE assignee_user_id IS NOT NULL;
CREATE INDEX tickets_department ON tickets (department_id, updated_at) WHERE department_id IS NOT NULL;
CREATE INDEX tickets_due        ON tickets (due_at, id) WHERE due_at IS NOT NULL;

CREATE TABLE ticket_favourites (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, ticket_id)
) WITHOUT ROWID;

-- A staff user's read mark: every message up to message_id has been seen.
CREATE TABLE ticket_reads (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	message_id INTEGER NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (user_id, ticket_id)
) WITHOUT ROWID;

-- The text a message had before each edit.
CREATE TABLE message_revisions (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id     INTEGER NOT NULL REFERENCES messages (id),
	body           TEXT    NOT NULL,
	edited_by      INTEGER,
	edited_at      INTEGER NOT NULL
);
CREATE INDEX message_revisions_message ON message_revisions (message_id, id);

-- Full-text search: one row per message (rowid = message ID) holding the ticket's subject
-- and the message's text, so a search finds a ticket by its subject, by any message, or by
-- words of both. Contentless: the text lives only in tickets and messages. Triggers keep it
-- in step with every insert, edit, move (split, merge) and subject change.
CREATE VIRTUAL TABLE ticket_search USING fts5 (subject, body, content = '', contentless_delete = 1);

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
	INSERT INTO ticket_search (rowid, subject, body)
	VALUES (NEW.id, (SELECT subject FROM tickets WHERE id = NEW.ticket_id), NEW.body);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF body, ticket_id ON messages BEGIN
	INSERT OR REPLACE INTO ticket_search (rowid, subject, body)
	VALUES (NEW.id, (SELECT subject FROM tickets WHERE id = NEW.ticket_id), NEW.body);
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
	DELETE FROM ticket_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER tickets_search_subject AFTER UPDATE OF subject ON tickets BEGIN
	INSERT OR REPLACE INTO ticket_search (rowid, subject, body)
	SELECT id, NEW.subject, body FROM messages WHERE ticket_id = NEW.id;
END;

-- Index the messages written before this migration.
INSERT INTO ticket_search (rowid, subject, body)
SELECT m.id, t.subject, m.body FROM messages m JOIN tickets t ON t.id = m.ticket_id;
