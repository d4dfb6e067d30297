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
	"sync/atomic"
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
// nobody) runs at most every checkpointInterval and copies the bulk of the WAL. SQLite
// starts a WAL over only when a write begins with every frame copied, which under steady
// writes never happens by itself; so once the WAL holds checkpointRestartFrames, a RESTART
// checkpoint follows the PASSIVE one: it holds writes back only while it copies the few
// frames written since, and the next write starts the WAL over. Once no write has come for
// checkpointQuiet, a TRUNCATE checkpoint empties the WAL file. checkpointBusy bounds how long
// a RESTART or TRUNCATE waits for a reader or the writer before it gives up until next time.
const (
	checkpointInterval      = time.Second
	checkpointRestartFrames = 1000 // SQLite's own auto-checkpoint threshold, about 4 MB
	checkpointQuiet         = 5 * time.Second
	checkpointBusy          = 200 // milliseconds
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

	// mu makes "not closed yet" and "queued" one step for Write, so nothing is queued
	// after the writer has stopped.
	mu     sync.RWMutex
	closed bool
}

type writeReq struct {
	ctx  context.Context
	fn   func(core.Tx) error
	done chan error
	// index asks for the search index to be brought up to date in this batch.
	index bool
}

// errClosed answers writes queued after Close.
var errClosed = core.Errorf(core.EUNAVAILABLE, "The database is closed.")

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
	db.committed <- struct{}{}  // the migrations
	db.searchBehind.Store(true) // until the writer has looked: a crash may have left some
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
	// What a crash left unindexed is indexed soon after start; later, searchIndexDelay
	// after the first commit that left messages behind.
	index := time.NewTimer(0)
	defer index.Stop()
	indexArmed := true
	for {
		if !indexArmed && db.searchBehind.Load() {
			index.Reset(searchIndexDelay)
			indexArmed = true
		}
		select {
		case <-index.C:
			indexArmed = false
			if db.searchBehind.Load() {
				db.commit([]*writeReq{db.indexReq()})
			}
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
					// A clean stop leaves the search index complete.
					if db.searchBehind.Load() {
						db.commit([]*writeReq{db.indexReq()})
					}
					return
				}
				db.commit(batch)
			}
		}
	}
}

// commit runs a batch of writes in one transaction and answers each of them.
func (db *DB) commit(batch []*writeReq) {
	// The statements run on the writer's own context: a caller going away must not
	// interrupt a statement, which in SQLite may roll back the whole shared transaction.
	ctx := context.Background()
	results := make([]error, len(batch))
	// A write undone after it queued (its savepoint rolled back) leaves this set: one
	// wake-up too many, which finds nothing.
	db.batchQueued = false
	finish := func(err error) {
		for i, r := range batch {
			if results[i] == nil {
				results[i] = err
			}
			r.done <- results[i]
		}
	}
	live := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
		} else {
			live++
		}
	}
	if live == 0 {
		finish(nil)
		return
	}
	// Fast path: the whole batch in one transaction without savepoints. Savepoints are not
	// free: each makes SQLite write a statement journal and makes FTS5 flush its pending
	// terms into a new segment (and merge segments), which costs more than the write itself.
	// A write that fails is rare; then the batch is undone and run again, each write in its
	// own savepoint, so that only the failing one is lost.
	committed, err := db.runBatch(ctx, batch, results, false)
	if err == errRetryWithSavepoints {
		committed, err = db.runBatch(ctx, batch, results, true)
	}
	if err != nil {
		finish(err)
		return
	}
	finish(nil)
	if committed {
		select {
		case db.committed <- struct{}{}:
		default:
		}
		if fn := db.onQueued.Load(); fn != nil && db.batchQueued {
			(*fn)()
		}
	}
}

// errRetryWithSavepoints says a write of a batch run without savepoints failed.
var errRetryWithSavepoints = errors.New("a write failed: run the batch with savepoints")

// runBatch runs the live writes of batch in one transaction and commits it. Without
// savepoints, the first failing write rolls everything back and returns
// errRetryWithSavepoints, leaving results untouched. With savepoints, a failing write is
// rolled back alone and its error put in results. Any other returned error applies to every
// write without a result of its own.
func (db *DB) runBatch(ctx context.Context, batch []*writeReq, results []error, savepoints bool) (bool, error) {
	// Between transactions the writer's one connection is free to prepare what the last
	// batch ran for the first time.
	db.wstmts.preparePending(ctx)
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, translate(fmt.Errorf("begin: %w", err))
	}
	stx := newStmtTx(tx, db.wstmts)
	exec := func(q string) error {
		_, err := stx.ExecContext(ctx, q)
		return err
	}
	ok := 0
	for i, r := range batch {
		if results[i] != nil {
			continue
		}
		if savepoints {
			if err := exec("SAVEPOINT w"); err != nil {
				tx.Rollback()
				return false, translate(fmt.Errorf("savepoint: %w", err))
			}
		}
		err := run(r.fn, &writeTx{readTx: readTx{ctx: ctx, q: stx}, queued: &db.batchQueued})
		if err != nil && !savepoints {
			tx.Rollback()
			return false, errRetryWithSavepoints
		}
		if err != nil {
			results[i] = translate(err)
			if rerr := exec("ROLLBACK TO w; RELEASE w"); rerr != nil {
				// SQLite may already have rolled back the whole transaction (a full disk,
				// an I/O error): nothing in this batch is committed.
				tx.Rollback()
				return false, translate(fmt.Errorf("rollback to savepoint: %w", rerr))
			}
			continue
		}
		if savepoints {
			if err := exec("RELEASE w"); err != nil {
				tx.Rollback()
				return false, translate(fmt.Errorf("release savepoint: %w", err))
			}
		}
		ok++
	}
	if ok == 0 {
		tx.Rollback()
		return false, nil
	}
	indexed := db.indexDue(batch)
	if indexed {
		if err := indexNewMessages(ctx, stx); err != nil {
			tx.Rollback()
			return false, translate(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, translate(fmt.Errorf("commit: %w", err))
	}
	// Before any write of the batch is answered: a search that follows must know.
	if indexed {
		db.lastIndexed = time.Now()
	}
	db.searchBehind.Store(!indexed)
	return true, nil
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
