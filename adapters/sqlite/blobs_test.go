package sqlite_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
)

// blobClock is the blob store's clock, moved by hand.
type blobClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *blobClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *blobClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func blobPath(db *sqlite.DB, hash string) string {
	return filepath.Join(filepath.Dir(db.Path()), "attachments", hash[:2], hash)
}

func blobExists(db *sqlite.DB, hash string) bool {
	_, err := os.Stat(blobPath(db, hash))
	return err == nil
}

// storedAt sets a file's modification time, as if it had been written then.
func storedAt(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, b core.Blobs, content string) string {
	t.Helper()
	hash, _, err := b.Put(ctx, strings.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// TestBlobs_SweepRemovesOnlyUnreferencedOldBlobs: the sweep removes blobs older than the
// grace time that neither an attachment nor an inbound record (a kept raw mail) references,
// and unfinished uploads left in tmp; everything referenced, and everything stored within
// the grace time, stays.
func TestBlobs_SweepRemovesOnlyUnreferencedOldBlobs(t *testing.T) {
	f := newFixture(t, core.Options{})
	clock := &blobClock{now: time.Now()}
	sqlite.SetBlobsClock(f.db, clock.Now)
	blobs := f.db.Blobs()

	attached, err := f.svc.StageFile(ctx, "report.pdf", "application/pdf", strings.NewReader("the customer's report"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "Report", Description: "attached",
		Files: []core.FileRef{attached}}); err != nil {
		t.Fatal(err)
	}
	rawMail := put(t, blobs, "From: ann@example.com\r\nSubject: Help\r\n\r\nMy words.\r\n")
	mailActor := core.Actor{User: f.ann.User, Channel: core.ChannelEmail}
	if _, err := f.svc.CreateTicket(ctx, mailActor, core.NewTicket{AccountID: 1, Subject: "Help", Description: "My words.",
		Source: &core.Source{Channel: core.ChannelEmail, Key: "<m1@example.com>", RawHash: rawMail}}); err != nil {
		t.Fatal(err)
	}
	orphan := put(t, blobs, "an upload whose request failed while the daemon stopped")
	fresh := put(t, blobs, "an upload still being processed")
	tmpDir := filepath.Join(filepath.Dir(f.db.Path()), "attachments", "tmp")
	oldTmp, newTmp := filepath.Join(tmpDir, "upload-crashed"), filepath.Join(tmpDir, "upload-running")
	for _, p := range []string{oldTmp, newTmp} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := func(paths ...string) {
		for _, p := range paths {
			storedAt(t, p, clock.Now().Add(-2*time.Hour))
		}
		storedAt(t, newTmp, clock.Now())
	}
	blobFiles := []string{blobPath(f.db, attached.Hash), blobPath(f.db, rawMail), blobPath(f.db, orphan)}
	old(blobFiles...)
	// Within the grace time of their uploads even old files stay: their rows may be coming.
	if res, err := f.db.SweepBlobs(ctx, sqlite.StagingGrace); err != nil || res.Removed != 0 || !blobExists(f.db, orphan) {
		t.Fatalf("sweep within the grace time: %+v, %v", res, err)
	}
	clock.add(sqlite.StagingGrace + time.Minute)
	old(append(blobFiles, oldTmp)...)
	// Stored again now: protected by its upload, although its file is older than the cutoff.
	fresh = put(t, blobs, "an upload still being processed")
	storedAt(t, blobPath(f.db, fresh), clock.Now().Add(-2*time.Hour))

	res, err := f.db.SweepBlobs(ctx, sqlite.StagingGrace)
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed != 1 || res.Temp != 1 || res.Bytes != int64(len("an upload whose request failed while the daemon stopped")) {
		t.Errorf("sweep: %+v, want the orphan and the crashed upload", res)
	}
	checks := []struct {
		name string
		hash string
		kept bool
	}{
		{"attachment", attached.Hash, true},
		{"raw mail of an inbound record", rawMail, true},
		{"recently stored", fresh, true},
		{"unreferenced and old", orphan, false},
	}
	for _, c := range checks {
		if got := blobExists(f.db, c.hash); got != c.kept {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.kept)
		}
	}
	if _, err := os.Stat(oldTmp); !os.IsNotExist(err) {
		t.Error("the crashed upload's temporary file was kept")
	}
	if _, err := os.Stat(newTmp); err != nil {
		t.Error("a running upload's temporary file was removed")
	}
	rc, err := blobs.Open(ctx, rawMail)
	if err != nil {
		t.Fatalf("the raw mail is gone: %v", err)
	}
	rc.Close()
}

// TestBlobs_DiscardKeepsWhatAnythingElseNeeds: a failed request's upload is removed at once
// unless the same bytes are referenced (an attachment, a raw mail) or were uploaded again by
// a request that may still reference them.
func TestBlobs_DiscardKeepsWhatAnythingElseNeeds(t *testing.T) {
	f := newFixture(t, core.Options{})
	blobs := f.db.Blobs()

	t.Run("alone", func(t *testing.T) {
		h := put(t, blobs, "refused alone")
		if err := blobs.Discard(ctx, h); err != nil || blobExists(f.db, h) {
			t.Fatalf("discard: %v, exists %v", err, blobExists(f.db, h))
		}
		if err := blobs.Discard(ctx, h); err != nil {
			t.Fatalf("discarding twice: %v", err)
		}
	})
	t.Run("same bytes uploaded by another request in flight", func(t *testing.T) {
		h := put(t, blobs, "two requests, same file")
		put(t, blobs, "two requests, same file")
		if err := blobs.Discard(ctx, h); err != nil || !blobExists(f.db, h) {
			t.Fatalf("the other request's file went: %v", err)
		}
		if err := blobs.Discard(ctx, h); err != nil || blobExists(f.db, h) {
			t.Fatalf("the last discard kept the file: %v", err)
		}
	})
	t.Run("same bytes attached to another ticket", func(t *testing.T) {
		ref, err := f.svc.StageFile(ctx, "a.txt", "text/plain", strings.NewReader("attached elsewhere"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "S", Description: "D", Files: []core.FileRef{ref}}); err != nil {
			t.Fatal(err)
		}
		sqlite.SetBlobsClock(f.db, func() time.Time { return time.Now().Add(2 * sqlite.StagingGrace) })
		defer sqlite.SetBlobsClock(f.db, time.Now)
		h := put(t, blobs, "attached elsewhere") // the earlier upload is past the grace time
		if err := blobs.Discard(ctx, h); err != nil || !blobExists(f.db, h) {
			t.Fatalf("an attachment's bytes went: %v", err)
		}
		rc, err := blobs.Open(ctx, ref.Hash)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.ReadFrom(rc)
		rc.Close()
		if got.String() != "attached elsewhere" {
			t.Fatalf("content %q", got.String())
		}
	})
	t.Run("same bytes as a kept raw mail", func(t *testing.T) {
		raw := put(t, blobs, "Subject: raw\r\n\r\nwords\r\n")
		mail := core.Actor{User: f.ann.User, Channel: core.ChannelEmail}
		if _, err := f.svc.CreateTicket(ctx, mail, core.NewTicket{AccountID: 1, Subject: "raw", Description: "words",
			Source: &core.Source{Channel: core.ChannelEmail, Key: "<raw@example.com>", RawHash: raw}}); err != nil {
			t.Fatal(err)
		}
		h := put(t, blobs, "Subject: raw\r\n\r\nwords\r\n")
		for range 2 {
			if err := blobs.Discard(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		if !blobExists(f.db, raw) {
			t.Fatal("a raw mail's bytes went")
		}
	})
	t.Run("not a hash", func(t *testing.T) {
		if err := blobs.Discard(ctx, "../../helpdeskd.db"); err != nil || !fileExists(f.db.Path()) {
			t.Fatalf("discard of a path: %v", err)
		}
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestBlobs_DiscardRacingUploadsOfTheSameBytes: requests storing the same file at once, some
// failing (and discarding it) and some committing an attachment: the committed ones' bytes
// are there at the end, whatever the interleaving.
func TestBlobs_DiscardRacingUploadsOfTheSameBytes(t *testing.T) {
	f := newFixture(t, core.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref, err := f.svc.StageFile(ctx, "same.txt", "text/plain", strings.NewReader("the same screenshot"))
			if err != nil {
				errs <- err
				return
			}
			if i%4 != 0 {
				errs <- f.svc.DiscardStaged(ctx, []core.FileRef{ref})
				return
			}
			_, err = f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "S", Description: "D", Files: []core.FileRef{ref}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte("the same screenshot"))
	hash := hex.EncodeToString(sum[:])
	if !blobExists(f.db, hash) {
		t.Fatal("the committed attachments lost their bytes")
	}
	// Past the grace time only the references keep it: a late failed upload does not remove it.
	sqlite.SetBlobsClock(f.db, func() time.Time { return time.Now().Add(2 * sqlite.StagingGrace) })
	if err := f.db.Blobs().Discard(ctx, put(t, f.db.Blobs(), "the same screenshot")); err != nil || !blobExists(f.db, hash) {
		t.Fatalf("a late discard removed an attachment's bytes: %v", err)
	}
}
