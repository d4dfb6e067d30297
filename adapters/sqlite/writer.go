package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

type writeReq struct {
	ctx  context.Context
	fn   func(core.Tx) error
	done chan error
	// index asks for the search index to be brought up to date in this batch.
	index bool
}

// errClosed answers writes queued after Close.
var errClosed = core.Errorf(core.EUNAVAILABLE, "The database is closed.")

// Write runs fn in the writer's transaction and returns once that is committed (or
// failed). A fn that returns an error is undone alone; the rest of its batch commits.
// A ctx carrying an Idempotency-Key's reservation has it marked committed in the same
// transaction (idempotency.go).
func (db *DB) Write(ctx context.Context, fn func(core.Tx) error) error {
	return db.submit(&writeReq{ctx: ctx, fn: withIdempotency(ctx, fn), done: make(chan error, 1)})
}

// submit queues req for the writer and waits for its outcome.
func (db *DB) submit(req *writeReq) error {
	ctx := req.ctx
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
			// Let the callers just answered, queued on this goroutine's P, write their
			// answers before the writer takes the next batch: otherwise they wait behind
			// its statements, or its fsync hands the P to another thread for them, and
			// their callers' next writes miss the batch (docs/benchmarks.md: 8 alternating
			// pairs of 9 at 32 clients spent less CPU per create with it).
			runtime.Gosched()
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
	if fn := db.observeBatch.Load(); fn != nil {
		(*fn)(live)
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
	hooks := &hookTypes{}
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
		w := &writeTx{readTx: readTx{ctx: ctx, q: stx}, queued: &db.batchQueued, hooks: hooks, held: &db.held}
		err := run(r.fn, w)
		if err == nil {
			err = w.finish()
		}
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
