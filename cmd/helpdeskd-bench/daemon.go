package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/metrics"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
)

// maxKeys bounds how many customers get an API key: the clients spread over their accounts.
const maxKeys = 64

// daemon is helpdeskd's API wired as `helpdeskd serve` wires it with its defaults (email and
// Telegram off, so no outbox dispatcher), on a loopback listener.
type daemon struct {
	db     io.Closer // *sqlite.DB or *postgres.DB
	svc    *core.Service
	srv    *http.Server
	url    string
	keys   []string
	served chan error
	// On Postgres: the desk's database, and what drops it.
	dsn  string
	drop func() error
}

// startDaemon opens a database at dir/helpdeskd.db, fills it with desk (when it has tickets),
// gives the first customers API keys and serves the API on 127.0.0.1.
func startDaemon(ctx context.Context, dir string, desk sqlitetest.FillSpec) (*daemon, error) {
	db, err := sqlite.Open(ctx, filepath.Join(dir, "helpdeskd.db"), sqlite.Options{AttachmentsDir: filepath.Join(dir, "attachments")})
	if err != nil {
		return nil, err
	}
	d := &daemon{db: db}
	if err := sqlitetest.Fill(ctx, db, desk); err != nil {
		db.Close()
		return nil, fmt.Errorf("fill %d tickets: %w", desk.Tickets, err)
	}
	m := metrics.New()
	d.svc = core.NewService(db, db.Blobs(), nil, core.Options{Observer: m})
	if err := d.keys0(ctx, desk.Accounts); err != nil {
		db.Close()
		return nil, err
	}
	if err := d.serve(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Metrics: m, Ready: db.Ping}); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// keys0 gives the customers of the first accounts (up to maxKeys) an API key each.
func (d *daemon) keys0(ctx context.Context, accounts int) error {
	for id := 1; id <= min(accounts, maxKeys); id++ {
		_, key, err := d.svc.CreateAPIKey(ctx, core.System(), int64(id))
		if err != nil {
			return fmt.Errorf("api key for user %d: %w", id, err)
		}
		d.keys = append(d.keys, key)
	}
	return nil
}

// serve serves the API of d.svc on a loopback listener.
func (d *daemon) serve(opts httpapi.Options) error {
	handler := httpapi.New(d.svc, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.url = "http://" + ln.Addr().String()
	d.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	d.served = make(chan error, 1)
	go func() { d.served <- d.srv.Serve(ln) }()
	return nil
}

// stop shuts the server down and closes the database (and drops it, on Postgres).
func (d *daemon) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	if serr := <-d.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	err = errors.Join(err, d.db.Close())
	if d.drop != nil {
		err = errors.Join(err, d.drop())
	}
	return err
}
