-- Customer lists filter on archived since 002: the per-account list indexes carry it, so a
-- page and its count are still read from the index alone.
DROP INDEX tickets_account;
DROP INDEX tickets_account_status;
DROP INDEX tickets_account_topic;
DROP INDEX tickets_account_property;
CREATE INDEX tickets_account          ON tickets (account_id, archived, id);
CREATE INDEX tickets_account_status   ON tickets (account_id, archived, status, id);
CREATE INDEX tickets_account_topic    ON tickets (account_id, archived, topic, id);
CREATE INDEX tickets_account_property ON tickets (account_id, archived, property_id, id);
