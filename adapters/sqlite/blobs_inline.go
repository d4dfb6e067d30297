package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/helpdeskd/helpdeskd/core"
)

// inlineRawMax is the size up to which a raw mail is kept in the database rather than in a
// file of the blob store. Most mails are far smaller; a larger one goes to a file as before,
// so the database does not grow by whole attachments twice.
const inlineRawMax = 128 << 10

// RawMails is the blob store for the raw mails the mail gateway keeps. A mail of up to
// inlineRawMax is held in memory by Put and written, in the same transaction, with the
// inbound record that names it (RecordInbound): no file, no fsync of its own, and a crash
// before that commit leaves nothing behind. Done ends the hold. A larger mail is stored in
// a file as any blob. Reads go through the ordinary store (Blobs), which finds either.
func (db *DB) RawMails() core.Blobs { return rawMails{db} }

type rawMails struct{ db *DB }

func (r rawMails) Put(ctx context.Context, rd io.Reader, max int64) (string, int64, error) {
	limit := min(inlineRawMax, max)
	buf, err := io.ReadAll(io.LimitReader(ctxReader{ctx, rd}, limit+1))
	if err != nil {
		return "", 0, fmt.Errorf("store upload: %w", err)
	}
	if int64(len(buf)) > limit {
		return r.db.blobs.Put(ctx, io.MultiReader(bytes.NewReader(buf), rd), max)
	}
	sum := sha256.Sum256(buf)
	hash := hex.EncodeToString(sum[:])
	r.db.held.hold(hash, buf)
	return hash, int64(len(buf)), nil
}

func (r rawMails) Open(ctx context.Context, hash string) (io.ReadCloser, error) {
	return r.db.blobs.Open(ctx, hash)
}

// Discard ends a hold of a mail kept in memory; a mail in a file is discarded as any blob.
func (r rawMails) Discard(ctx context.Context, hash string) error {
	if r.db.held.done(hash) {
		return nil
	}
	return r.db.blobs.Discard(ctx, hash)
}

// Done says the write that was to reference a Put of hash is over, committed or not: the
// bytes held for it are in the database by now, or nothing names them.
func (r rawMails) Done(hash string) { r.db.held.done(hash) }

// heldRaws are the small raw mails Put and not yet Done, by hash.
type heldRaws struct {
	mu sync.Mutex
	m  map[string]*heldRaw
}

type heldRaw struct {
	data []byte
	n    int // Puts not yet Done
}

func (h *heldRaws) hold(hash string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*heldRaw{}
	}
	if e := h.m[hash]; e != nil {
		e.n++
		return
	}
	h.m[hash] = &heldRaw{data: data, n: 1}
}

func (h *heldRaws) get(hash string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.m[hash]; e != nil {
		return e.data, true
	}
	return nil, false
}

// done ends one hold of hash and reports whether there was one.
func (h *heldRaws) done(hash string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.m[hash]
	if e == nil {
		return false
	}
	if e.n--; e.n == 0 {
		delete(h.m, hash)
	}
	return true
}

// keepHeld writes the held bytes of hash into the write's transaction, if Put holds them.
func (t *writeTx) keepHeld(hash string) error {
	if hash == "" || t.held == nil {
		return nil
	}
	data, ok := t.held.get(hash)
	if !ok {
		return nil
	}
	if _, err := t.q.ExecContext(t.ctx, `INSERT INTO inline_blobs (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`, hash, data); err != nil {
		return fmt.Errorf("keep raw message %s: %w", hash, err)
	}
	return nil
}

// inlineBlob returns the bytes of hash kept in the database, if any.
func (db *DB) inlineBlob(ctx context.Context, hash string) ([]byte, bool, error) {
	var data []byte
	err := db.rdb.QueryRowContext(ctx, `SELECT data FROM inline_blobs WHERE hash = ?`, hash).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read blob %s: %w", hash, err)
	}
	return data, true, nil
}

// dropInline removes the bytes of hash kept in the database unless a row references them,
// and returns their size (0 when nothing was removed).
func (db *DB) dropInline(ctx context.Context, hash string) (int64, error) {
	var kept bool
	if err := db.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM inline_blobs WHERE hash = ?)`, hash).Scan(&kept); err != nil {
		return 0, fmt.Errorf("read blob %s: %w", hash, err)
	}
	if !kept {
		return 0, nil
	}
	_, n, err := db.deleteInline(ctx, []string{hash})
	if err != nil {
		return 0, fmt.Errorf("remove blob %s: %w", hash, err)
	}
	return n, nil
}

// sweepInline removes the bytes kept in the database that no row references any more (an
// erasure or the retention of raw mails cleared the reference, and its removal failed).
// Bytes are written in the transaction of their reference, so none is ever unreferenced on
// its way in. The candidates are found on a reader (the hash index, the references'
// indexes), so the writer only deletes them.
func (db *DB) sweepInline(ctx context.Context) (int, int64, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT hash FROM inline_blobs WHERE true`+unreferencedInline)
	if err != nil {
		return 0, 0, fmt.Errorf("sweep blobs kept in the database: %w", err)
	}
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("sweep blobs kept in the database: %w", err)
		}
		hashes = append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("sweep blobs kept in the database: %w", err)
	}
	if len(hashes) == 0 {
		return 0, 0, nil
	}
	removed, n, err := db.deleteInline(ctx, hashes)
	if err != nil {
		return 0, 0, fmt.Errorf("sweep blobs kept in the database: %w", err)
	}
	return removed, n, nil
}

// deleteInline deletes, in one write, the rows of hashes that no row references (checked
// again in the write) and returns how many went and their size.
func (db *DB) deleteInline(ctx context.Context, hashes []string) (removed int, bytes int64, err error) {
	err = db.Write(ctx, func(tx core.Tx) error {
		removed, bytes = 0, 0
		q := tx.(*writeTx).q
		for _, h := range hashes {
			var n int64
			err := q.QueryRowContext(ctx, `DELETE FROM inline_blobs WHERE hash = ?`+unreferencedInline+` RETURNING length(data)`, h).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			removed++
			bytes += n
		}
		return nil
	})
	return removed, bytes, err
}

const unreferencedInline = `
	AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.hash = inline_blobs.hash)
	AND NOT EXISTS (SELECT 1 FROM inbound_messages i WHERE i.raw_hash = inline_blobs.hash)`
