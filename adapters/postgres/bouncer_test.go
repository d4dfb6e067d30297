package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/storetest"
)

// The store behind PgBouncer in transaction pooling mode (scripts/postgres.sh starts one with
// fewer server connections per database than the store's pool), configured as
// docs/scaling.md says for a PgBouncer before 1.21: pgx's simple protocol, so that no
// prepared statement is expected to outlive its transaction. Whatever a session would keep
// (a SET, a prepared statement, a session lock) is lost between transactions there.

func openBehindBouncer(t testing.TB) *postgres.DB {
	t.Helper()
	db, _ := openBehindBouncerOn(t)
	return db
}

// openBehindBouncerOn is openBehindBouncer, also returning the DSN of the database itself.
func openBehindBouncerOn(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	direct := pgtest.DSN(t)
	return openOn(t, pgtest.BehindBouncer(t, direct)+"&default_query_exec_mode=simple_protocol"), direct
}

// endServerSessions ends every server session of the database of dsn but its own, as the
// server's restart or PgBouncer's server_lifetime would: PgBouncer opens new server
// connections for its clients, whose own connections (and what they set when they
// connected) stay. It waits until each session is gone (up to 5 s each), so that what
// follows meets connections whose server end has closed, not ones still closing.
func endServerSessions(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no server session of the store's to end")
	}
}

// TestContract_BehindPgBouncer runs the whole store contract through PgBouncer.
func TestContract_BehindPgBouncer(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openBehindBouncer(t) })
}

// TestLease_AFrozenLeaderBehindPgBouncer: the server must end the frozen leader's session
// although the transaction runs on whichever server connection PgBouncer gave it, so the
// limit on idling in a transaction has to come with each transaction, not with the session.
// Its server sessions are ended first, so the leader's transaction runs on a server
// connection that the store never set anything on.
func TestLease_AFrozenLeaderBehindPgBouncer(t *testing.T) {
	db, direct := openBehindBouncerOn(t)
	endServerSessions(t, direct)
	frozenLeader(t, db)
}
