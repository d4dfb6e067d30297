package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to look into a child's Postgres database

	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/config"
)

// The daemon's tests run on the store the run asks for (teststore.EnvStore): SQLite by
// default, Postgres with HELPDESKD_TEST_STORE=postgres. A test names its database by the
// SQLite path it would use; on Postgres that path is given a database of its own on the
// test server, the same one each time the test asks, so a daemon, the CLI and the test
// itself all meet in it.

var testDSNs sync.Map // SQLite path → DSN of its Postgres database

// testDSN returns the Postgres DSN standing for the database at dbPath, or "" on SQLite.
func testDSN(t testing.TB, dbPath string) string {
	t.Helper()
	if !teststore.Postgres() {
		return ""
	}
	if dsn, ok := testDSNs.Load(dbPath); ok {
		return dsn.(string)
	}
	dsn := pgtest.DSN(t)
	t.Cleanup(func() { testDSNs.Delete(dbPath) })
	actual, _ := testDSNs.LoadOrStore(dbPath, dsn)
	return actual.(string)
}

// sqliteOnlyTest skips a test of what only the SQLite store has (its file, its backup).
func sqliteOnlyTest(t testing.TB, why string) {
	t.Helper()
	if teststore.Postgres() {
		t.Skip("SQLite only: " + why)
	}
}

// databaseTOML is the body of a [database] section for the database at dbPath.
func databaseTOML(t testing.TB, dbPath string) string {
	t.Helper()
	s := fmt.Sprintf("path = %q\n", dbPath)
	if dsn := testDSN(t, dbPath); dsn != "" {
		s += fmt.Sprintf("driver = %q\ndsn = %q\n", config.DriverPostgres, dsn)
	}
	return s
}

// useTestStore points cfg at the run's store for its database path.
func useTestStore(t testing.TB, cfg *config.Config) {
	t.Helper()
	if dsn := testDSN(t, cfg.Database.Path); dsn != "" {
		cfg.Database.Driver, cfg.Database.DSN = config.DriverPostgres, dsn
	}
}

// storeEnv is the environment that points a configuration loaded from it at the run's store
// for dbPath.
func storeEnv(t testing.TB, dbPath string) []string {
	t.Helper()
	env := []string{config.EnvPrefix + "DATABASE_PATH=" + dbPath}
	if dsn := testDSN(t, dbPath); dsn != "" {
		env = append(env, config.EnvPrefix+"DATABASE_DRIVER="+config.DriverPostgres, config.EnvPrefix+"DATABASE_DSN="+dsn)
	}
	return env
}

// openTestStore opens the store of dbPath as the daemon would, closed when t ends.
func openTestStore(t testing.TB, dbPath string) deskStore {
	t.Helper()
	cfg := config.Default()
	cfg.Database.Path = dbPath
	useTestStore(t, &cfg)
	st, err := openStore(context.Background(), cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.db.Close() })
	return st.db
}

// openRawDB opens the database of dbPath for plain queries, beside the daemon that may be
// running on it: read-only on SQLite, through the pgx driver on Postgres. A query reads
// alike on both when it numbers its arguments ($1), which both take.
func openRawDB(t testing.TB, dbPath string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)"
	if pg := testDSN(t, dbPath); pg != "" {
		driver, dsn = "pgx", pg
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}
