package sqlitetest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"

	_ "modernc.org/sqlite"
)

// Search vocabulary of the filled desk: ticket x's description names one of 8 topics
// ("dns", "ssl", "mailbox", "backup", "database", "php", "redirect", "timeout" by x mod 8),
// "code<x mod 1009>" and "err<x mod 10007>", so a search for a code finds about a thousand
// tickets in a million and one for an err about a hundred. The full-text index is filled
// by the same statement the writer uses, in the same transaction.
const (
	SearchCodes = 1009
	SearchErrs  = 10007
)

// FillSpec describes a pre-filled desk for benchmarks: Accounts accounts (IDs 1..N), one
// customer each (user ID = account ID, email a<N>@bench.example), Properties properties per
// account, and Tickets tickets spread evenly over the accounts, each with its first message.
type FillSpec struct {
	Accounts   int
	Properties int
	Tickets    int
}

// Fill writes spec's rows straight into db's file in one transaction, the way only a
// benchmark would: thousands of times faster than going through the use cases.
func Fill(ctx context.Context, db *sqlite.DB, spec FillSpec) error {
	raw, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(10000)&_pragma=synchronous(off)")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().Add(-24 * time.Hour).UnixMicro()
	stmts := []struct {
		q    string
		args []any
	}{
		{`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
			INSERT INTO accounts (id, name, created_at, updated_at) SELECT x, 'Account ' || x, ?, ? FROM n`,
			[]any{spec.Accounts, now, now}},
		{`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
			INSERT INTO users (id, email, name, role, created_at, updated_at)
			SELECT x, 'a' || x || '@bench.example', 'Customer ' || x, 'customer', ?, ? FROM n`,
			[]any{spec.Accounts, now, now}},
		{`INSERT INTO memberships (user_id, account_id) SELECT id, id FROM accounts`, nil},
		{`WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < ? - 1)
			INSERT INTO properties (id, account_id, name, created_at, updated_at)
			SELECT a.id * 1000 + n.x, a.id, 'site' || n.x || '.a' || a.id || '.example', ?, ? FROM accounts a, n`,
			[]any{spec.Properties, now, now}},
		// Ticket i belongs to account (i mod A) + 1, so every account's tickets interleave
		// through the whole table as they would in a live desk.
		{`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
			INSERT INTO tickets (id, account_id, user_id, subject, description, topic, status, property_id, channel,
				message_count, public_message_count, created_at, updated_at)
			SELECT x, (x % ?) + 1, (x % ?) + 1, 'Bench ticket ' || x,
				'Something is broken on ticket ' || x || ': ' ||
				CASE x % 8 WHEN 0 THEN 'dns' WHEN 1 THEN 'ssl' WHEN 2 THEN 'mailbox' WHEN 3 THEN 'backup'
					WHEN 4 THEN 'database' WHEN 5 THEN 'php' WHEN 6 THEN 'redirect' ELSE 'timeout' END ||
				' code' || (x % ` + strconv.Itoa(SearchCodes) + `) || ' err' || (x % ` + strconv.Itoa(SearchErrs) + `),
				(x / ?) % 6, (x / ?) % 4, CASE WHEN ? > 0 AND x % 3 = 0 THEN ((x % ?) + 1) * 1000 + (x % ?) END, 'api',
				1, 1, ? + x, ? + x FROM n`,
			[]any{spec.Tickets, spec.Accounts, spec.Accounts, spec.Accounts, spec.Accounts, spec.Properties, spec.Accounts, max(spec.Properties, 1), now, now}},
		{`INSERT INTO messages (id, ticket_id, author_user_id, author, channel, body, created_at)
			SELECT id, id, user_id, 'customer', 'api', description, created_at FROM tickets`, nil},
		{`INSERT INTO ticket_events (ticket_id, at, actor_user_id, kind, to_status)
			SELECT id, created_at, user_id, 'created', 0 FROM tickets`, nil},
		// The search index, as the writer keeps it (migration 005).
		{`INSERT OR REPLACE INTO ticket_search (rowid, subject, body)
			SELECT m.id, t.subject, m.body FROM messages m JOIN tickets t ON t.id = m.ticket_id
			WHERE m.id > (SELECT last_message_id FROM search_progress)`, nil},
		{`UPDATE search_progress SET last_message_id = (SELECT COALESCE(max(id), 0) FROM messages)`, nil},
	}
	for i, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("fill step %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = raw.ExecContext(ctx, `ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// Filled returns a database pre-filled by spec, opened from a copy of a file cached in the
// system's temporary directory: a million tickets take a while to write, and every
// benchmark run after the first starts from the cache. The cache is keyed by the spec and
// the schema, so a new migration makes a new file.
func Filled(tb testing.TB, spec FillSpec) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	cache := filepath.Join(os.TempDir(), fmt.Sprintf("helpdeskd-bench-v3-%d-%d-%d-%s.db", spec.Accounts, spec.Properties, spec.Tickets, sqlite.SchemaVersion()))
	if _, err := os.Stat(cache); err != nil {
		tmp := cache + ".building"
		os.Remove(tmp)
		db, err := sqlite.Open(ctx, tmp, sqlite.Options{AttachmentsDir: tb.TempDir()})
		if err != nil {
			tb.Fatal(err)
		}
		if err := Fill(ctx, db, spec); err != nil {
			db.Close()
			tb.Fatal(err)
		}
		if err := db.Close(); err != nil {
			tb.Fatal(err)
		}
		if err := os.Rename(tmp, cache); err != nil {
			tb.Fatal(err)
		}
	}
	path := filepath.Join(tb.TempDir(), "helpdeskd.db")
	if err := copyFile(cache, path); err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
