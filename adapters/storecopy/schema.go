// Package storecopy copies a whole desk from one store to another, SQLite to Postgres or
// back: every table both schemas share, row by row, in an order the foreign keys allow, and
// every blob an attachment or a kept raw mail references, then checks the copy.
//
// It reads the source on one snapshot (a daemon may be running on it) and writes an empty
// destination in one transaction, so that a copy that fails leaves the destination as
// empty as it found it (but for blobs, which nothing references yet).
package storecopy

// Kind is what a column holds, the same value in either store's form.
type Kind int

const (
	Int      Kind = iota // integer, NOT NULL
	Text                 // text, NOT NULL
	NullInt              // integer or NULL, kept as is (0 stays 0, NULL stays NULL)
	NullText             // text or NULL
	Time                 // SQLite integer microseconds (UTC) / Postgres timestamptz, NOT NULL
	NullTime             // as Time, or NULL; SQLite's 0 ("none") becomes NULL
	Bool                 // SQLite 0/1 / Postgres boolean
)

// Column is one column of a shared table.
type Column struct {
	Name string
	Kind Kind
}

// Table is a table both schemas have, with the columns both have.
type Table struct {
	Name    string
	Columns []Column
	// Key orders the rows read (the primary key).
	Key string
	// Sequence says the table's id is a Postgres identity column and, on SQLite,
	// AUTOINCREMENT or (the tables migration 022 took it from) one more than the largest:
	// after explicit IDs the destination's counter, where it keeps one, must be moved past
	// them.
	Sequence bool
}

func cols(spec ...any) []Column {
	out := make([]Column, 0, len(spec)/2)
	for i := 0; i < len(spec); i += 2 {
		out = append(out, Column{Name: spec[i].(string), Kind: spec[i+1].(Kind)})
	}
	return out
}

