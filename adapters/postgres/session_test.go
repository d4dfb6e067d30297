package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestWrite_RunsAgainOnASessionTheServerEnded: the server ended the sessions of the pool's
// idle connections (its restart, an administrator's pg_terminate_backend) and the pool,
// which asks a connection idle for under a second nothing, hands one of them to the next
// write and the next lease. Neither failed before it reached COMMIT, so both run again on
// another connection instead of failing.
func TestWrite_RunsAgainOnASessionTheServerEnded(t *testing.T) {
	ctx := context.Background()
	direct := pgtest.DSN(t)
	db := openOn(t, direct)
	put := func(id int64) error {
		return db.Write(ctx, func(tx core.Tx) error {
			return tx.PutAccount(ctx, &core.Account{ID: id, Name: "Acme", CreatedAt: time.Now(), UpdatedAt: time.Now()})
		})
	}
	if err := put(1); err != nil {
		t.Fatal(err)
	}
	endServerSessions(t, direct)
	if err := put(2); err != nil {
		t.Fatalf("write after the server ended the pool's sessions: %v", err)
	}
	endServerSessions(t, direct)
	if _, err := db.AcquireLease(ctx, "imap:INBOX", "a", time.Minute); err != nil {
		t.Fatalf("lease after the server ended the pool's sessions: %v", err)
	}
	if err := db.Read(ctx, func(tx core.ReadTx) error {
		_, err := tx.Account(ctx, 2)
		return err
	}); err != nil {
		t.Errorf("the account written after the sessions ended: %v", err)
	}
}
