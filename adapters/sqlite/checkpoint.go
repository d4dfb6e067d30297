package sqlite

import (
	"context"
	"time"
)

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
