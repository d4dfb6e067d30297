package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
)

// stmtCacheSize bounds the statements kept per pool. The fixed texts number a few dozen;
// the rest is SQL built for filters and searches, of which the least recently used goes.
const stmtCacheSize = 128

// stmtCache keeps prepared statements of one pool by SQL text, so that SQLite parses and
// plans a statement once per connection instead of on every call (a CPU profile of ticket
// creates spent 28 % of all CPU in sqlite3_prepare).
//
// A statement is prepared on the pool (*sql.DB), whose Stmt remembers one driver
// statement per connection; a transaction borrows it with Tx.StmtContext, which reuses the
// one of its own connection or prepares it there once. Preparing on the pool needs a free
// connection, which a transaction's statement must not wait for: the writer's pool has one
// connection, and the read pool's may all be held by transactions that would each wait.
// So a text first seen inside a transaction runs unprepared and is marked pending, and
// preparePending prepares it once the caller holds no connection of the pool.
type stmtCache struct {
	db *sql.DB

	// npending lets the hot path skip the lock when nothing waits to be prepared.
	npending atomic.Int32

	mu      sync.Mutex
	entries map[string]*list.Element // of *cachedStmt, most recently used at the front
	order   list.List
	pending map[string]struct{}
	closed  bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, entries: map[string]*list.Element{}, pending: map[string]struct{}{}}
}

type cachedStmt struct {
	query string
	stmt  *sql.Stmt
}

// cacheable leaves out scripts (several statements in one text): the driver keeps no
// prepared statement for them and parses them again on every run, so keeping one buys
// nothing.
func cacheable(query string) bool {
	return !strings.Contains(strings.TrimRight(query, " \t\r\n;"), ";")
}

// lookup returns the pool's statement for query, or nil when it is not prepared yet (it is
// then marked pending) or not worth caching.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[query]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt
	}
	if c.closed || len(c.pending) >= stmtCacheSize || !cacheable(query) {
		return nil
	}
	if _, ok := c.pending[query]; !ok {
		c.pending[query] = struct{}{}
		c.npending.Add(1)
	}
	return nil
}

// preparePending prepares the texts marked pending. The caller must hold no connection
// of the pool (see stmtCache). A text that fails to prepare is dropped: it failed to run
// too, and is marked again if it is ever run again.
func (c *stmtCache) preparePending(ctx context.Context) {
	if c.npending.Load() == 0 {
		return
	}
	c.mu.Lock()
	todo := c.pending
	c.pending = map[string]struct{}{}
	c.npending.Store(0)
	c.mu.Unlock()
	for query := range todo {
		st, err := c.db.PrepareContext(ctx, query)
		if err != nil {
			continue
		}
		c.add(query, st)
	}
}

func (c *stmtCache) add(query string, st *sql.Stmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.entries[query]; dup || c.closed {
		st.Close()
		return
	}
	c.entries[query] = c.order.PushFront(&cachedStmt{query, st})
	for c.order.Len() > stmtCacheSize {
		old := c.order.Remove(c.order.Back()).(*cachedStmt)
		delete(c.entries, old.query)
		// A transaction still using it keeps it alive: database/sql finalizes a closed
		// Stmt only once its last use ends.
		old.stmt.Close()
	}
}

// close closes every kept statement; later lookups find none and mark nothing.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for e := c.order.Front(); e != nil; e = e.Next() {
		if err := e.Value.(*cachedStmt).stmt.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.order.Init()
	clear(c.entries)
	clear(c.pending)
	c.npending.Store(0)
	return first
}

// len reports how many statements are kept (for tests).
func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// stmtTx is a transaction whose statements run through a stmtCache. It is what readTx
// and writeTx query: the same methods as *sql.Tx.
type stmtTx struct {
	tx    *sql.Tx
	cache *stmtCache
	// used holds this transaction's borrowed statements, so Tx.StmtContext is called once
	// per text per transaction; a handful of texts, so a slice beats a map.
	used []txStmt
}

type txStmt struct {
	query string
	stmt  *sql.Stmt // nil: run unprepared
	// rows is the last result set read through stmt. One driver statement cannot run
	// again while its rows are being read (SQLite would reset it, or refuse the binding),
	// so a nested use of the same text runs unprepared.
	rows *sql.Rows
}

func newStmtTx(tx *sql.Tx, cache *stmtCache) *stmtTx {
	return &stmtTx{tx: tx, cache: cache}
}

// stmt returns the statement to run query with, or nil to run it unprepared; i indexes
// t.used, or is -1.
func (t *stmtTx) stmt(ctx context.Context, query string) (*sql.Stmt, int) {
	for i := range t.used {
		u := &t.used[i]
		if u.query != query {
			continue
		}
		if u.stmt == nil || (u.rows != nil && rowsOpen(u.rows)) {
			return nil, -1
		}
		u.rows = nil
		return u.stmt, i
	}
	var st *sql.Stmt
	if cs := t.cache.lookup(query); cs != nil {
		st = t.tx.StmtContext(ctx, cs)
	}
	t.used = append(t.used, txStmt{query: query, stmt: st})
	if st == nil {
		return nil, -1
	}
	return st, len(t.used) - 1
}

// rowsOpen reports whether rows can still be read: Columns fails once they are closed.
func rowsOpen(rows *sql.Rows) bool {
	_, err := rows.Columns()
	return err == nil
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, _ := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, i := t.stmt(ctx, query)
	if st == nil {
		return t.tx.QueryContext(ctx, query, args...)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err == nil {
		t.used[i].rows = rows
	}
	return rows, err
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, _ := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
