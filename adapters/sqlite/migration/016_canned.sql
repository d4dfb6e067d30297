-- Canned replies: staff-managed texts with placeholders, used by a staff reply
-- (cannedReplyId) and by /canned <name> in the Telegram staff chat. name is stored in lower
-- case and is unique. status: the status the reply sets (1 In Progress, 2 Resolved,
-- 3 Closed), NULL for none. updated_by is the staff user who last changed it, kept without a
-- foreign key so that erasing a user never has to touch the canned replies.
CREATE TABLE canned_replies (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL UNIQUE,
	body       TEXT    NOT NULL,
	status     INTEGER,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by INTEGER NOT NULL DEFAULT 0
);
