package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// searchIndexDelay is how long committed messages may wait for the search index. Indexing
// costs FTS5 a new segment and, every few segments, a merge: once per batch that is most of
// the writer's work when batches are small (one client creating tickets one after the
// other), while one flush every searchIndexDelay carries a hundred messages for the price of
// one. A search never sees the delay: FreshSearch indexes what waits before it reads.
const searchIndexDelay = time.Second

// indexDue reports whether the batch indexes the messages written since the last index:
// when one of its writes asks for it, or when the last index is searchIndexDelay old.
func (db *DB) indexDue(batch []*writeReq) bool {
	for _, r := range batch {
		if r.index {
			return true
		}
	}
	return time.Since(db.lastIndexed) >= searchIndexDelay
}

// indexReq is a write that does nothing but bring the search index up to date.
func (db *DB) indexReq() *writeReq {
	return &writeReq{ctx: context.Background(), fn: func(core.Tx) error { return nil }, done: make(chan error, 1), index: true}
}

// FreshSearch brings the search index up to date with every committed message, so that a
// search that follows finds them; it costs nothing when the index is current. Searches
// call it before their read transaction (core's Service.Queue).
func (db *DB) FreshSearch(ctx context.Context) error {
	if !db.searchBehind.Load() {
		return nil
	}
	r := db.indexReq()
	r.ctx = ctx
	return db.submit(r)
}

// indexNewMessages adds the messages written since the last index to the search index, in
// the batch's transaction (see migration 005).
func indexNewMessages(ctx context.Context, tx querier) error {
	var last, newest int64
	err := tx.QueryRowContext(ctx, `SELECT last_message_id, (SELECT COALESCE(max(id), 0) FROM messages) FROM search_progress`).Scan(&last, &newest)
	if err != nil {
		return fmt.Errorf("search progress: %w", err)
	}
	if newest <= last {
		return nil
	}
	// The bound is read by a subquery, not bound as a parameter: with ANALYZE's samples
	// (SQLITE_ENABLE_STAT4) SQLite re-plans a statement whenever a parameter it compares an
	// indexed column with changes, and this one changes every batch.
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO ticket_search (rowid, subject, body)
		SELECT m.id, t.subject, m.body FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE m.id > (SELECT last_message_id FROM search_progress)`); err != nil {
		return fmt.Errorf("index messages after %d: %w", last, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE search_progress SET last_message_id = ?`, newest); err != nil {
		return fmt.Errorf("search progress: %w", err)
	}
	return nil
}
