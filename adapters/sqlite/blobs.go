package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"helpdeskd/core"
)

var _ core.Blobs = (*Blobs)(nil)

// Blobs keeps attachment bytes in files named by their SHA-256, so the same file sent
// twice is stored once and no name a client chose ever becomes a path.
type Blobs struct {
	dir string
}

// NewBlobs uses (and creates) dir.
func NewBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("create attachments directory: %w", err)
	}
	return &Blobs{dir: dir}, nil
}

// Put streams r to a temporary file, hashing as it goes, and moves it into place once
// it is on disk. Reading stops one byte past max.
func (b *Blobs) Put(ctx context.Context, r io.Reader, max int64) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, max+1))
	if err != nil {
		return "", 0, fmt.Errorf("store upload: %w", err)
	}
	if n > max {
		return "", 0, core.Errorf(core.ETOOLARGE, "File is larger than %d bytes.", max)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("sync upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("close upload: %w", err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	final := b.path(hash)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return "", 0, fmt.Errorf("create blob directory: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", 0, fmt.Errorf("move upload into place: %w", err)
	}
	keep = true
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		d.Sync() // the rename must survive a crash once the row referencing it commits
		d.Close()
	}
	return hash, n, nil
}

// Open returns the bytes stored under hash.
func (b *Blobs) Open(_ context.Context, hash string) (io.ReadCloser, error) {
	if !validHash(hash) {
		return nil, core.Errorf(core.ENOTFOUND, "Attachment not found.")
	}
	f, err := os.Open(b.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, core.Errorf(core.ENOTFOUND, "Attachment content is missing.")
	}
	return f, err
}

func (b *Blobs) path(hash string) string { return filepath.Join(b.dir, hash[:2], hash) }

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// ctxReader stops a long upload when its request is gone.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
