package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// keptTables lost AUTOINCREMENT in migration 022.
var keptTables = []string{"tickets", "messages", "ticket_events", "changes"}

// TestNoAutoincrement_UpgradedDeskGivesNoIDTwice upgrades a desk written before migration
// 022 and checks what the migration promises: new IDs follow the largest given, the writer's
// own connection no longer keeps sqlite_sequence for these tables (it would if it still ran
// the schema it had read before the migration), their rows cannot be deleted, and the file
// is sound.
func TestNoAutoincrement_UpgradedDeskGivesNoIDTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "helpdeskd.db")

	raw, err := sql.Open("sqlite", dsn(path, []string{"journal_mode(WAL)", "foreign_keys(1)"}, "immediate", ""))
	if err != nil {
		t.Fatal(err)
	}
	old := &DB{wdb: raw}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := migrationFS.ReadDir("migration")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() >= "022" {
			break
		}
		if err := old.migrateFile(ctx, f.Name()); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
	}
	// Ticket 41 is the newest; 40 was made after it with an explicit ID, as store copy does.
	for _, q := range []string{
		`INSERT INTO accounts (id, name, created_at, updated_at) VALUES (1, 'a', 0, 0)`,
		`INSERT INTO users (id, email, name, role, created_at, updated_at) VALUES (1, 'ann@example.test', 'Ann', 'customer', 0, 0)`,
		`INSERT INTO tickets (id, account_id, user_id, subject, description, topic, status, channel, created_at, updated_at)
			VALUES (41, 1, 1, 's', 'd', 0, 0, 'api', 0, 0), (40, 1, 1, 's', 'd', 0, 0, 'api', 0, 0)`,
		`INSERT INTO messages (id, ticket_id, author, channel, body, created_at) VALUES (77, 41, 'customer', 'api', 'd', 0)`,
		`INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES (41, 0, 'created', '')`,
		`INSERT INTO changes (type, at, ticket_id, detail) VALUES ('ticket.created', 0, 41, '')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var seq int64
	if err := raw.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'tickets'`).Scan(&seq); err != nil || seq != 41 {
		t.Fatalf("before the migration sqlite_sequence holds %d for tickets (%v), want 41", seq, err)
	}
	raw.Close()

	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	tk := &core.Ticket{AccountID: 1, UserID: 1, Subject: "next", Description: "d", Channel: core.ChannelAPI, CreatedAt: now, UpdatedAt: now}
	msg := &core.Message{Author: core.AuthorCustomer, Channel: core.ChannelAPI, Body: "d", CreatedAt: now}
	if err := db.Write(ctx, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		msg.TicketID = tk.ID
		return tx.CreateMessage(ctx, msg)
	}); err != nil {
		t.Fatal(err)
	}
	if tk.ID != 42 || msg.ID != 78 {
		t.Errorf("new ticket %d and message %d, want 42 and 78", tk.ID, msg.ID)
	}

	var n int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_sequence WHERE name IN ('tickets', 'messages', 'ticket_events', 'changes')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows of sqlite_sequence for the kept tables after a write (%v), want 0: the writer still runs AUTOINCREMENT", n, err)
	}
	for _, table := range keptTables {
		var text string
		if err := db.rdb.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "AUTOINCREMENT") {
			t.Errorf("%s is still declared AUTOINCREMENT:\n%s", table, text)
		}
		err := db.Write(ctx, func(tx core.Tx) error {
			_, err := tx.(*writeTx).q.ExecContext(ctx, `DELETE FROM `+table)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "never deleted") {
			t.Errorf("DELETE FROM %s: %v, want it refused", table, err)
		}
	}
	CheckIntegrity(t, db.rdb)
}
