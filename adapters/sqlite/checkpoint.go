package sqlite

import (
	"context"
	"time"
)

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
			if frames, _ := db.checkpoint(ctx, "PASSIVE"); frames >= checkpointRestartFrames {
				db.checkpoint(ctx, "RESTART")
			}
			pending = true
			quiet.Reset(checkpointQuiet)
		case <-quiet.C:
			if !pending {
				continue
			}
			_, done := db.checkpoint(ctx, "TRUNCATE")
			if pending = !done; pending {
				quiet.Reset(checkpointQuiet)
			}
		}
	}
}

// checkpoint runs one checkpoint of mode on the checkpointer's connection and returns the
// frames the WAL held and whether it completed (false when it was busy or failed).
func (db *DB) checkpoint(ctx context.Context, mode string) (frames int, done bool) {
	var busy, copied int
	err := db.cdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &copied)
	return frames, err == nil && busy == 0
}
