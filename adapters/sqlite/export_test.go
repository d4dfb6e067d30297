package sqlite

import (
	"database/sql"
	"testing"
	"time"
)

// OpenChecked opens the database file at path as plain SQLite does, closed when t ends, and
// fails t unless SQLite's integrity_check passes on it.
func OpenChecked(t testing.TB, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	CheckIntegrity(t, raw)
	return raw
}

// CheckIntegrity fails t unless SQLite's integrity_check passes on db.
func CheckIntegrity(t testing.TB, db *sql.DB) {
	t.Helper()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}

// SetBlobsClock sets the clock the blob store measures StagingGrace with.
func SetBlobsClock(db *DB, now func() time.Time) {
	db.blobs.mu.Lock()
	defer db.blobs.mu.Unlock()
	db.blobs.now = now
}

// ObserveBatches makes the writer tell fn the size of every batch it runs.
func ObserveBatches(db *DB, fn func(size int)) { db.observeBatch.Store(&fn) }

// QueuedWrites is how many writes wait for the writer.
func QueuedWrites(db *DB) int { return len(db.writes) }
