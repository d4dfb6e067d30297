-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): one row per key of an owner
-- (the API key's user). A row is reserved (running) by the attempt named by token until
-- locked_until, marked committed in the transaction of the write it guards, and done once
-- the answer (status, content type, location, body) is stored; swept after expires_at.
-- Times are microseconds since the epoch, like every other table.
CREATE TABLE idempotency_keys (
	owner_id     INTEGER NOT NULL,
	key          TEXT    NOT NULL,
	token        TEXT    NOT NULL,
	fingerprint  TEXT    NOT NULL,
	state        TEXT    NOT NULL CHECK (state IN ('running', 'committed', 'done')),
	locked_until INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	status       INTEGER NOT NULL DEFAULT 0,
	content_type TEXT    NOT NULL DEFAULT '',
	location     TEXT    NOT NULL DEFAULT '',
	body         BLOB,
	PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
