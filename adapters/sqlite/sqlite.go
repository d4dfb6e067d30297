// Package sqlite is helpdeskd's storage: it implements core.Store over one SQLite file
// (modernc.org/sqlite, no cgo) and core.Blobs over a content-addressed directory.
//
// All writes go through one writer goroutine on one connection. Concurrent writes are
// committed together (group commit): each runs inside its own SAVEPOINT of a shared
// transaction, so one failing write undoes only itself, and a batch costs one fsync.
// Reads use a separate pool and see only committed data. The WAL is copied back into the
// database file by a checkpointer on its own connection, never inside a commit. It knows
// nothing of HTTP, mail or Telegram.
package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"helpdeskd/core"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

var _ core.Store = (*DB)(nil)

//go:embed migration/*.sql
var migrationFS embed.FS

// maxBatch bounds how many writes one commit carries.
const maxBatch = 256

// Checkpoints run on their own connection, not in the writer's commits (whose connection
// has wal_autocheckpoint off): a checkpoint inside a commit would hold up every write of
// its batch. While writes come in, a PASSIVE checkpoint (which waits for nobody and blocks
// nobody) runs at most every checkpointInterval; once no write has come for checkpointQuiet,
// a TRUNCATE checkpoint empties the WAL file. checkpointBusy bounds how long the TRUNCATE
// waits for a reader or a writer before it gives up until the next quiet spell.
const (
	checkpointInterval = time.Second
	checkpointQuiet    = 5 * time.Second
	checkpointBusy     = 200 // milliseconds
)

// Options configures Open. The zero value is the durable default.
type Options struct {
	// AttachmentsDir holds attachment files; "" means "attachments" beside the database.
	AttachmentsDir string
	// Synchronous is SQLite's synchronous pragma: "full" (default: a commit survives power
	// loss) or "normal" (survives a process crash; the last commits may be lost on power loss).
	Synchronous string
	// Readers is the size of the read pool; 0 picks one from the CPU count.
	Readers int
}

// DB is an open helpdeskd database.
type DB struct {
	path  string
	wdb   *sql.DB // exactly one connection: the writer
	rdb   *sql.DB // read-only pool
	cdb   *sql.DB // exactly one connection: the checkpointer
	blobs *Blobs

	writes  chan *writeReq
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once

	// committed tells the checkpointer that the writer committed; checkpointed is closed
	// when the checkpointer has stopped.
	committed    chan struct{}
	checkpointed chan struct{}

	// mu makes "not closed yet" and "queued" one step for Write, so nothing is queued
	// after the writer has stopped.
	mu     sync.RWMutex
	closed bool
}

type writeReq struct {
	ctx  context.Context
	fn   func(core.Tx) error
	done chan error
}

// errClosed answers writes queued after Close.
var errClosed = core.Errorf(core.EUNAVAILABLE, "The database is closed.")

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	sync := strings.ToLower(opts.Synchronous)
	if sync == "" {
		sync = "full"
	}
	if sync != "full" && sync != "normal" {
		return nil, fmt.Errorf("sqlite: synchronous must be full or normal, not %q", opts.Synchronous)
	}
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(" + sync + ")", "foreign_keys(1)"}
	wdb, err := sql.Open("sqlite", dsn(path, append(pragmas, "wal_autocheckpoint(0)"), "immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	db := &DB{path: path, wdb: wdb, writes: make(chan *writeReq, maxBatch), closing: make(chan struct{}), stopped: make(chan struct{}),
		committed: make(chan struct{}, 1), checkpointed: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		wdb.Close()
		return nil, err
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	rdb, err := sql.Open("sqlite", dsn(path, append(pragmas[:1:1], "query_only(1)", "foreign_keys(1)"), "deferred"))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	db.rdb = rdb
	dir := opts.AttachmentsDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(path), "attachments")
	}
	if db.blobs, err = NewBlobs(dir); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	cdb, err := sql.Open("sqlite", dsn(path, []string{fmt.Sprintf("busy_timeout(%d)", checkpointBusy), "synchronous(" + sync + ")"}, "deferred"))
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("open %s for checkpoints: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	cdb.SetConnMaxLifetime(0)
	cdb.SetConnMaxIdleTime(0)
	db.cdb = cdb
	db.committed <- struct{}{} // the migrations
	go db.writer()
	go db.checkpointer()
	return db, nil
}

func dsn(path string, pragmas []string, txlock string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", txlock)
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Blobs returns the attachment store.
func (db *DB) Blobs() core.Blobs { return db.blobs }

// Close lets the writes in flight finish, refuses new ones and closes the database.
func (db *DB) Close() error {
	db.once.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		close(db.closing)
	})
	<-db.stopped
	<-db.checkpointed
	var errs []error
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	errs = append(errs, db.cdb.Close())
	// A clean close checkpoints the WAL into the main file: the writer's connection is the
	// last one.
	errs = append(errs, db.wdb.Close())
	return errors.Join(errs...)
}

// Read runs fn in a read transaction on a consistent snapshot.
func (db *DB) Read(ctx context.Context, fn func(core.ReadTx) error) error {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(&readTx{ctx: ctx, q: tx})
}