// Tables are the shared tables, parents before children. Not copied: SQLite's heartbeat and
// search_progress (and the ticket_search index, rebuilt), Postgres's heartbeat, leases,
// schema_migrations, blobs and blob_chunks (the bytes go through core.Blobs),
// idempotency_keys (answers kept a day, for retries against the store being left), Postgres's
// changes.seq (the feed position; a copy into Postgres numbers the changes by their IDs, as
// SQLite does), and the columns
// locked_until and claimed_by of notifications and webhook_deliveries (a node's claim,
// meaningless in another store: a copy into Postgres leaves them NULL, unclaimed).
var Tables = []Table{
	{Name: "accounts", Key: "id", Columns: cols("id", Int, "name", Text, "created_at", Time, "updated_at", Time)},
	{Name: "users", Key: "id", Columns: cols("id", Int, "email", Text, "name", Text, "role", Text,
		"default_account_id", NullInt, "telegram_id", NullInt, "language", Text, "created_at", Time, "updated_at", Time)},
	{Name: "memberships", Key: "user_id, account_id", Columns: cols("user_id", Int, "account_id", Int)},
	{Name: "properties", Key: "id", Columns: cols("id", Int, "account_id", Int, "name", Text, "created_at", Time, "updated_at", Time)},
	{Name: "api_keys", Key: "id", Sequence: true, Columns: cols("id", Int, "user_id", Int, "hash", Text, "prefix", Text, "created_at", Time)},
	{Name: "departments", Key: "id", Columns: cols("id", Int, "name", Text, "created_at", Time, "updated_at", Time)},
	{Name: "tickets", Key: "id", Sequence: true, Columns: cols("id", Int, "account_id", Int, "user_id", Int,
		"subject", Text, "description", Text, "topic", Int, "status", Int, "property_id", NullInt, "channel", Text,
		"follow_up_of", NullInt, "message_count", Int, "public_message_count", Int, "assignee_user_id", NullInt,
		"department_id", NullInt, "due_at", NullTime, "archived", Bool, "merged_into", NullInt, "service_type", Text,
		"created_at", Time, "updated_at", Time)},
	{Name: "messages", Key: "id", Sequence: true, Columns: cols("id", Int, "ticket_id", Int, "author_user_id", NullInt,
		"author", Text, "channel", Text, "body", Text, "full_body", NullText, "internal", Bool, "hidden", Bool,
		"unverified", Bool, "created_at", Time)},
	{Name: "attachments", Key: "id", Sequence: true, Columns: cols("id", Int, "ticket_id", Int, "message_id", Int,
		"file_name", Text, "content_type", Text, "size", Int, "hash", Text, "created_at", Time)},
	{Name: "ticket_events", Key: "id", Sequence: true, Columns: cols("id", Int, "ticket_id", Int, "at", Time,
		"actor_user_id", NullInt, "kind", Text, "from_status", NullInt, "to_status", NullInt, "detail", Text)},
	{Name: "ticket_favourites", Key: "user_id, ticket_id", Columns: cols("user_id", Int, "ticket_id", Int, "created_at", Time)},
	{Name: "ticket_reads", Key: "user_id, ticket_id", Columns: cols("user_id", Int, "ticket_id", Int, "message_id", Int, "at", Time)},
	{Name: "ticket_sla", Key: "ticket_id", Columns: cols("ticket_id", Int, "policy", Text, "calendar", Text, "created_at", Time,
		"first_response_due", NullTime, "first_response_at", NullTime, "first_response_breached", Bool,
		"first_response_warned", Bool, "resolution_due", NullTime, "resolution_breached", Bool, "resolution_warned", Bool,
		"paused_at", NullTime, "paused_us", Int, "stopped_at", NullTime, "due_at", NullTime, "running_due", NullTime,
		"breached", Bool)},
	{Name: "sla_state", Key: "id", Columns: cols("id", Int, "fingerprint", Text)},
	{Name: "message_revisions", Key: "id", Sequence: true, Columns: cols("id", Int, "message_id", Int, "body", Text,
		"edited_by", NullInt, "edited_at", Time)},
	{Name: "notifications", Key: "id", Sequence: true, Columns: cols("id", Int, "event", Text, "channel", Text,
		"user_id", NullInt, "recipient", Text, "ticket_id", NullInt, "message_id", NullInt, "new_status", NullInt,
		"detail", Text, "in_reply_to", Text, "message_ref", NullText, "state", Text, "attempts", Int,
		"next_attempt_at", Time, "last_error", Text, "created_at", Time, "sent_at", NullTime)},
	{Name: "inbound_messages", Key: "channel, key", Columns: cols("channel", Text, "key", Text, "result", Text,
		"ticket_id", NullInt, "message_id", NullInt, "raw_hash", Text, "sender", Text, "subject", Text,
		"reason", Text, "at", Time)},
	{Name: "telegram_link_codes", Key: "hash", Columns: cols("hash", Text, "user_id", Int, "expires_at", Time, "created_at", Time)},
	{Name: "telegram_offset", Key: "id", Columns: cols("id", Int, "next_update", Int, "updated_at", Time)},
	{Name: "telegram_updates", Key: "update_id", Columns: cols("update_id", Int, "at", Time)},
	{Name: "telegram_dialogues", Key: "telegram_user_id", Columns: cols("telegram_user_id", Int, "state", Text, "updated_at", Time)},
	{Name: "telegram_messages", Key: "chat_id, message_id", Columns: cols("chat_id", Int, "message_id", Int, "ticket_id", Int, "at", Time)},
	{Name: "telegram_topics", Key: "chat_id, ticket_id", Columns: cols("chat_id", Int, "ticket_id", Int, "thread_id", Int,
		"closed", Bool, "created_at", Time)},
	{Name: "changes", Key: "id", Sequence: true, Columns: cols("id", Int, "type", Text, "at", Time, "account_id", NullInt,
		"ticket_id", NullInt, "message_id", NullInt, "internal", Bool, "from_status", NullInt, "to_status", NullInt,
		"assignee_user_id", NullInt, "department_id", NullInt, "detail", Text)},
	{Name: "webhooks", Key: "id", Sequence: true, Columns: cols("id", Int, "url", Text, "secret", Text, "created_at", Time,
		"disabled", Bool, "disabled_reason", Text, "failing_since", NullTime)},
	{Name: "webhook_events", Key: "webhook_id, type", Columns: cols("webhook_id", Int, "type", Text, "seq", Int)},
	{Name: "webhook_deliveries", Key: "id", Sequence: true, Columns: cols("id", Int, "webhook_id", Int, "change_id", Int,
		"state", Text, "attempts", Int, "next_attempt_at", Time, "last_status", Int, "last_error", Text, "created_at", Time,
		"delivered_at", NullTime)},
	{Name: "audit_log", Key: "id", Sequence: true, Columns: cols("id", Int, "at", Time, "actor_user_id", NullInt,
		"action", Text, "subject", Text, "detail", Text)},
	{Name: "canned_replies", Key: "id", Sequence: true, Columns: cols("id", Int, "name", Text, "body", Text, "status", NullInt,
		"created_at", Time, "updated_at", Time, "updated_by", Int)},
	{Name: "ticket_autoclose", Key: "ticket_id, step", Columns: cols("ticket_id", Int, "step", Text, "period_start", Time, "at", Time)},
}

// columnList is the table's columns for a SELECT or an INSERT.
func (t Table) columnList() string {
	s := ""
	for i, c := range t.Columns {
		if i > 0 {
			s += ", "
		}
		s += c.Name
	}
	return s
}

func (t Table) names() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}
