-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), as SQLite's migration 011:
-- one row per key of an owner (the API key's user). A row is reserved (running) by the
-- attempt named by token until locked_until, marked committed in the transaction of the
-- write it guards, and done once the answer (status, content type, location, body) is
-- stored; swept after expires_at.
CREATE TABLE idempotency_keys (
	owner_id     bigint      NOT NULL,
	key          text        NOT NULL,
	token        text        NOT NULL,
	fingerprint  text        NOT NULL,
	state        text        NOT NULL CHECK (state IN ('running', 'committed', 'done')),
	locked_until timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	status       integer     NOT NULL DEFAULT 0,
	content_type text        NOT NULL DEFAULT '',
	location     text        NOT NULL DEFAULT '',
	body         bytea,
	PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
