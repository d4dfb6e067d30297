-- The audit log: who did what to what (canned replies changed, users exported or erased).
CREATE TABLE audit_log (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	at            INTEGER NOT NULL,
	actor_user_id INTEGER,
	action        TEXT    NOT NULL,
	subject       TEXT    NOT NULL DEFAULT '',
	detail        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_subject ON audit_log (subject, id);
