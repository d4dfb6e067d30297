-- GDPR, as SQLite's migration 017.
CREATE INDEX messages_author ON messages (author_user_id) WHERE author_user_id IS NOT NULL;
CREATE INDEX inbound_messages_sender ON inbound_messages (lower(sender)) WHERE sender != '';
CREATE INDEX inbound_messages_raw_at ON inbound_messages (at) WHERE raw_hash != '';
