-- The language a user's notifications and bot answers are written in (BCP 47, e.g. "es");
-- empty means the desk's default (notify.default_language).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
