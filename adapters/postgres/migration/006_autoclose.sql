-- Auto-close: what the job did to a Resolved ticket in its current quiet period, as SQLite's
-- migration 015.
CREATE TABLE ticket_autoclose (
	ticket_id    bigint      NOT NULL REFERENCES tickets (id),
	step         text        NOT NULL,
	period_start timestamptz NOT NULL,
	at           timestamptz NOT NULL,
	PRIMARY KEY (ticket_id, step)
);
