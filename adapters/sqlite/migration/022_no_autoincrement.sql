-- The four tables every ticket create writes to lose AUTOINCREMENT. With it, each INSERT
-- scans sqlite_sequence for the table's row and rewrites it: four more reads and writes of
-- that table per create, for a guarantee these tables keep without it. Their rows are never
-- deleted (the triggers below make sure), so SQLite's rowid, one more than the largest in
-- the table, never hands out an ID twice, as AUTOINCREMENT promised (reply tokens, mail
-- threads and webhook consumers rely on it; a rolled-back insert frees its ID either way).
--
-- AUTOINCREMENT changes nothing in how a table is stored, only the code SQLite generates
-- for an INSERT, so the keyword is taken out of the stored CREATE TABLE text instead of
-- rebuilding the tables (SQLite's documented procedure for changes that leave the stored
-- content as it is: https://sqlite.org/lang_altertable.html#otheralter). RESET makes every
-- connection read the schema again.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER PRIMARY KEY')
	WHERE type = 'table' AND name IN ('tickets', 'messages', 'ticket_events', 'changes');
PRAGMA writable_schema = RESET;
DELETE FROM sqlite_sequence WHERE name IN ('tickets', 'messages', 'ticket_events', 'changes');

-- One per table, the same refusal each.
CREATE TRIGGER tickets_kept BEFORE DELETE ON tickets BEGIN SELECT RAISE(ABORT, 'tickets are never deleted: their IDs must not be given again'); END;
CREATE TRIGGER messages_kept BEFORE DELETE ON messages BEGIN SELECT RAISE(ABORT, 'messages are never deleted: their IDs must not be given again'); END;
CREATE TRIGGER ticket_events_kept BEFORE DELETE ON ticket_events BEGIN SELECT RAISE(ABORT, 'ticket events are never deleted: their IDs must not be given again'); END;
CREATE TRIGGER changes_kept BEFORE DELETE ON changes BEGIN SELECT RAISE(ABORT, 'changes are never deleted: their IDs must not be given again'); END;