// Write runs fn in the writer's transaction and returns once that is committed (or
// failed). A fn that returns an error is undone alone; the rest of its batch commits.
func (db *DB) Write(ctx context.Context, fn func(core.Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return errClosed
	}
	select {
	case db.writes <- req:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the outcome is awaited even if ctx ends: the caller must not be told a
	// write failed that may yet commit.
	return <-req.done
}

func (db *DB) writer() {
	defer close(db.stopped)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case req := <-db.writes:
			batch = append(batch[:0], req)
		collect:
			for len(batch) < maxBatch {
				select {
				case r := <-db.writes:
					batch = append(batch, r)
				default:
					break collect
				}
			}
			db.commit(batch)
		case <-db.closing:
			// Writes queued before Close were accepted: commit them, then stop.
			for {
				batch = batch[:0]
			drain:
				for len(batch) < maxBatch {
					select {
					case r := <-db.writes:
						batch = append(batch, r)
					default:
						break drain
					}
				}
				if len(batch) == 0 {
					return
				}
				db.commit(batch)
			}
		}
	}
}

// commit runs a batch of writes in one transaction, each in its own savepoint.
func (db *DB) commit(batch []*writeReq) {
	// The statements run on the writer's own context: a caller going away must not
	// interrupt a statement, which in SQLite may roll back the whole shared transaction.
	ctx := context.Background()
	results := make([]error, len(batch))
	finish := func(err error) {
		for i, r := range batch {
			if results[i] == nil {
				results[i] = err
			}
			r.done <- results[i]
		}
	}
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		finish(translate(fmt.Errorf("begin: %w", err)))
		return
	}
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			tx.Rollback()
			finish(translate(fmt.Errorf("savepoint: %w", err)))
			return
		}
		if err := run(r.fn, &writeTx{readTx: readTx{ctx: ctx, q: tx}}); err != nil {
			results[i] = translate(err)
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w; RELEASE w"); rerr != nil {
				// SQLite may already have rolled back the whole transaction (a full disk,
				// an I/O error): nothing in this batch is committed.
				tx.Rollback()
				for j := range batch {
					if results[j] == nil {
						results[j] = translate(fmt.Errorf("rollback to savepoint: %w", rerr))
					}
				}
				finish(nil)
				return
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			tx.Rollback()
			finish(translate(fmt.Errorf("release savepoint: %w", err)))
			return
		}
		ok++
	}
	if ok == 0 {
		tx.Rollback()
		finish(nil)
		return
	}
	if err := tx.Commit(); err != nil {
		err = translate(fmt.Errorf("commit: %w", err))
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	finish(nil)
	select {
	case db.committed <- struct{}{}:
	default:
	}
}

// checkpointer copies the WAL into the database file off the commit path (see
// checkpointInterval) until Close. A failed checkpoint is only late: the WAL keeps every
// committed write, and the next one, or Close, copies it.
func (db *DB) checkpointer() {
	defer close(db.checkpointed)
	ctx := context.Background()
	quiet := time.NewTimer(checkpointQuiet)
	defer quiet.Stop()
	pending := false // checkpointed PASSIVE since the last TRUNCATE
	for {
		select {
		case <-db.closing:
			return
		case <-db.committed:
			// Let the commits of one interval gather, then copy them in one go.
			select {
			case <-db.closing:
				return
			case <-time.After(checkpointInterval):
			}
			db.cdb.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			pending = true
			quiet.Reset(checkpointQuiet)
		case <-quiet.C:
			if !pending {
				continue
			}
			var busy, log, done int
			err := db.cdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done)
			if pending = err != nil || busy != 0; pending {
				quiet.Reset(checkpointQuiet)
			}
		}
	}
}

// run calls fn, turning a panic into an error so one bad write cannot stop the writer.
func run(fn func(core.Tx) error, tx core.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			err = fmt.Errorf("panic in write transaction: %v\n%s", p, buf)
		}
	}()
	return fn(tx)
}

// translate turns driver errors that callers can act on into domain errors.
func translate(err error) error {
	if err == nil || core.ErrorCode(err) != core.EINTERNAL {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "SQLITE_FULL") || strings.Contains(msg, "database or disk is full"):
		return &wrapped{core.Errorf(core.EUNAVAILABLE, "The database is full; nothing was saved."), err}
	case strings.Contains(msg, "SQLITE_READONLY") || strings.Contains(msg, "readonly database"):
		return &wrapped{core.Errorf(core.EUNAVAILABLE, "The database is read-only; nothing was saved."), err}
	}
	return err
}

// wrapped keeps the driver error for logs while the domain error decides the answer.
type wrapped struct {
	domain *core.Error
	cause  error
}

func (w *wrapped) Error() string { return w.domain.Error() + ": " + w.cause.Error() }
func (w *wrapped) Unwrap() []error {
	return []error{w.domain, w.cause}
}

// Ping proves the database takes writes: it rewrites the heartbeat row.
func (db *DB) Ping(ctx context.Context) error {
	return db.Write(ctx, func(tx core.Tx) error {
		t := tx.(*writeTx)
		_, err := t.q.ExecContext(t.ctx, `INSERT INTO heartbeat (id, at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET at = excluded.at`, toDB(time.Now()))
		return err
	})
}

// migrate applies every embedded migration not yet recorded, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := migrationFS.ReadDir("migration")
	if err != nil {
		return err
	}
	var files []string
	for _, n := range names {
		files = append(files, n.Name())
	}
	sort.Strings(files)
	for _, name := range files {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile("migration/" + name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, toDB(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// toDB and fromDB convert times to the stored form: microseconds since the epoch, UTC.
func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromDB(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// OutboxDepth counts notifications waiting for delivery.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM notifications WHERE state = 'pending'`).Scan(&n)
	return n, err
}

// SchemaVersion identifies the embedded schema (a hash of every migration); caches of
// database files use it to tell schemas apart.
func SchemaVersion() string {
	names, _ := migrationFS.ReadDir("migration")
	h := sha256.New()
	for _, n := range names {
		body, _ := migrationFS.ReadFile("migration/" + n.Name())
		h.Write([]byte(n.Name()))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
