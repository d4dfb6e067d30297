package sqlite_test

import (
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/adapters/storetest"
)

// TestContract runs the store contract every store implementation passes.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return sqlitetest.Open(t) })
}
