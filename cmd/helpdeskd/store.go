package main

import (
	"context"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// deskStore is what the daemon asks of its store, whichever the driver. It holds the
// adapter's own value, so the optional ports the use cases and the dispatcher look for by
// type assertion (fresh search, batch outcomes) stay visible.
type deskStore interface {
	core.Store
	core.DeliveryLog
	gateway.InboundStore
	gateway.Outbox
	telegram.Store
	webhook.Store
	idempotencyStore
	Due(ctx context.Context, now time.Time, limit int) ([]core.Notification, error)
	Blobs() core.Blobs
	Ping(ctx context.Context) error
	OutboxDepth(ctx context.Context) (int, error)
	SetOnQueued(fn func())
	Close() error
}

// sweepResult is what one blob sweep removed, whichever the store.
type sweepResult struct {
	Removed int
	Bytes   int64
	Temp    int
}

// openedStore is an open store with what differs by driver.
type openedStore struct {
	db deskStore
	// where names the database for logs and messages, never with a password.
	where string
	// sweep removes blobs nothing references that are older than the store's grace.
	sweep func(ctx context.Context) (sweepResult, error)
}

// openStore opens the configured database, applying pending migrations.
func openStore(ctx context.Context, cfg config.Database) (*openedStore, error) {
	switch cfg.Driver {
	case "", config.DriverSQLite:
		db, err := sqlite.Open(ctx, cfg.Path, sqlite.Options{AttachmentsDir: cfg.AttachmentsPath()})
		if err != nil {
			// A database on a read-only or full file system fails here: say which file.
			return nil, fmt.Errorf("open database %s (database.path): %w", cfg.Path, err)
		}
		return &openedStore{db: db, where: cfg.Path, sweep: func(ctx context.Context) (sweepResult, error) {
			r, err := db.SweepBlobs(ctx, sqlite.StagingGrace)
			return sweepResult{Removed: r.Removed, Bytes: r.Bytes, Temp: r.Temp}, err
		}}, nil
	case config.DriverPostgres:
		db, err := postgres.Open(ctx, postgres.Options{DSN: cfg.DSN, MaxConns: int32(cfg.MaxConns)})
		if err != nil {
			return nil, fmt.Errorf("open database (database.dsn): %w", err)
		}
		return &openedStore{db: db, where: "postgres " + postgres.Describe(cfg.DSN), sweep: func(ctx context.Context) (sweepResult, error) {
			r, err := db.SweepBlobs(ctx, postgres.StagingGrace)
			return sweepResult{Removed: r.Removed, Bytes: r.Bytes, Temp: r.Temp}, err
		}}, nil
	}
	return nil, fmt.Errorf("database.driver %q: must be sqlite or postgres", cfg.Driver)
}
