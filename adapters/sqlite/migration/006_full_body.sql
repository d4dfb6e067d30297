-- The whole text of a mail reply whose stored body is only its new part (the quoted history
-- cut away): staff can read it when the cut was wrong. NULL when the body is all of it.
ALTER TABLE messages ADD COLUMN full_body TEXT;
