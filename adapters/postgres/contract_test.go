package postgres_test

import (
	"context"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/storetest"
)

// openTest opens a store on a fresh database of the test server, closed when t ends.
func openTest(t testing.TB) *postgres.DB {
	t.Helper()
	return openOn(t, pgtest.DSN(t))
}

// openOn opens a store on dsn, closed when t ends: opened twice on one database, two nodes.
func openOn(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestContract runs the store contract every store implementation passes.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}
