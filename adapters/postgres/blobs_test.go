package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/core"
)

// What the contract suite does not pin about the Postgres blob store: chunked storage that
// keeps memory bounded, no staged rows left by any failure, the per-row count of uploads in
// flight under concurrency, and the sweep.

const chunk = postgres.BlobChunkSize

func blobPut(t *testing.T, b core.Blobs, content string) string {
	t.Helper()
	hash, _, err := b.Put(context.Background(), strings.NewReader(content), 1<<30)
	if err != nil {
		t.Fatalf("put %d bytes: %v", len(content), err)
	}
	return hash
}

// blobContent returns the bytes under hash, or false when there are none.
func blobContent(t *testing.T, b core.Blobs, hash string) (string, bool) {
	t.Helper()
	rc, err := b.Open(context.Background(), hash)
	if core.ErrorCode(err) == core.ENOTFOUND {
		return "", false
	} else if err != nil {
		t.Fatalf("open %s: %v", hash, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", hash, err)
	}
	return string(data), true
}

// blobRows counts finished blobs, staged uploads and chunks.
func blobRows(t *testing.T, db *postgres.DB) (blobs, staged, chunks int) {
	t.Helper()
	err := db.Pool().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM blobs WHERE hash IS NOT NULL), (SELECT count(*) FROM blobs WHERE hash IS NULL),
		(SELECT count(*) FROM blob_chunks)`).Scan(&blobs, &staged, &chunks)
	if err != nil {
		t.Fatal(err)
	}
	return blobs, staged, chunks
}

// backdate makes every row (the finished blobs, and the staged uploads) look stored d ago.
func backdate(t *testing.T, db *postgres.DB, d time.Duration) {
	t.Helper()
	if _, err := db.Pool().Exec(context.Background(), `UPDATE blobs SET created_at = created_at - $1 * interval '1 microsecond'`,
		d.Microseconds()); err != nil {
		t.Fatal(err)
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// liveHeap is the heap still in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// sampledReader yields n pseudo-random bytes and calls sample every 2 MB, from inside the
// Put that reads it.
type sampledReader struct {
	r      io.Reader
	read   int64
	next   int64
	sample func()
}

func (s *sampledReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += int64(n)
	if s.read >= s.next {
		s.sample()
		s.next += 2 << 20
	}
	return n, err
}

// TestBlobs_LargeFileRoundTripInBoundedMemory: a 20 MB file goes in and comes out whole,
// while neither Put nor reading it holds more than a few chunks' worth of memory (the live
// heap is measured during both), and a second Put of the same bytes keeps one copy.
func TestBlobs_LargeFileRoundTripInBoundedMemory(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	const size = 20 << 20
	const bound = 8 << 20 // well under the file: a few chunks, the pool's buffers
	source := func() io.Reader { return io.LimitReader(rand.NewChaCha8([32]byte{7}), size) }
	want := sha256.New()
	io.Copy(want, source())
	wantHash := hex.EncodeToString(want.Sum(nil))

	base := liveHeap()
	var peak int64
	sample := func() { peak = max(peak, liveHeap()-base) }
	for range 2 {
		hash, n, err := b.Put(context.Background(), &sampledReader{r: source(), sample: sample}, size)
		if err != nil || hash != wantHash || n != size {
			t.Fatalf("put: %s %d %v, want %s", hash, n, err, wantHash)
		}
	}
	t.Logf("live heap during Put: at most %d KB above the start", peak>>10)
	if peak > bound {
		t.Errorf("Put held %d MB live at once", peak>>20)
	}
	if blobs, staged, chunks := blobRows(t, db); blobs != 1 || staged != 0 || chunks != (size+chunk-1)/chunk {
		t.Errorf("rows: %d blobs, %d staged, %d chunks; want one copy in %d chunks", blobs, staged, chunks, (size+chunk-1)/chunk)
	}

	rc, err := b.Open(context.Background(), wantHash)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	buf := make([]byte, 32<<10)
	var read int64
	peak = 0
	for next := int64(0); ; {
		n, err := rc.Read(buf)
		got.Write(buf[:n])
		if read += int64(n); read >= next {
			sample()
			next += 2 << 20
		}
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("read after %d bytes: %v", read, err)
		}
	}
	if read != size || hex.EncodeToString(got.Sum(nil)) != wantHash {
		t.Errorf("read back %d bytes hashing to %x", read, got.Sum(nil))
	}
	t.Logf("live heap while reading: at most %d KB above the start", peak>>10)
	if peak > bound {
		t.Errorf("reading held %d MB live at once", peak>>20)
	}
}

// TestBlobs_ChunkBoundaries: uploads ending just before, on and just after a chunk's
// boundary come back byte for byte.
func TestBlobs_ChunkBoundaries(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	for i, n := range []int{1, chunk - 1, chunk, chunk + 1, 2 * chunk, 3*chunk - 7} {
		data := bytes.Repeat([]byte{byte('a' + i)}, n)
		data[n-1] = '!'
		hash := blobPut(t, b, string(data))
		if got, ok := blobContent(t, b, hash); !ok || got != string(data) || hash != sha(data) {
			t.Errorf("%d bytes: read back %d (found %v)", n, len(got), ok)
		}
	}
	if _, staged, _ := blobRows(t, db); staged != 0 {
		t.Errorf("%d staged rows left", staged)
	}
}

// cancelAfter yields zeros and cancels its context once it has yielded n bytes.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	clear(p)
	c.n -= len(p)
	return len(p), nil
}

// TestBlobs_FailedUploadsKeepNothing: an upload over the limit, or whose request is gone,
// after several chunks are staged, leaves no row and no chunk behind.
func TestBlobs_FailedUploadsKeepNothing(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	_, _, err := b.Put(context.Background(), bytes.NewReader(make([]byte, 4*chunk)), 3*chunk)
	if core.ErrorCode(err) != core.ETOOLARGE {
		t.Errorf("over the limit: %v, want ETOOLARGE", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, err = b.Put(ctx, &cancelAfter{n: 2 * chunk, cancel: cancel}, 1<<30)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled upload: %v", err)
	}
	if blobs, staged, chunks := blobRows(t, db); blobs+staged+chunks != 0 {
		t.Errorf("left %d blobs, %d staged, %d chunks", blobs, staged, chunks)
	}
}

// TestBlobs_DiscardRacingPutsOfTheSameBytes: requests on many connections (nodes, as far as
// the database can tell) storing, reading and discarding the same bytes at once: each
// request's bytes are there from its Put to its Discard, whoever else discards, and when
// all are done nothing is left, neither the blob nor a staged upload.
func TestBlobs_DiscardRacingPutsOfTheSameBytes(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	contents := []string{"the same screenshot", strings.Repeat("the same big file ", chunk/9)} // one chunk, and two
	var wg sync.WaitGroup
	// Eight requests: on a desk's first, tiny tables Postgres locks whole tables for
	// serializable reads, so far more would test serial's retries rather than the blobs.
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			c := contents[i%2]
			for range 8 {
				hash, _, err := b.Put(context.Background(), strings.NewReader(c), 1<<30)
				if err != nil {
					errs <- err
					return
				}
				rc, err := b.Open(context.Background(), hash)
				if err != nil {
					errs <- errors.Join(errors.New("open between Put and Discard"), err)
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(got) != c {
					errs <- errors.Join(errors.New("read between Put and Discard: bytes differ"), err)
					return
				}
				if err := b.Discard(context.Background(), hash); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if blobs, staged, chunks := blobRows(t, db); blobs+staged+chunks != 0 {
		t.Errorf("left %d blobs, %d staged, %d chunks", blobs, staged, chunks)
	}
}

// TestBlobs_GraceOfUploads: an upload's count ends with its grace. A Discard past it leaves
// the bytes to the sweep, and a Put past it counts anew, forgetting the uploads before it
// (whose requests have long committed or failed).
func TestBlobs_GraceOfUploads(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	late := blobPut(t, b, "discarded after the grace")
	backdate(t, db, postgres.StagingGrace+time.Minute)
	if err := b.Discard(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	if _, ok := blobContent(t, b, late); !ok {
		t.Error("a Discard past the grace removed the bytes")
	}

	again := blobPut(t, b, "stored again after the grace")
	blobPut(t, b, "stored again after the grace")
	backdate(t, db, postgres.StagingGrace+time.Minute)
	blobPut(t, b, "stored again after the grace")
	if err := b.Discard(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	if _, ok := blobContent(t, b, again); ok {
		t.Error("uploads older than the grace kept the bytes of the only one in flight")
	}
}

// TestBlobs_SweepRemovesOnlyUnreferencedOldBlobs: the sweep removes blobs older than the
// grace that no inbound record references, and staged uploads that stopped before the
// grace; a raw mail's bytes, anything stored within the grace, and anything stored again
// since, stay.
func TestBlobs_SweepRemovesOnlyUnreferencedOldBlobs(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	bg := context.Background()
	raw := blobPut(t, b, "From: ann@example.com\r\nSubject: Help\r\n\r\nMy words.\r\n")
	if _, err := db.Pool().Exec(bg, `INSERT INTO inbound_messages (channel, key, result, raw_hash, at)
		VALUES ('email', '<m1@example.com>', 'rejected', $1, now())`, raw); err != nil {
		t.Fatal(err)
	}
	orphan := blobPut(t, b, "an upload whose request failed while the node stopped")
	fresh := blobPut(t, b, "an upload still being processed")
	if _, err := db.Pool().Exec(bg, `WITH s AS (INSERT INTO blobs (created_at) VALUES (now()) RETURNING id)
		INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, 0, 'partial' FROM s`); err != nil {
		t.Fatal(err)
	}
	// Old, but only as old as the grace: a smaller olderThan does not shorten it.
	backdate(t, db, postgres.StagingGrace/2)
	if res, err := db.SweepBlobs(bg, time.Minute); err != nil || res != (postgres.SweepResult{}) {
		t.Fatalf("sweep within the grace: %+v, %v", res, err)
	}
	backdate(t, db, postgres.StagingGrace)
	blobPut(t, b, "an upload still being processed")
	running := int64(0)
	if err := db.Pool().QueryRow(bg, `INSERT INTO blobs (created_at) VALUES (now()) RETURNING id`).Scan(&running); err != nil {
		t.Fatal(err)
	}

	res, err := db.SweepBlobs(bg, postgres.StagingGrace)
	if err != nil {
		t.Fatal(err)
	}
	want := postgres.SweepResult{Removed: 1, Bytes: int64(len("an upload whose request failed while the node stopped")), Temp: 1}
	if res != want {
		t.Errorf("sweep: %+v, want %+v", res, want)
	}
	for _, c := range []struct {
		name string
		hash string
		kept bool
	}{
		{"raw mail of an inbound record", raw, true},
		{"stored again within the grace", fresh, true},
		{"unreferenced and old", orphan, false},
	} {
		if _, ok := blobContent(t, b, c.hash); ok != c.kept {
			t.Errorf("%s: kept %v, want %v", c.name, ok, c.kept)
		}
	}
	var staged []int64
	rows, _ := db.Pool().Query(bg, `SELECT id FROM blobs WHERE hash IS NULL`)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		staged = append(staged, id)
	}
	if rows.Err() != nil || len(staged) != 1 || staged[0] != running {
		t.Errorf("staged rows left %v (%v), want the running upload's %d", staged, rows.Err(), running)
	}
	if _, _, chunks := blobRows(t, db); chunks != 2 {
		t.Errorf("%d chunks left, want the raw mail's and the fresh upload's", chunks)
	}
}

// TestBlobs_OpenFailsIfRemovedWhileRead: a blob removed while a reader is half way through
// it fails the read instead of ending it early, which would pass a truncated file for whole.
func TestBlobs_OpenFailsIfRemovedWhileRead(t *testing.T) {
	db := openTest(t)
	b := db.Blobs()
	hash := blobPut(t, b, strings.Repeat("x", chunk+10))
	rc, err := b.Open(context.Background(), hash)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Discard(context.Background(), hash); err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); err == nil {
		t.Errorf("read %d more bytes and ended without error", n)
	}
}

// TestBlobs_AttachedBytesSurviveRacingDiscardsAndTheSweep: requests storing the same file at
// once, some failing (and discarding it) and some committing an attachment: the committed
// ones' bytes are there at the end, whatever the interleaving, and neither the sweep nor a
// late failed upload of the same bytes, past the grace, removes them.
func TestBlobs_AttachedBytesSurviveRacingDiscardsAndTheSweep(t *testing.T) {
	db := openTest(t)
	bg := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	if _, err := svc.PutAccount(bg, core.System(), core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.PutUser(bg, core.System(), core.User{ID: 100, Email: "ann@example.com", Name: "Ann", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	ann := core.Actor{User: u, Channel: core.ChannelAPI}
	const content = "the same screenshot"
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			ref, err := svc.StageFile(bg, "same.png", "image/png", strings.NewReader(content))
			if err != nil {
				errs <- err
				return
			}
			if i%4 != 0 {
				errs <- svc.DiscardStaged(bg, []core.FileRef{ref})
				return
			}
			_, err = svc.CreateTicket(bg, ann, core.NewTicket{AccountID: 1, Subject: "S", Description: "D", Files: []core.FileRef{ref}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	hash := sha([]byte(content))
	if _, ok := blobContent(t, db.Blobs(), hash); !ok {
		t.Fatal("the committed attachments lost their bytes")
	}
	backdate(t, db, 2*postgres.StagingGrace)
	if res, err := db.SweepBlobs(bg, postgres.StagingGrace); err != nil || res.Removed != 0 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
	late := blobPut(t, db.Blobs(), content)
	if err := db.Blobs().Discard(bg, late); err != nil {
		t.Fatal(err)
	}
	if got, ok := blobContent(t, db.Blobs(), hash); !ok || got != content {
		t.Fatalf("an attachment's bytes went (found %v)", ok)
	}
}
