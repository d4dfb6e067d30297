// Package sqlitetest opens real, temporary helpdeskd databases for tests.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
)

// Open returns a migrated database in a file under tb.TempDir(), closed at cleanup.
func Open(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "helpdeskd.db"), sqlite.Options{})
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close test database: %v", err)
		}
	})
	return db
}
