package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// Open returns the bytes stored under hash. They are read a chunk at a time, each in a
// statement of its own when the reader needs it, so that a slow download holds neither a
// whole file in memory nor a transaction (and its snapshot) open on the database. ctx
// bounds the reads as well as the lookup.
func (b *Blobs) Open(ctx context.Context, hash string) (io.ReadCloser, error) {
	if !validBlobHash(hash) {
		return nil, core.Errorf(core.ENOTFOUND, "Attachment not found.")
	}
	r := &blobReader{ctx: ctx, db: b.db, hash: hash}
	err := b.db.pool.QueryRow(ctx, `SELECT id, size FROM blobs WHERE hash = $1`, hash).Scan(&r.id, &r.size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENOTFOUND, "Attachment content is missing.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("open blob %s: %w", hash, err))
	}
	return r, nil
}

// blobReader streams the chunks of one stored blob. Chunks belong to the row id, which is
// never reused, so a reader never mixes the bytes of two uploads: if the blob is removed
// while it is read (nothing referenced it), the reader fails instead of ending early.
type blobReader struct {
	ctx  context.Context
	db   *DB
	hash string
	id   int64
	size int64

	read   int64     // bytes returned so far
	seq    int       // the next chunk to fetch
	chunk  chunkData // the current chunk
	off    int       // how much of chunk is returned
	closed bool
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fs.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.off == len(r.chunk) {
		if r.read >= r.size {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.chunk[r.off:])
	r.off += n
	r.read += int64(n)
	return n, nil
}

// next fetches chunk r.seq into r.chunk.
func (r *blobReader) next() error {
	err := r.db.pool.QueryRow(r.ctx, `SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2`, r.id, r.seq).Scan(&r.chunk)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read blob %s: chunk %d is missing after %d of %d bytes (the blob was removed?)", r.hash, r.seq, r.read, r.size)
	} else if err != nil {
		return translate(fmt.Errorf("read blob %s: %w", r.hash, err))
	}
	if len(r.chunk) == 0 || r.read+int64(len(r.chunk)) > r.size {
		return fmt.Errorf("read blob %s: chunk %d does not fit the blob's size %d", r.hash, r.seq, r.size)
	}
	r.seq++
	r.off = 0
	return nil
}

func (r *blobReader) Close() error {
	r.closed = true
	r.chunk = nil
	return nil
}

// chunkData scans a bytea into the buffer it already has, so that reading a blob reuses one
// chunk's worth of memory instead of allocating a chunk per read.
type chunkData []byte

func (c *chunkData) ScanBytes(v []byte) error {
	*c = append((*c)[:0], v...)
	return nil
}
