package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

var _ core.Blobs = (*Blobs)(nil)

// StagingGrace is how long a stored blob is left alone although nothing references it yet:
// the time between an upload being staged and the row that references it committing (an
// API request, a mail being applied), with a wide margin. The sweep removes only what is
// older; a failed request may remove its own blob earlier, when no other upload of the same
// bytes happened within this time (Discard).
const StagingGrace = time.Hour

// chunkSize is the most bytes one row of blob_chunks holds, and so about what Put and an
// open blob hold in memory at once: big enough that a 20 MB file is a few dozen round
// trips, small enough that many uploads at once stay cheap.
const chunkSize = 512 << 10

// dropTimeout bounds removing the staged chunks of an upload that failed, which runs after
// the request's context may be gone.
const dropTimeout = 30 * time.Second

// graceMicros is StagingGrace as SQL takes it: `$n * interval '1 microsecond'`.
var graceMicros = StagingGrace.Microseconds()

// Blobs keeps attachment bytes, and the raw mails the gateway keeps, in the database (tables
// blobs and blob_chunks), named by their SHA-256, so the same file sent twice is stored once
// and any node serves any file. Because bytes are shared, a blob is removed only when no
// attachment and no inbound record references it and no upload of it may still be about to.
//
// Why a Put racing a Discard or a Sweep of the same bytes never leaves a reference to
// missing bytes. The SQLite store counts, in memory and under one mutex, the uploads of each
// hash within StagingGrace that no Discard has ended, and removes bytes only when that count
// is zero and no committed row references them. Several nodes share no memory, so here the
// count is the blob row's pending, and the start of the grace its created_at, which every
// Put of the hash refreshes (a Put over a row whose grace has run out starts the count
// again at one, as SQLite forgets uploads older than the grace). Ending a Put (counting it
// on the existing row, or naming its staged row after the hash) and the check-and-delete of
// Discard and Sweep each run in one transaction holding the hash's advisory lock (locked),
// so they run one after the other on every node, each seeing what the one before committed
// (READ COMMITTED reads after the lock is taken), whichever comes first:
//   - the Put first: the Discard then finds pending above one and only counts down, and the
//     sweep finds a fresh created_at; both keep the bytes;
//   - the delete first: the Put finds no row and makes its own staged row the hash's. Its
//     chunks hang off its own row id until then, so no delete of the hash can take them.
//
// (At SERIALIZABLE instead, as they first ran, eight uploads of one file at once made each
// other fail on the shared row until the retries ran out.)
//
// The reference check reads committed attachments and inbound records only. The lock cannot
// cover a reference still being written, since the request writing it takes no blob lock;
// the count does, because that request's
// own Put is within the grace. What stays unprotected is what SQLite leaves too: a row that
// references bytes more than StagingGrace after their Put.
//
// Times are the database's clock (now()), the one clock every node shares.
type Blobs struct{ db *DB }

func newBlobs(db *DB) *Blobs { return &Blobs{db: db} }

// Put streams r into chunks of a staged row, hashing as it goes, and names the row after
// the hash at the end, unless the bytes are stored already, in which case the staged row
// goes and the stored one counts one more upload. Reading stops one byte past max.
func (b *Blobs) Put(ctx context.Context, r io.Reader, max int64) (string, int64, error) {
	limit := max
	if limit < math.MaxInt64 {
		limit++
	}
	src := io.LimitReader(blobCtxReader{ctx, r}, limit)
	h := sha256.New()
	buf := make([]byte, chunkSize)
	var staged, size int64 // staged: the row holding the chunks so far, 0 before the first
	done := false
	defer func() {
		if !done && staged != 0 {
			b.drop(ctx, staged)
		}
	}()
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(src, buf)
		end := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !end {
			return "", 0, fmt.Errorf("store upload: %w", err)
		}
		h.Write(buf[:n])
		size += int64(n)
		if size > max {
			return "", 0, core.Errorf(core.ETOOLARGE, "File is larger than %d bytes.", max)
		}
		if end {
			hash := hex.EncodeToString(h.Sum(nil))
			if err := b.finish(ctx, staged, seq, buf[:n], hash, size); err != nil {
				return "", 0, fmt.Errorf("store upload: %w", err)
			}
			done = true
			return hash, size, nil
		}
		id, err := b.stage(ctx, staged, seq, buf[:n])
		if err != nil {
			return "", 0, fmt.Errorf("store upload: %w", err)
		}
		staged = id
	}
}

