-- GDPR (docs/privacy.md): an export and an erasure find a user's messages by author and
-- their inbound records by sender; the retention finds the raw mails older than its days.
CREATE INDEX messages_author ON messages (author_user_id) WHERE author_user_id IS NOT NULL;
CREATE INDEX inbound_messages_sender ON inbound_messages (lower(sender)) WHERE sender != '';
CREATE INDEX inbound_messages_raw_at ON inbound_messages (at) WHERE raw_hash != '';
