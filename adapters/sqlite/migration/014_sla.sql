-- SLA state per ticket (core.TicketSLA): where its policy's first-response and resolution
-- targets stand. Times as in 001 (microseconds, UTC), NULL for none; paused_us is business
-- time in microseconds. due_at, running_due and breached are derived by core on every write
-- (TicketSLA.DueAt, Running, Breached) so that the queue and the SLA job can filter on them.
CREATE TABLE ticket_sla (
	ticket_id               INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
	policy                  TEXT    NOT NULL,
	calendar                TEXT    NOT NULL DEFAULT '',
	created_at              INTEGER NOT NULL,
	first_response_due      INTEGER,
	first_response_at       INTEGER,
	first_response_breached INTEGER NOT NULL DEFAULT 0,
	first_response_warned   INTEGER NOT NULL DEFAULT 0,
	resolution_due          INTEGER,
	resolution_breached     INTEGER NOT NULL DEFAULT 0,
	resolution_warned       INTEGER NOT NULL DEFAULT 0,
	paused_at               INTEGER,
	paused_us               INTEGER NOT NULL DEFAULT 0,
	stopped_at              INTEGER,
	due_at                  INTEGER,
	running_due             INTEGER,
	breached                INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ticket_sla_running ON ticket_sla (running_due) WHERE running_due IS NOT NULL;
CREATE INDEX ticket_sla_breached ON ticket_sla (ticket_id) WHERE breached = 1;

-- The fingerprint of the SLA configuration the stored due times were computed with: one row.
CREATE TABLE sla_state (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	fingerprint TEXT NOT NULL
);
