package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "helpdeskd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStmtCache_ReadsAndWritesReuseStatements(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for i := range 3 {
		if err := db.Write(ctx, func(tx core.Tx) error {
			return tx.PutAccount(ctx, &core.Account{ID: int64(i + 1), Name: "acct"})
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Read(ctx, func(tx core.ReadTx) error {
			_, err := tx.Account(ctx, int64(i+1))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The first run of a text marks it, the connection's next free moment prepares it.
	const read = `SELECT name, created_at, updated_at FROM accounts WHERE id = ?`
	if db.rstmts.lookup(read) == nil {
		t.Errorf("read statement not kept; %d kept", db.rstmts.len())
	}
	if db.wstmts.len() == 0 {
		t.Error("writer kept no statement")
	}
}

func TestStmtCache_BoundedAndStillCorrect(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for round := range 2 {
		for i := range stmtCacheSize + 20 {
			q := fmt.Sprintf("SELECT ? + %d", i)
			var got int
			err := db.Read(ctx, func(tx core.ReadTx) error {
				return tx.(*readTx).q.QueryRowContext(ctx, q, 1).Scan(&got)
			})
			if err != nil || got != i+1 {
				t.Fatalf("round %d, %s: %d, %v", round, q, got, err)
			}
		}
	}
	if n := db.rstmts.len(); n > stmtCacheSize || n == 0 {
		t.Errorf("%d statements kept, want 1 to %d", n, stmtCacheSize)
	}
}

// One driver statement cannot serve a query while its own earlier rows are being read: the
// nested one must run apart, and both must see every row.
func TestStmtCache_NestedUseOfOneText(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for i := range 3 {
		if err := db.Write(ctx, func(tx core.Tx) error {
			return tx.PutAccount(ctx, &core.Account{ID: int64(i + 1), Name: "acct"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT id FROM accounts WHERE id >= ? ORDER BY id`
	ids := func(tx querier, from int) []int64 {
		rows, err := tx.QueryContext(ctx, q, from)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var list []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			list = append(list, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return list
	}
	for range 2 { // the second time the text is prepared
		err := db.Read(ctx, func(rt core.ReadTx) error {
			tx := rt.(*readTx).q
			rows, err := tx.QueryContext(ctx, q, 1)
			if err != nil {
				return err
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				n++
				if got := ids(tx, 2); len(got) != 2 {
					t.Errorf("nested: %v", got)
				}
			}
			if n != 3 {
				t.Errorf("outer saw %d rows, want 3", n)
			}
			if got := ids(tx, 1); len(got) != 3 { // after the outer rows are closed
				t.Errorf("after: %v", got)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if db.rstmts.lookup(q) == nil {
		t.Error("the text was never prepared")
	}
}

func TestStmtCache_ClosedWithDB(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "helpdeskd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Read(ctx, func(tx core.ReadTx) error {
			_, err := tx.Departments(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := db.rstmts.len() + db.wstmts.len(); n != 0 {
		t.Errorf("%d statements left after Close", n)
	}
}
