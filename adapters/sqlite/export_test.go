package sqlite

import "time"

// SetBlobsClock sets the clock the blob store measures StagingGrace with.
func SetBlobsClock(db *DB, now func() time.Time) {
	db.blobs.mu.Lock()
	defer db.blobs.mu.Unlock()
	db.blobs.now = now
}

// ObserveBatches makes the writer tell fn the size of every batch it runs.
func ObserveBatches(db *DB, fn func(size int)) { db.observeBatch.Store(&fn) }

// QueuedWrites is how many writes wait for the writer.
func QueuedWrites(db *DB) int { return len(db.writes) }
