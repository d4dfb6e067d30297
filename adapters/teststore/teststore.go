// Package teststore opens a fresh, empty store for a test of any package that works on the
// desk's ports (the HTTP API, the pipelines, the channels), on the driver the run asks for:
// SQLite by default, Postgres when HELPDESKD_TEST_STORE=postgres. One switch runs the same
// suites on both stores.
package teststore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// EnvStore names the driver of the run: "sqlite" (or unset) or "postgres".
const EnvStore = "HELPDESKD_TEST_STORE"

// Store is what the tests ask of a store: the ports and what the daemon uses besides them.
// The Telegram gateway's port is spelled out rather than embedded, so that the Telegram
// adapter's own tests can use this package.
type Store interface {
	core.Store
	core.DeliveryLog
	gateway.InboundStore
	gateway.Outbox
	SetMessageRefs(ctx context.Context, refs map[int64]string) error
	RecordOutcomes(ctx context.Context, outcomes []gateway.DeliveryOutcome) error
	TicketOrigins(ctx context.Context, ch core.Channel, ticketIDs []int64) (map[int64]string, error)
	Blobs() core.Blobs
	TelegramOffset(ctx context.Context) (int64, error)
	TelegramUpdateDone(ctx context.Context, updateID int64) (bool, error)
	FinishTelegramUpdate(ctx context.Context, updateID, dialogueUser int64, dialogue string, keep time.Duration) error
	TelegramDialogue(ctx context.Context, telegramUserID int64) (string, error)
	RememberTelegramMessage(ctx context.Context, chatID, messageID, ticketID int64) error
	TelegramMessageTicket(ctx context.Context, chatID, messageID int64) (int64, error)
	TelegramTopic(ctx context.Context, chatID, ticketID int64) (thread int64, closed bool, err error)
	AddTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) (int64, error)
	SetTelegramTopicClosed(ctx context.Context, chatID, ticketID, thread int64, closed bool) error
	ForgetTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) error
	TelegramTopicTicket(ctx context.Context, chatID, thread int64) (int64, error)
	Due(ctx context.Context, now time.Time, limit int) ([]core.Notification, error)
	Ping(ctx context.Context) error
	OutboxDepth(ctx context.Context) (int, error)
	SetOnQueued(fn func())
	Close() error
}

// Postgres reports whether the run is on Postgres.
func Postgres() bool { return os.Getenv(EnvStore) == "postgres" }

// Open returns a new, empty store closed when tb ends. On Postgres it is a database of its
// own on the test server (pgtest), skipped where there is none.
func Open(tb testing.TB) Store {
	tb.Helper()
	switch v := os.Getenv(EnvStore); v {
	case "", "sqlite":
		return sqlitetest.Open(tb)
	case "postgres":
		db, err := postgres.Open(context.Background(), postgres.Options{DSN: pgtest.DSN(tb)})
		if err != nil {
			tb.Fatalf("open test database: %v", err)
		}
		tb.Cleanup(func() { db.Close() })
		return db
	default:
		tb.Fatalf("%s=%q: must be sqlite or postgres", EnvStore, v)
		return nil
	}
}

// BlobHashes lists the content hashes the store keeps bytes under, unfinished uploads
// included ("tmp/…" on SQLite, "staged:ID" on Postgres), sorted: what a test of uploads
// checks was left behind.
func BlobHashes(tb testing.TB, s Store) []string {
	tb.Helper()
	var out []string
	switch db := s.(type) {
	case *sqlite.DB:
		root := filepath.Join(filepath.Dir(db.Path()), "attachments")
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(root, path)
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	case *postgres.DB:
		rows, err := db.Pool().Query(context.Background(), `SELECT coalesce(hash, 'staged:' || id) FROM blobs`)
		if err != nil {
			tb.Fatal(err)
		}
		if out, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			tb.Fatal(err)
		}
	default:
		tb.Fatalf("no blob listing for %T", s)
	}
	slices.Sort(out)
	return out
}

// Count runs a counting query straight on the store's tables (named alike on both
// drivers) and returns its number; q takes its arguments as ?.
func Count(tb testing.TB, s Store, q string, args ...any) int {
	tb.Helper()
	var n int
	switch db := s.(type) {
	case *sqlite.DB:
		raw, err := sql.Open("sqlite", db.Path())
		if err != nil {
			tb.Fatal(err)
		}
		defer raw.Close()
		if err := raw.QueryRow(q, args...).Scan(&n); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	case *postgres.DB:
		var b strings.Builder
		arg := 0
		for _, r := range q {
			if r == '?' {
				arg++
				fmt.Fprintf(&b, "$%d", arg)
				continue
			}
			b.WriteRune(r)
		}
		if err := db.Pool().QueryRow(context.Background(), b.String(), args...).Scan(&n); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	default:
		tb.Fatalf("no raw queries on %T", s)
	}
	return n
}
