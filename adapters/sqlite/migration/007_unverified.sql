-- A message whose sender the channel could not prove (a mail neither authenticated nor sent
-- to the author's own reply address). Every earlier message counts as verified.
ALTER TABLE messages ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