// stage stores one chunk of an upload that has more to come, creating its staged row with
// the first; it returns the row. Each chunk refreshes the row's created_at, so that the
// sweep takes only uploads that stopped, however long a slow one takes.
func (b *Blobs) stage(ctx context.Context, staged int64, seq int, data []byte) (int64, error) {
	var id int64
	// The staged row is this upload's alone (no hash yet): nothing to serialise with.
	err := b.db.committed(ctx, func(tx pgx.Tx) error {
		id = staged
		if id == 0 {
			return tx.QueryRow(ctx, `WITH s AS (INSERT INTO blobs (created_at) VALUES (now()) RETURNING id)
				INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, $1, $2 FROM s RETURNING blob_id`,
				seq, data).Scan(&id)
		}
		tag, err := tx.Exec(ctx, `WITH s AS (UPDATE blobs SET created_at = now() WHERE id = $1 AND hash IS NULL RETURNING id)
			INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, $2, $3 FROM s`, id, seq, data)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errSwept
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("chunk %d: %w", seq, err)
	}
	return id, nil
}

// errSwept is an upload whose staged row the sweep removed (it stalled past the grace).
var errSwept = errors.New("the upload stalled and its staged bytes were swept")

// finish ends an upload whose last chunk is data (seq; empty when the bytes ended on a
// chunk's boundary) and whose bytes hash to hash. staged is its row, or 0 when all its bytes
// are in data.
func (b *Blobs) finish(ctx context.Context, staged int64, seq int, data []byte, hash string, size int64) error {
	for attempt := 1; ; attempt++ {
		err := b.locked(ctx, hash, func(tx pgx.Tx) error { return finishTx(ctx, tx, staged, seq, data, hash, size) })
		// Two uploads of new bytes finishing at once: the one that names its row second
		// loses the unique key, and run again finds the other's row and counts on it.
		if err == nil || !isUnique(err) || attempt == maxAttempts {
			return err
		}
	}
}

func finishTx(ctx context.Context, tx pgx.Tx, staged int64, seq int, data []byte, hash string, size int64) error {
	tag, err := tx.Exec(ctx, `UPDATE blobs SET created_at = now(),
			pending = CASE WHEN created_at > now() - $2 * interval '1 microsecond' THEN pending + 1 ELSE 1 END
		WHERE hash = $1`, hash, graceMicros)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		if staged != 0 {
			_, err = tx.Exec(ctx, `DELETE FROM blobs WHERE id = $1 AND hash IS NULL`, staged)
		}
		return err
	}
	id := staged
	if id == 0 {
		err = tx.QueryRow(ctx, `INSERT INTO blobs (hash, size, created_at, pending) VALUES ($1, $2, now(), 1) RETURNING id`,
			hash, size).Scan(&id)
		if err != nil {
			return err
		}
	} else {
		tag, err := tx.Exec(ctx, `UPDATE blobs SET hash = $2, size = $3, created_at = now(), pending = 1
			WHERE id = $1 AND hash IS NULL`, id, hash, size)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errSwept
		}
	}
	if len(data) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)`, id, seq, data)
	return err
}

// drop removes the staged row of an upload that failed; if it cannot, the sweep will.
func (b *Blobs) drop(ctx context.Context, staged int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
	defer cancel()
	_ = b.db.committed(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM blobs WHERE id = $1 AND hash IS NULL`, staged)
		return err
	})
}

// Discard ends one Put of hash whose row will never be written (its request failed) and
// removes the bytes if nothing can need them: no other Put of the same bytes within
// StagingGrace (another request may be about to reference them), no attachment and no
// inbound record referencing them. Whatever is kept, the sweep looks at again later.
func (b *Blobs) Discard(ctx context.Context, hash string) error {
	if !validBlobHash(hash) {
		return nil
	}
	err := b.locked(ctx, hash, func(tx pgx.Tx) error {
		var (
			id      int64
			pending int
			recent  bool
		)
		err := tx.QueryRow(ctx, `SELECT id, pending, created_at > now() - $2 * interval '1 microsecond'
			FROM blobs WHERE hash = $1 FOR UPDATE`, hash, graceMicros).Scan(&id, &pending, &recent)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if !recent || pending == 0 {
			return nil // stored before StagingGrace, or every upload ended: the sweep decides
		}
		if pending > 1 {
			_, err = tx.Exec(ctx, `UPDATE blobs SET pending = pending - 1 WHERE id = $1`, id)
			return err
		}
		var used bool
		if err := tx.QueryRow(ctx, `SELECT `+blobReferenced, hash).Scan(&used); err != nil {
			return err
		}
		if used {
			_, err = tx.Exec(ctx, `UPDATE blobs SET pending = 0 WHERE id = $1`, id)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM blobs WHERE id = $1`, id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("discard blob %s: %w", hash, err)
	}
	return nil
}

// blobReferenced is true when an attachment or an inbound record (the raw mail it keeps)
// names the hash $1.
const blobReferenced = `EXISTS (SELECT 1 FROM attachments WHERE hash = $1)
	OR EXISTS (SELECT 1 FROM inbound_messages WHERE raw_hash = $1)`

// locked runs fn in a READ COMMITTED transaction that first takes the transaction-scoped
// advisory lock of hash: every change of a hash's row goes through it (Blobs says why).
// Transaction-scoped, the lock is released by the commit, behind PgBouncer too.
func (b *Blobs) locked(ctx context.Context, hash string, fn func(pgx.Tx) error) error {
	return b.db.committed(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, hashLockKey(hash)); err != nil {
			return fmt.Errorf("lock blob %s: %w", hash, err)
		}
		return fn(tx)
	})
}

// hashLockKey is the advisory lock key of a blob hash: its first 64 bits. Two hashes
// sharing them only wait for each other.
func hashLockKey(hash string) int64 {
	var k uint64
	for _, c := range hash[:min(16, len(hash))] {
		k <<= 4
		switch {
		case c >= '0' && c <= '9':
			k |= uint64(c - '0')
		case c >= 'a' && c <= 'f':
			k |= uint64(c-'a') + 10
		}
	}
	return int64(k)
}

// validBlobHash accepts the lower-case hex SHA-256 Put names bytes with.
func validBlobHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// blobCtxReader stops a long upload when its request is gone.
type blobCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c blobCtxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
