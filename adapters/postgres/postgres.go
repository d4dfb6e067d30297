// Package postgres is helpdeskd's store on Postgres (jackc/pgx/v5 with pgxpool): core.Store,
// core.Blobs (chunked bytea, so any node serves any file) and every port the gateway and the
// channels use, for a desk that runs several nodes on one database.
//
// Core's writes run at READ COMMITTED with the tickets and messages they read locked
// (Write says why), the store's own at SERIALIZABLE; a write that loses a conflict (SQLSTATE
// 40001 or 40P01) is run again from the start, which core.Store allows. Reads run on a
// read-only REPEATABLE READ snapshot. It knows nothing of HTTP, mail or Telegram.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdeskd/helpdeskd/core"
)

var _ core.Store = (*DB)(nil)

// maxAttempts bounds how often one Write is run when it keeps losing serialization
// conflicts; past it the caller gets EUNAVAILABLE.
const maxAttempts = 20

// Options configures Open.
type Options struct {
	// DSN is a libpq connection string or URL.
	DSN string
	// MaxConns is the pool's size; 0 is DefaultMaxConns.
	MaxConns int32
	// Node names this process among the nodes of the database ("" picks a random name):
	// its claims on notifications are its own, and end when its liveness lease does.
	Node string
}

// DefaultMaxConns is the pool's size unless Options say otherwise. pgxpool's own default
// (4 on a small machine) left most API requests waiting for a connection while the four
// waited for their commits' WAL flush: 16 let 32 clients' creates share the flushes, and
// doubled their rate (docs/benchmarks.md). Mind the server's max_connections: nodes × this.
const DefaultMaxConns = 16

// idleInTransaction is how long the server lets a transaction of this store wait for its
// next statement before it ends the session. The store's transactions are milliseconds long;
// one that waits this long belongs to a process that stopped (SIGSTOP, a frozen VM), and its
// locks must not outlive that: a write under a lease holds the lease's row FOR SHARE
// (checkFence), and until the session ends no other node can take the lease over.
const idleInTransaction = 5 * time.Second

// txOptions returns the options of a transaction at iso (and mode) whose BEGIN sets
// idleInTransaction for that transaction (SET LOCAL), in the same round trip: a setting of
// the session would reach only the server connection it was sent on, and behind PgBouncer's
// transaction pooling a transaction runs on any of them.
func txOptions(iso pgx.TxIsoLevel, mode pgx.TxAccessMode) pgx.TxOptions {
	begin := "BEGIN ISOLATION LEVEL " + string(iso)
	if mode != "" {
		begin += " " + string(mode)
	}
	return pgx.TxOptions{IsoLevel: iso, AccessMode: mode,
		BeginQuery: begin + "; SET LOCAL idle_in_transaction_session_timeout = " + strconv.FormatInt(idleInTransaction.Milliseconds(), 10)}
}

var (
	readOptions      = txOptions(pgx.RepeatableRead, pgx.ReadOnly)
	committedOptions = txOptions(pgx.ReadCommitted, "")
	serialOptions    = txOptions(pgx.Serializable, "")
)

// nodeTTL is how long a node's liveness lease runs without renewal: the claims of a node
// that died mid-send are free for the others within it.
const nodeTTL = 15 * time.Second

// DB is an open helpdeskd database on Postgres.
type DB struct {
	pool  *pgxpool.Pool
	blobs *Blobs

	// onQueued is called after a commit that queued notifications (SetOnQueued).
	onQueued atomic.Pointer[func()]

	// node is this process's name; alive stops, and aliveDone says it stopped, the loop
	// that renews its liveness lease.
	node      string
	alive     chan struct{}
	aliveDone chan struct{}
	closeOnce sync.Once
}

// Open connects, applies pending migrations (once, however many nodes start together) and
// returns the store.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.DSN == "" {
		return nil, errors.New("postgres: empty DSN")
	}
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, errors.New("postgres: the DSN cannot be parsed")
	}
	cfg.MaxConns = DefaultMaxConns
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := &DB{pool: pool}
	if err := db.checkEncoding(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db.blobs = newBlobs(db)
	db.node = opts.Node
	if db.node == "" {
		db.node = randomNode()
	}
	if _, err := db.AcquireLease(ctx, "node:"+db.node, db.node, nodeTTL); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: register node %s: %w", db.node, err)
	}
	db.alive, db.aliveDone = make(chan struct{}), make(chan struct{})
	go db.stayAlive()
	return db, nil
}

// stayAlive renews the node's liveness lease every third of nodeTTL until Close. A renewal
// that fails is tried again at the next tick: meanwhile the node's claims may end early and
// another node may send what it is sending, which the stored Message-IDs make recognisable.
func (db *DB) stayAlive() {
	defer close(db.aliveDone)
	tick := time.NewTicker(nodeTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-db.alive:
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			db.ReleaseLease(ctx, "node:"+db.node, db.node)
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), nodeTTL/3)
			db.AcquireLease(ctx, "node:"+db.node, db.node, nodeTTL)
			cancel()
		}
	}
}

// randomNode names a node: host, process and a random part.
func randomNode() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), rand.Uint32())
}

// Node returns the name of this process among the database's nodes.
func (db *DB) Node() string { return db.node }

