// Package pgtest helps tests use the throw-away PostgreSQL server that scripts/postgres.sh
// starts (and scripts/test.sh starts for a run): it finds the server from the environment, or
// skips the test, and gives each test a fresh database of its own, dropped when the test
// ends, so that tests of every package can share one server and run in parallel.
//
// It knows nothing of helpdeskd's store (it must not import adapters/postgres): it only
// creates and drops databases.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvDSN is the variable that scripts/postgres.sh writes into DIR/env: the DSN of the
// server's superuser, for its maintenance database (postgres).
const EnvDSN = "HELPDESKD_TEST_POSTGRES"

// EnvCI is the variable that says the servers are required: when it is set (to anything),
// a test that finds no server fails instead of skipping, as scripts/test.sh fails a CI run
// whose servers do not start.
const EnvCI = "CI"

// SkipMessage is why a test skips when no Postgres server is configured.
const SkipMessage = "no Postgres server (" + EnvDSN + " is not set): run ./scripts/test.sh, " +
	"or scripts/postgres.sh start DIR && source DIR/env"

// opTimeout bounds each statement this package sends the server.
const opTimeout = 60 * time.Second

// AdminDSN returns the DSN of the server itself (EnvDSN), for a test that manages databases
// or roles of its own. Without one it skips the test, or fails it when EnvCI is set.
func AdminDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvCI) != "" {
			tb.Fatal("pgtest: " + EnvDSN + " is not set, and under CI (" + EnvCI + " is set) the Postgres tests must run: " +
				"./scripts/test.sh starts a server, or scripts/postgres.sh start DIR && source DIR/env")
		}
		tb.Skip(SkipMessage)
	}
	return dsn
}

// DSN creates an empty database of the test's own on the server of AdminDSN (which skips the
// test when there is none), drops it when the test ends (with every connection still open
// to it), and returns a DSN for it: the server's, with the database name replaced.
func DSN(tb testing.TB) string {
	tb.Helper()
	admin := AdminDSN(tb)
	name := dbName(tb.Name())
	dsn, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}
	if err := exec(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := exec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// EnvBouncer is the variable that scripts/postgres.sh writes into DIR/env when it starts
// PgBouncer in front of the server: the DSN of the postgres database through PgBouncer, a
// URL, in transaction pooling mode (a server connection is a client's for one transaction).
const EnvBouncer = "HELPDESKD_TEST_PGBOUNCER"

// BehindBouncer returns dsn, a DSN of DSN's, as reached through the PgBouncer of EnvBouncer:
// a URL with a query, so a caller may add "&name=value". Without a PgBouncer it skips the
// test, or fails it when EnvCI is set.
func BehindBouncer(tb testing.TB, dsn string) string {
	tb.Helper()
	bouncer := os.Getenv(EnvBouncer)
	if bouncer == "" {
		msg := "no PgBouncer (" + EnvBouncer + " is not set): run ./scripts/test.sh, or scripts/postgres.sh start DIR && source DIR/env " +
			"(it starts one when pgbouncer is installed, and installs it as root)"
		if os.Getenv(EnvCI) != "" {
			tb.Fatal("pgtest: " + msg + "; under CI (" + EnvCI + " is set) the tests behind PgBouncer must run")
		}
		tb.Skip(msg)
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("pgtest: not a DSN: %v", err)
	}
	through, err := withDatabase(bouncer, cfg.Database)
	if err != nil || !strings.Contains(through, "?") {
		tb.Fatalf("pgtest: %s is not a URL with a query", EnvBouncer)
	}
	return through
}

// maxIdent is the longest identifier Postgres keeps (NAMEDATALEN - 1 bytes).
const maxIdent = 63

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// dbName returns "t_<test name>_<random>", of lower-case letters, digits and underscores
// only, at most maxIdent bytes: unique, and telling which test left it behind.
func dbName(test string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	suffix := "_" + hex.EncodeToString(b)
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if room := maxIdent - len("t_") - len(suffix); len(name) > room {
		name = strings.TrimRight(name[:room], "_")
	}
	return "t_" + name + suffix
}

// withDatabase returns dsn with its database name replaced by name. dsn is a URL
// (postgres://…) or keyword=value pairs, the two forms pgx accepts.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("not a valid URL") // the DSN may hold a password: not shown
		}
		u.Path = "/" + name
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// Keyword/value: a later keyword overrides an earlier one.
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}

// exec runs one statement on a connection of its own to the server of dsn. CREATE DATABASE
// fails with object_in_use while another session is connected to its template; it is tried
// again a few times.
func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, sql)
		var pe *pgconn.PgError
		if err == nil || attempt == 20 || !errors.As(err, &pe) || pe.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(50*(attempt+1)) * time.Millisecond):
		}
	}
}
