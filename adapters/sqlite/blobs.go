package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

var _ core.Blobs = (*Blobs)(nil)

// StagingGrace is how long a stored blob is left alone although nothing references it yet:
// the time between an upload being staged and the row that references it committing (an
// API request, a mail being applied), with a wide margin. The sweep removes only what is
// older; a failed request may remove its own blob earlier, when no other upload of the same
// bytes happened within this time (Discard).
const StagingGrace = time.Hour

// recentPruneEvery is how often the record of recent uploads is pruned of entries older
// than StagingGrace.
const recentPruneEvery = time.Minute

// Blobs keeps attachment bytes, and the raw mails the gateway keeps, in files named by their
// SHA-256, so the same file sent twice is stored once and no name a client chose ever
// becomes a path. Because bytes are shared, a blob is removed only when no attachment and no
// inbound record references it and no upload of it may still be about to (see Discard and
// Sweep).
type Blobs struct {
	dir string
	now func() time.Time
	// refs reports whether a committed row references the hash; nil (a Blobs without its
	// database) removes nothing.
	refs func(ctx context.Context, hash string) (bool, error)
	// inline, dropInline and sweepInline read, remove and sweep the small raw mails kept in
	// the database (blobs_inline.go); nil without the database.
	inline      func(ctx context.Context, hash string) ([]byte, bool, error)
	dropInline  func(ctx context.Context, hash string) (int64, error)
	sweepInline func(ctx context.Context) (int, int64, error)

	// mu orders moving a new upload into place against the check-and-remove of Discard and
	// Sweep, so that bytes are never removed under an upload that just stored them again.
	mu        sync.Mutex
	recent    map[string]*recentPut
	lastPrune time.Time
}

// recentPut counts the uploads of one hash within StagingGrace that no Discard has ended.
type recentPut struct {
	count int
	last  time.Time
}

