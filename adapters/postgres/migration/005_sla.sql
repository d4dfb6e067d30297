-- SLA state per ticket and the SLA configuration's fingerprint, as SQLite's migration 014.
CREATE TABLE ticket_sla (
	ticket_id               bigint      PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
	policy                  text        NOT NULL,
	calendar                text        NOT NULL DEFAULT '',
	created_at              timestamptz NOT NULL,
	first_response_due      timestamptz,
	first_response_at       timestamptz,
	first_response_breached boolean     NOT NULL DEFAULT false,
	first_response_warned   boolean     NOT NULL DEFAULT false,
	resolution_due          timestamptz,
	resolution_breached     boolean     NOT NULL DEFAULT false,
	resolution_warned       boolean     NOT NULL DEFAULT false,
	paused_at               timestamptz,
	paused_us               bigint      NOT NULL DEFAULT 0,
	stopped_at              timestamptz,
	due_at                  timestamptz,
	running_due             timestamptz,
	breached                boolean     NOT NULL DEFAULT false
);
CREATE INDEX ticket_sla_running ON ticket_sla (running_due) WHERE running_due IS NOT NULL;
CREATE INDEX ticket_sla_breached ON ticket_sla (ticket_id) WHERE breached;

CREATE TABLE sla_state (
	id          integer PRIMARY KEY CHECK (id = 1),
	fingerprint text    NOT NULL
);
