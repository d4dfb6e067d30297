package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migration/*.sql
var migrations embed.FS

// migrationLock is the key of the transaction-scoped advisory lock that makes nodes starting
// together apply the migrations once: the first takes it, the others wait and then find
// nothing left to do. Transaction-scoped, it is released by the commit even behind a
// transaction-pooling PgBouncer.
const migrationLock = 0x68656c70 // "help"

// migrate applies the migrations not yet applied, all in one transaction.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			name text PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for _, name := range names {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if n > 0 {
				continue
			}
			sql, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, time.Now().UTC()); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// SchemaVersion names the newest migration this build carries.
func SchemaVersion() string {
	names, _ := fs.Glob(migrations, "migration/*.sql")
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1][len("migration/"):]
}
