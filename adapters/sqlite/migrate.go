package sqlite

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// migrate applies every embedded migration not yet recorded, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := migrationFS.ReadDir("migration")
	if err != nil {
		return err
	}
	var files []string
	for _, n := range names {
		files = append(files, n.Name())
	}
	sort.Strings(files)
	for _, name := range files {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile("migration/" + name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, toDB(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion identifies the embedded schema (a hash of every migration); caches of
// database files use it to tell schemas apart.
func SchemaVersion() string {
	names, _ := migrationFS.ReadDir("migration")
	h := sha256.New()
	for _, n := range names {
		body, _ := migrationFS.ReadFile("migration/" + n.Name())
		h.Write([]byte(n.Name()))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