// NewBlobs uses (and creates) dir.
func NewBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("create attachments directory: %w", err)
	}
	return &Blobs{dir: dir, now: time.Now, recent: map[string]*recentPut{}}, nil
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
	// One byte past max tells a file over the limit from one at it; max+1 must not wrap.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, min(max, math.MaxInt64-1)+1))
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
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", 0, fmt.Errorf("create blob directory: %w", err)
	}
	b.mu.Lock()
	err = os.Rename(tmp, final)
	if err == nil {
		now := b.now()
		b.prune(now)
		p := b.recent[hash]
		if p == nil {
			p = &recentPut{}
			b.recent[hash] = p
		}
		p.count++
		p.last = now
	}
	b.mu.Unlock()
	if err != nil {
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
func (b *Blobs) Open(ctx context.Context, hash string) (io.ReadCloser, error) {
	if !validHash(hash) {
		return nil, core.Errorf(core.ENOTFOUND, "Attachment not found.")
	}
	if b.inline != nil {
		data, ok, err := b.inline(ctx, hash)
		if err != nil {
			return nil, err
		}
		if ok {
			return io.NopCloser(bytes.NewReader(data)), nil
		}
	}
	f, err := os.Open(b.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, core.Errorf(core.ENOTFOUND, "Attachment content is missing.")
	}
	return f, err
}

// Discard ends one Put of hash whose row will never be written (its request failed) and
// removes the bytes if nothing can need them: no other Put of the same bytes within
// StagingGrace (another request may be about to reference them), no attachment and no
// inbound record referencing them. Whatever is kept, the sweep looks at again later.
func (b *Blobs) Discard(ctx context.Context, hash string) error {
	if !validHash(hash) {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.recent[hash]
	if p == nil {
		return nil // staged before StagingGrace or by another process: the sweep decides
	}
	if p.count--; p.count > 0 {
		return nil
	}
	delete(b.recent, hash)
	_, _, err := b.removeUnreferenced(ctx, hash)
	return err
}

// removeUnreferenced removes hash's file unless a row references it, and says whether it
// did and how many bytes went; b.mu must be held.
func (b *Blobs) removeUnreferenced(ctx context.Context, hash string) (bool, int64, error) {
	if b.refs == nil {
		return false, 0, nil
	}
	used, err := b.refs(ctx, hash)
	if err != nil || used {
		return false, 0, err
	}
	var inlined int64
	if b.dropInline != nil {
		if inlined, err = b.dropInline(ctx, hash); err != nil {
			return false, 0, err
		}
	}
	info, err := os.Stat(b.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return inlined > 0, inlined, nil
	} else if err != nil {
		return false, 0, err
	}
	if err := os.Remove(b.path(hash)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, 0, fmt.Errorf("remove blob %s: %w", hash, err)
	}
	return true, inlined + info.Size(), nil
}

// prune forgets uploads older than StagingGrace; b.mu must be held.
func (b *Blobs) prune(now time.Time) {
	if now.Sub(b.lastPrune) < recentPruneEvery {
		return
	}
	for h, p := range b.recent {
		if now.Sub(p.last) >= StagingGrace {
			delete(b.recent, h)
		}
	}
	b.lastPrune = now
}

// SweepResult is what one Sweep removed.
type SweepResult struct {
	Removed int   // blobs
	Bytes   int64 // their size
	Temp    int   // unfinished uploads left by a crash
}

// Sweep removes the blobs older than olderThan (at least StagingGrace) that nothing
// references — uploads of requests that failed before they could be discarded, or of a
// process that stopped in between — and temporary files of uploads that never finished.
// A blob referenced by an attachment or an inbound record (a kept raw mail) is never
// removed, and neither is one stored again within StagingGrace.
func (b *Blobs) Sweep(ctx context.Context, olderThan time.Duration) (SweepResult, error) {
	var res SweepResult
	if b.refs == nil {
		return res, errors.New("sweep blobs: no database to check references against")
	}
	b.mu.Lock()
	now := b.now()
	b.prune(now) // uploads stopped a while ago protect nothing any more
	b.mu.Unlock()
	cutoff := now.Add(-max(olderThan, StagingGrace))
	tmps, err := os.ReadDir(filepath.Join(b.dir, "tmp"))
	if err != nil {
		return res, fmt.Errorf("sweep blobs: %w", err)
	}
	for _, e := range tmps {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && strings.HasPrefix(e.Name(), "upload-") &&
			info.ModTime().Before(cutoff) && os.Remove(filepath.Join(b.dir, "tmp", e.Name())) == nil {
			res.Temp++
		}
	}
	dirs, err := os.ReadDir(b.dir)
	if err != nil {
		return res, fmt.Errorf("sweep blobs: %w", err)
	}
	var errs []error
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 || !validHex(d.Name()) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(b.dir, d.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			hash := f.Name()
			if !validHash(hash) || !strings.HasPrefix(hash, d.Name()) {
				continue
			}
			if info, err := f.Info(); err != nil || !info.ModTime().Before(cutoff) {
				continue
			}
			removed, n, err := b.sweepOne(ctx, hash, cutoff)
			if err != nil {
				errs = append(errs, err)
			} else if removed {
				res.Removed++
				res.Bytes += n
			}
		}
	}
	if b.sweepInline != nil {
		n, bytes, err := b.sweepInline(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		res.Removed += n
		res.Bytes += bytes
	}
	return res, errors.Join(errs...)
}

// sweepOne removes one old blob unless it was stored again since the directory was read,
// or is referenced.
func (b *Blobs) sweepOne(ctx context.Context, hash string, cutoff time.Time) (bool, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.recent[hash]; ok {
		return false, 0, nil
	}
	if info, err := os.Stat(b.path(hash)); err != nil || !info.ModTime().Before(cutoff) {
		return false, 0, nil
	}
	removed, n, err := b.removeUnreferenced(ctx, hash)
	if err != nil {
		return false, 0, fmt.Errorf("sweep blob %s: %w", hash, err)
	}
	return removed, n, nil
}

// blobReferenced reports whether an attachment or an inbound record (the raw mail it
// keeps) names hash. It reads committed rows: a row still being written is covered by
// StagingGrace, since its upload is recent.
func (db *DB) blobReferenced(ctx context.Context, hash string) (bool, error) {
	var used bool
	err := db.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM attachments WHERE hash = ?)
		OR EXISTS (SELECT 1 FROM inbound_messages WHERE raw_hash = ?)`, hash, hash).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("blob references: %w", err)
	}
	return used, nil
}

// SweepBlobs is Blobs.Sweep of the database's blob store.
func (db *DB) SweepBlobs(ctx context.Context, olderThan time.Duration) (SweepResult, error) {
	return db.blobs.Sweep(ctx, olderThan)
}

func (b *Blobs) path(hash string) string { return filepath.Join(b.dir, hash[:2], hash) }

func validHash(h string) bool {
	return len(h) == 64 && validHex(h)
}

// validHex accepts the lower-case hex Put names files with.
func validHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
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