// checkEncoding refuses a database that cannot hold or search every customer's text: one
// not in UTF-8, or whose character classification (LC_CTYPE) is C or POSIX, where only
// ASCII letters are letters, so that the search would drop every other word and fold no
// other case.
func (db *DB) checkEncoding(ctx context.Context) error {
	var enc, ctype string
	err := db.pool.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding), datctype FROM pg_database
		WHERE datname = current_database()`).Scan(&enc, &ctype)
	if err != nil {
		return fmt.Errorf("postgres: read the database's encoding: %w", err)
	}
	if enc != "UTF8" || ctype == "C" || ctype == "POSIX" {
		return fmt.Errorf("postgres: the database has encoding %s and LC_CTYPE %s; helpdeskd needs UTF8 with a UTF-8 LC_CTYPE "+
			"such as C.UTF-8 (CREATE DATABASE helpdeskd ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0)", enc, ctype)
	}
	return nil
}

// Pool returns the connection pool, for the store's own tools (copy, leases).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Blobs returns the attachment store.
func (db *DB) Blobs() core.Blobs { return db.blobs }

// Close waits for the connections in use and closes the pool.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.alive)
		<-db.aliveDone
		db.pool.Close()
	})
	return nil
}

// SetOnQueued sets what is called after every commit that queued notifications (the
// dispatcher's wake-up).
func (db *DB) SetOnQueued(fn func()) { db.onQueued.Store(&fn) }

// Read runs fn on a consistent, read-only snapshot.
func (db *DB) Read(ctx context.Context, fn func(core.ReadTx) error) error {
	tx, err := db.pool.BeginTx(ctx, readOptions)
	if err != nil {
		return translate(fmt.Errorf("begin read: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return translate(fn(&readTx{ctx: ctx, tx: tx, db: db}))
}

// Write runs fn in a transaction and commits it. The use cases read a ticket (or a
// message) before they change it, and a write transaction reads them FOR UPDATE: writes
// about one ticket run one after the other, each seeing the last one's result, as on
// SQLite's single writer, while writes about different tickets run side by side. Nothing
// else a use case reads before writing needs that: accounts, users, properties and
// departments are checked by foreign keys, and the uniqueness rules (emails, inbound keys,
// API keys) by unique indexes. So the transaction is READ COMMITTED: at SERIALIZABLE, every
// create read the right-most page of the tickets' primary key where all the others insert,
// and most concurrent creates failed at commit and ran again (docs/benchmarks.md). A
// deadlock between two writes locking two tickets in opposite orders (a merge each way) is
// run again like a serialization failure.
func (db *DB) Write(ctx context.Context, fn func(core.Tx) error) error {
	var queued bool
	err := db.retry(ctx, committedOptions, func(tx pgx.Tx) error {
		w := &writeTx{readTx: readTx{ctx: ctx, tx: tx, lock: true, db: db}}
		if err := run(fn, w); err != nil {
			return err
		}
		if err := w.finish(); err != nil {
			return err
		}
		// An Idempotency-Key's reservation, when ctx carries one, commits with the write.
		if err := markIdempotency(ctx, tx); err != nil {
			return err
		}
		queued = w.queued
		return nil
	})
	if err == nil && queued {
		if f := db.onQueued.Load(); f != nil {
			(*f)()
		}
	}
	return err
}

// serial runs fn in a serializable transaction and commits it, running it again (up to
// maxAttempts times) when it loses a serialization conflict or a deadlock. Every write of
// the store goes through it, the store's own (outbox, Telegram) as well as core's.
func (db *DB) serial(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.retry(ctx, serialOptions, fn)
}

// committed runs fn in a READ COMMITTED transaction and commits it, running it again on a
// deadlock: for the store's writes that take the locks they need themselves.
func (db *DB) committed(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.retry(ctx, committedOptions, fn)
}

// retry runs fn in a transaction of opts and commits it, running it again when it loses a
// serialization conflict or a deadlock, or when its session had ended before it committed.
func (db *DB) retry(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.attempt(ctx, opts, fn)
		if err == nil {
			return nil
		}
		var atCommit *commitError
		if !retryable(err) && !(sessionEnded(err) && !errors.As(err, &atCommit)) {
			return translate(err)
		}
		if attempt == maxAttempts {
			return core.WithCause(core.Errorf(core.EUNAVAILABLE, "The database is too busy; nothing was saved. Try again."), err)
		}
		// A pause before the next run, random so that the transactions that conflicted do
		// not meet again at once, longer after each conflict.
		pause := time.Duration(rand.Int64N(int64(min(attempt, 8)) * int64(time.Millisecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// attempt is one run of serial's transaction.
func (db *DB) attempt(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := checkFence(ctx, tx); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return &commitError{err}
	}
	return nil
}

// commitError is a failed COMMIT: whether the server kept the transaction is not known when
// its session ended there, so it is not run again for that.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// run calls fn, turning a panic into an error so that the transaction is rolled back and
// the caller answers instead of the process dying.
func run(fn func(core.Tx) error, tx core.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return fn(tx)
}

// Ping proves the database takes writes: it rewrites the heartbeat row.
func (db *DB) Ping(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO heartbeat (id, at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`, time.Now().UTC())
	return translate(err)
}

// OutboxDepth counts notifications waiting for delivery.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE state = 'pending'`).Scan(&n)
	return n, translate(err)
}

// Describe names the database a DSN points at for logs: host, port and database, never the
// user's password.
func Describe(dsn string) string {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	c := cfg.ConnConfig
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}
