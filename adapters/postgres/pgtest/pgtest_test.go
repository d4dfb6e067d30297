package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func exists(t *testing.T, admin *pgx.Conn, db string) bool {
	t.Helper()
	var n int
	if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// Two DSNs name two distinct databases, each connectable and empty, and a table made in one
// is not seen in the other; both are gone when their tests end, even with a connection left
// open.
func TestDSN_DistinctEmptyDatabasesDroppedAfterTheTest(t *testing.T) {
	admin := connect(t, AdminDSN(t))
	var names [2]string
	t.Run("create", func(t *testing.T) {
		var conns [2]*pgx.Conn
		for i := range conns {
			dsn := DSN(t)
			conns[i] = connect(t, dsn)
			names[i] = queryString(t, conns[i], "SELECT current_database()")
			if !strings.Contains(dsn, names[i]) {
				t.Errorf("DSN %q is not for database %q", dsn, names[i])
			}
			var tables int
			if err := conns[i].QueryRow(context.Background(),
				"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "+
					"WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'").Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("database %s has %d relations, want none", names[i], tables)
			}
		}
		if names[0] == names[1] {
			t.Fatalf("both DSNs are for database %q", names[0])
		}
		if _, err := conns[0].Exec(context.Background(), "CREATE TABLE only_here (id int)"); err != nil {
			t.Fatal(err)
		}
		if got := queryString(t, conns[1], "SELECT coalesce(to_regclass('only_here')::text, 'none')"); got != "none" {
			t.Errorf("the table made in %s is seen in %s", names[0], names[1])
		}
		// A connection the test never closes does not keep its database alive.
		leaked, err := pgx.Connect(context.Background(), DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		_ = leaked
		for _, n := range names {
			if !exists(t, admin, n) {
				t.Errorf("database %s is not listed in pg_database", n)
			}
		}
	})
	for _, n := range names {
		if n != "" && exists(t, admin, n) {
			t.Errorf("database %s is still there after its test ended", n)
		}
	}
}

func TestDBName(t *testing.T) {
	long := strings.Repeat("VeryLongTestName/", 10)
	for _, test := range []string{"TestX", "TestX/sub_test#01", long, "///"} {
		a, b := dbName(test), dbName(test)
		if a == b {
			t.Errorf("dbName(%q) twice gave %q", test, a)
		}
		if len(a) > maxIdent || !strings.HasPrefix(a, "t_") || strings.Trim(a, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("dbName(%q) = %q", test, a)
		}
	}
	if got := dbName("TestStore/Tickets"); !strings.HasPrefix(got, "t_teststore_tickets_") {
		t.Errorf("dbName = %q, want it to name the test", got)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres@/postgres?host=/tmp/x/sock", "postgres://postgres@/db1?host=/tmp/x/sock"},
		{"postgres://postgres@/postgres?host=%2Ftmp%2Fa%20b%2Fsock", "postgres://postgres@/db1?host=%2Ftmp%2Fa%20b%2Fsock"},
		{"postgresql://u:p@localhost:5433/other?sslmode=disable", "postgresql://u:p@localhost:5433/db1?sslmode=disable"},
		{"postgres://u@localhost", "postgres://u@localhost/db1"},
		{"postgres://u@/x?dbname=x&host=/s", "postgres://u@/db1?dbname=db1&host=%2Fs"},
		{"host=/tmp/x/sock user=postgres dbname=postgres", "host=/tmp/x/sock user=postgres dbname=postgres dbname=db1"},
	} {
		got, err := withDatabase(tc.in, "db1")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if cfg, err := pgx.ParseConfig(got); err != nil || cfg.Database != "db1" {
			t.Errorf("pgx reads %q as database %v (%v), want db1", got, cfg, err)
		}
	}
}
