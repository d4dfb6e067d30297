package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweepBatch is how many candidate hashes one query of Sweep lists.
const sweepBatch = 100

// SweepResult is what one Sweep removed.
type SweepResult struct {
	Removed int   // blobs
	Bytes   int64 // their size
	Temp    int   // unfinished uploads: staged rows left by a crash or a stalled request
}

// Sweep removes the blobs older than olderThan (at least StagingGrace) that nothing
// references — uploads of requests that failed before they could be discarded, or of a
// node that stopped in between — and staged rows of uploads that never finished. A blob
// referenced by an attachment or an inbound record (a kept raw mail) is never removed, and
// neither is one stored again within StagingGrace. Each blob goes in a transaction of its
// own that checks again what the listing found, so a Put of the same bytes in between
// keeps them (see Blobs).
func (b *Blobs) Sweep(ctx context.Context, olderThan time.Duration) (SweepResult, error) {
	var res SweepResult
	cutoff := max(olderThan, StagingGrace).Microseconds()
	err := b.db.committed(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM blobs WHERE hash IS NULL AND created_at < now() - $1 * interval '1 microsecond'`, cutoff)
		res.Temp = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return res, fmt.Errorf("sweep unfinished uploads: %w", err)
	}
	var errs []error
	after := ""
	for {
		hashes, err := b.sweepCandidates(ctx, after, cutoff)
		if err != nil {
			return res, errors.Join(append(errs, err)...)
		}
		for _, hash := range hashes {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			n, removed, err := b.sweepOne(ctx, hash, cutoff)
			if err != nil {
				errs = append(errs, err)
			} else if removed {
				res.Removed++
				res.Bytes += n
			}
		}
		if len(hashes) < sweepBatch {
			return res, errors.Join(errs...)
		}
		after = hashes[len(hashes)-1]
	}
}

// sweepCandidates lists, in order, up to sweepBatch hashes after after of blobs older than
// the cutoff that nothing references.
func (b *Blobs) sweepCandidates(ctx context.Context, after string, cutoff int64) ([]string, error) {
	rows, err := b.db.pool.Query(ctx, `SELECT hash FROM blobs
		WHERE hash > $1 AND created_at < now() - $2 * interval '1 microsecond'
			AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.hash = blobs.hash)
			AND NOT EXISTS (SELECT 1 FROM inbound_messages i WHERE i.raw_hash = blobs.hash)
		ORDER BY hash LIMIT $3`, after, cutoff, sweepBatch)
	if err != nil {
		return nil, translate(fmt.Errorf("sweep blobs: %w", err))
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(fmt.Errorf("sweep blobs: %w", err))
	}
	return hashes, nil
}

// sweepOne removes one listed blob unless it was stored again, or came to be referenced,
// since the listing; it says how many bytes went, and whether it did.
func (b *Blobs) sweepOne(ctx context.Context, hash string, cutoff int64) (int64, bool, error) {
	var size int64
	removed := false
	err := b.locked(ctx, hash, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM blobs WHERE hash = $1 AND created_at < now() - $2 * interval '1 microsecond'
			AND NOT (`+blobReferenced+`) RETURNING size`, hash, cutoff).Scan(&size)
		removed = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("sweep blob %s: %w", hash, err)
	}
	return size, removed, nil
}

// SweepBlobs is Blobs.Sweep of the database's blob store.
func (db *DB) SweepBlobs(ctx context.Context, olderThan time.Duration) (SweepResult, error) {
	return db.blobs.Sweep(ctx, olderThan)
}
