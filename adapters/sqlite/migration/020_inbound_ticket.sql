-- The dispatcher threads each notification under the mail that opened its ticket
-- (TicketOrigins): without an index that lookup read every inbound record of the desk for
-- each notification, so mail ingest slowed as the desk grew. Postgres has had it from its
-- first migration.
CREATE INDEX inbound_messages_ticket ON inbound_messages (ticket_id, key) WHERE result = 'ticket';
