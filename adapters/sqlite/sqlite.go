// Package sqlite is helpdeskd's storage: it implements core.Store over one SQLite file
// (modernc.org/sqlite, no cgo) and core.Blobs over a content-addressed directory.
//
// All writes go through one writer goroutine on one connection. Concurrent writes are
// committed together (group commit): a batch costs one fsync, and a write that fails undoes
// only itself (the batch is then run again with a savepoint per write).
// Reads use a separate pool and see only committed data. The WAL is copied back into the
// database file by a checkpointer on its own connection, never inside a commit. It knows
// nothing of HTTP, mail or Telegram.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdeskd/core"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

var _ core.Store = (*DB)(nil)

// maxBatch bounds how many writes one commit carries.
const maxBatch = 256

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
	// held are the small raw mails RawMails holds until their inbound record is written.
	held heldRaws

	// wstmts and rstmts keep the prepared statements of the writer and of the read pool.
	wstmts, rstmts *stmtCache

	writes  chan *writeReq
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once

	// committed tells the checkpointer that the writer committed; checkpointed is closed
	// when the checkpointer has stopped.
	committed    chan struct{}
	checkpointed chan struct{}

	// onQueued is called after a commit that queued notifications (SetOnQueued);
	// batchQueued says the batch being committed queued some (the writer's alone).
	onQueued    atomic.Pointer[func()]
	batchQueued bool

	// searchBehind says committed messages wait for the search index (searchindex.go);
	// lastIndexed is when the writer last indexed (the writer's alone).
	searchBehind atomic.Bool
	lastIndexed  time.Time

	// observeBatch, when set (tests), is told the size of every batch the writer commits.
	observeBatch atomic.Pointer[func(size int)]

	// mu makes "not closed yet" and "queued" one step for Write, so nothing is queued
	// after the writer has stopped.
	mu     sync.RWMutex
	closed bool
}

// createPrivate creates the database file with mode 0600 when it does not exist, before
// SQLite would create it 0644. SQLite gives the -wal and -shm files the mode of the
// database file, so they follow. An existing file keeps the mode its owner gave it.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	// The directory and the database hold every ticket and the keys' hashes: only the
	// daemon's user may read them (a directory that exists keeps its mode).
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("create database %s: %w", path, err)
	}
	sync := strings.ToLower(opts.Synchronous)
	if sync == "" {
		sync = "full"
	}
	if sync != "full" && sync != "normal" {
		return nil, fmt.Errorf("sqlite: synchronous must be full or normal, not %q", opts.Synchronous)
	}
	// temp_store(memory): statement journals (savepoints, multi-row statements) would
	// otherwise go to a temporary file, a write() per changed page.
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(" + sync + ")", "foreign_keys(1)", "temp_store(memory)"}
	// secure_delete(1): what a write deletes or rewrites is zeroed in the file, not left in
	// free space, so an erased user's data is gone from it (docs/privacy.md).
	// With every commit synced, the writer's WAL writes are gathered into one per sync
	// (walvfs.go).
	wvfs := ""
	if sync == "full" {
		if err := registerWALVFS(); err != nil {
			return nil, err
		}
		wvfs = walVFSName
	}
	wdb, err := sql.Open("sqlite", dsn(path, append(pragmas, "wal_autocheckpoint(0)", "secure_delete(1)"), "immediate", wvfs))
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
	rdb, err := sql.Open("sqlite", dsn(path, append(pragmas[:1:1], "query_only(1)", "foreign_keys(1)"), "deferred", ""))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	db.rdb = rdb
	db.wstmts, db.rstmts = newStmtCache(wdb), newStmtCache(rdb)
	dir := opts.AttachmentsDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(path), "attachments")
	}
	if db.blobs, err = NewBlobs(dir); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	db.blobs.refs = db.blobReferenced
	db.blobs.inline, db.blobs.dropInline, db.blobs.sweepInline = db.inlineBlob, db.dropInline, db.sweepInline
	cdb, err := sql.Open("sqlite", dsn(path, []string{fmt.Sprintf("busy_timeout(%d)", checkpointBusy), "synchronous(" + sync + ")"}, "deferred", ""))
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
	db.committed <- struct{}{}  // the migrations
	db.searchBehind.Store(true) // until the writer has looked: a crash may have left some
	go db.writer()
	go db.checkpointer()
	return db, nil
}

func dsn(path string, pragmas []string, txlock, vfs string) string {
	q := url.Values{}
	if vfs != "" {
		q.Set("vfs", vfs)
	}
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
	if db.rstmts != nil {
		errs = append(errs, db.rstmts.close(), db.wstmts.close())
	}
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
	defer func() {
		tx.Rollback()
		// The connection is back in the pool: texts first seen in this read can be prepared.
		db.rstmts.preparePending(ctx)
	}()
	return fn(&readTx{ctx: ctx, q: newStmtTx(tx, db.rstmts)})
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
