package pgtest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Search vocabulary of the filled desk, as sqlitetest's: ticket x's description names one of
// 8 topics ("dns", "ssl", "mailbox", "backup", "database", "php", "redirect", "timeout" by
// x mod 8), "code<x mod 1009>" and "err<x mod 10007>".
const (
	SearchCodes = 1009
	SearchErrs  = 10007
)

// FillSpec describes a pre-filled desk for benchmarks, the layout of sqlitetest.FillSpec:
// Accounts accounts (IDs 1..N), one customer each (user ID = account ID, email
// a<N>@bench.example), Properties properties per account (ID account*1000 + n), and Tickets
// tickets (IDs 1..T) spread evenly over the accounts — ticket x belongs to account
// x mod Accounts + 1 — each with its first message (the same ID) and its "created" history
// row.
type FillSpec struct {
	Accounts   int
	Properties int
	Tickets    int
}

// Fill writes spec's rows straight into the database of dsn, which postgres.Open has
// migrated and which holds no desk yet, in one transaction of a few generate_series
// statements: thousands of times faster than going through the use cases. The search
// vectors are those the store's trigger would write. The identity sequences are moved past
// the filled IDs, so new rows continue after them. The secondary indexes of tickets, messages
// and ticket_events are dropped and built again around the inserts (in the same
// transaction); the tables are vacuumed and analysed at the end.
//
// As a superuser it skips the triggers (session_replication_role = replica: the foreign keys
// are not checked row by row, the search vector is written by the insert itself); any other
// owner of the tables gets the same rows, more slowly.
func Fill(ctx context.Context, dsn string, spec FillSpec) error {
	if spec.Accounts < 1 && spec.Tickets > 0 {
		return fmt.Errorf("pgtest: fill %d tickets over %d accounts", spec.Tickets, spec.Accounts)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var super string
	if err := conn.QueryRow(ctx, `SELECT current_setting('is_superuser')`).Scan(&super); err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	now := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Microsecond)
	prelude := []string{`SET LOCAL synchronous_commit = off`}
	if super == "on" {
		prelude = append(prelude, `SET LOCAL session_replication_role = replica`)
	}
	for _, q := range prelude {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("fill: %s: %w", q, err)
		}
	}
	props := max(spec.Properties, 1)
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO accounts (id, name, created_at, updated_at)
			SELECT x, 'Account ' || x, $2, $2 FROM generate_series(1, $1::bigint) x`,
			[]any{spec.Accounts, now}},
		{`INSERT INTO users (id, email, name, role, created_at, updated_at)
			SELECT x, 'a' || x || '@bench.example', 'Customer ' || x, 'customer', $2, $2 FROM generate_series(1, $1::bigint) x`,
			[]any{spec.Accounts, now}},
		{`INSERT INTO memberships (user_id, account_id) SELECT id, id FROM accounts`, nil},
		{`INSERT INTO properties (id, account_id, name, created_at, updated_at)
			SELECT a.id * 1000 + n, a.id, 'site' || n || '.a' || a.id || '.example', $2, $2
			FROM accounts a, generate_series(0, $1::bigint - 1) n`,
			[]any{spec.Properties, now}},
		// Ticket x belongs to account (x mod A) + 1, so every account's tickets interleave
		// through the whole table as they would in a live desk; every third has a property.
		{`INSERT INTO tickets (id, account_id, user_id, subject, description, topic, status, property_id, channel,
				message_count, public_message_count, created_at, updated_at)
			SELECT x, x % $2 + 1, x % $2 + 1, 'Bench ticket ' || x,
				'Something is broken on ticket ' || x || ': ' ||
				(ARRAY['dns', 'ssl', 'mailbox', 'backup', 'database', 'php', 'redirect', 'timeout'])[x % 8 + 1] ||
				' code' || (x % ` + strconv.Itoa(SearchCodes) + `) || ' err' || (x % ` + strconv.Itoa(SearchErrs) + `),
				(x / $2) % 6, (x / $2) % 4,
				CASE WHEN $3::bigint > 0 AND x % 3 = 0 THEN (x % $2 + 1) * 1000 + x % $4 END, 'api',
				1, 1, $5::timestamptz + x * interval '1 microsecond', $5::timestamptz + x * interval '1 microsecond'
			FROM generate_series(1, $1::bigint) x`,
			[]any{spec.Tickets, max(spec.Accounts, 1), spec.Properties, props, now}},
		// The search vector as the messages_search trigger computes it.
		{`INSERT INTO messages (id, ticket_id, author_user_id, author, channel, body, created_at, search)
			SELECT id, id, user_id, 'customer', 'api', description, created_at, search_vector(subject, description)
			FROM tickets`, nil},
		{`INSERT INTO ticket_events (id, ticket_id, at, actor_user_id, kind, to_status)
			SELECT id, id, created_at, user_id, 'created', 0 FROM tickets`, nil},
	}
	for _, table := range []string{"tickets", "messages", "ticket_events"} {
		stmts = append(stmts, struct {
			q    string
			args []any
		}{`SELECT setval(pg_get_serial_sequence('` + table + `', 'id'), COALESCE(max(id), 0) + 1, false) FROM ` + table, nil})
	}
	// The secondary indexes of the big tables are dropped for the inserts and built again
	// after them, in the same transaction: one build is many times faster than a million
	// insertions (the GIN index of the search most of all). The indexes that back
	// constraints (primary keys, unique) stay.
	rows, err := tx.Query(ctx, `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE i.indrelid IN ('tickets'::regclass, 'messages'::regclass, 'ticket_events'::regclass)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
		ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("fill: list indexes: %w", err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fill: list indexes: %w", err)
	}
	for _, name := range names {
		if _, err := tx.Exec(ctx, `DROP INDEX `+name); err != nil {
			return fmt.Errorf("fill: drop index %s: %w", name, err)
		}
	}
	for i, s := range stmts {
		if _, err := tx.Exec(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("fill step %d: %w", i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
		return err
	}
	for _, def := range defs {
		if _, err := tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("fill: %s: %w", def, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// Hint bits and the visibility map set, statistics taken: the desk reads as one that has
	// been live for a while.
	_, err = conn.Exec(ctx, `VACUUM (ANALYZE) accounts, users, memberships, properties, tickets, messages, ticket_events`)
	return err
}

// CreateDatabase creates an empty database named after prefix (plus a random suffix) on the
// server of adminDSN, a DSN with CREATEDB rights, outside any test: for a benchmark command
// that makes its own databases. It returns the new database's DSN and a function that drops
// it (with every connection still open to it).
func CreateDatabase(ctx context.Context, adminDSN, prefix string) (dsn string, drop func() error, err error) {
	name := dbName(prefix)
	dsn, err = withDatabase(adminDSN, name)
	if err != nil {
		return "", nil, fmt.Errorf("pgtest: admin DSN: %w", err)
	}
	if err := exec(adminDSN, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	drop = func() error {
		return exec(adminDSN, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	return dsn, drop, nil
}
