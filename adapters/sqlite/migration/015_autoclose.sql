-- Auto-close: what the job did to a Resolved ticket in its current quiet period. One row per
-- ticket and step (remind, close); period_start names the period, so a ticket Resolved
-- again (a new period) is reminded again, and a step already recorded for the period is not
-- done twice.
CREATE TABLE ticket_autoclose (
	ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
	step         TEXT    NOT NULL,
	period_start INTEGER NOT NULL,
	at           INTEGER NOT NULL,
	PRIMARY KEY (ticket_id, step)
);
