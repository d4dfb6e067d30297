package sqlite

import "time"

// SetBlobsClock sets the clock the blob store measures StagingGrace with.
func SetBlobsClock(db *DB, now func() time.Time) {
	db.blobs.mu.Lock()
	defer db.blobs.mu.Unlock()
	db.blobs.now = now
}
