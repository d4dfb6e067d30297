package sqlite_test

import (
	"bytes"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestRawMails_SmallMailKeptWithItsInboundRecord: a small raw mail is written with the
// inbound record that names it and has no file; one that no record names leaves nothing
// once its write is over; a large one is a file as before; erasing the sender removes the
// bytes kept in the database, and backups and sweeps leave them alone meanwhile.
func TestRawMails_SmallMailKeptWithItsInboundRecord(t *testing.T) {
	f := newFixture(t, core.Options{})
	raws := f.db.RawMails()
	done := raws.(interface{ Done(string) }).Done
	mailActor := core.Actor{User: f.ann.User, Channel: core.ChannelEmail}
	ingest := func(key, raw string) string {
		t.Helper()
		hash, n, err := raws.Put(ctx, strings.NewReader(raw), 64<<20)
		if err != nil || n != int64(len(raw)) {
			t.Fatalf("put: %d bytes, %v", n, err)
		}
		defer done(hash)
		if _, err := f.svc.CreateTicket(ctx, mailActor, core.NewTicket{AccountID: 1, Subject: "Help", Description: "My words.",
			Source: &core.Source{Channel: core.ChannelEmail, Key: key, RawHash: hash}}); err != nil {
			t.Fatal(err)
		}
		return hash
	}
	read := func(hash string) (string, error) {
		rc, err := f.db.Blobs().Open(ctx, hash)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}

	small := "From: ann@example.com\r\nSubject: Help\r\n\r\nMy words.\r\n"
	smallHash := ingest("<small@example.com>", small)
	if blobExists(f.db, smallHash) {
		t.Error("a small raw mail got a file")
	}
	if got, err := read(smallHash); err != nil || got != small {
		t.Fatalf("small raw mail reads %q, %v", got, err)
	}

	large := "From: ann@example.com\r\nSubject: Logs\r\n\r\n" + strings.Repeat("a log line of the customer's\r\n", 128<<10/30+1)
	largeHash := ingest("<large@example.com>", large)
	if !blobExists(f.db, largeHash) {
		t.Error("a raw mail over the limit has no file")
	}
	if got, err := read(largeHash); err != nil || got != large {
		t.Fatalf("large raw mail reads %d bytes, %v", len(got), err)
	}

	// Put, then the write never came (a duplicate, an error): nothing is left.
	orphan, _, err := raws.Put(ctx, strings.NewReader("From: x@example.com\r\n\r\nnever recorded\r\n"), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	done(orphan)
	if _, err := read(orphan); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("a raw mail no record names reads with %v, want ENOTFOUND", err)
	}

	// A sweep keeps what is referenced; a backup carries it in the database copy.
	if _, err := f.db.SweepBlobs(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := read(smallHash); err != nil || got != small {
		t.Fatalf("after a sweep the small raw mail reads %q, %v", got, err)
	}
	var archive bytes.Buffer
	res, err := sqlite.Backup(ctx, f.db.Path(), &archive, sqlite.BackupOptions{TempDir: t.TempDir()})
	if err != nil || len(res.Missing) != 0 {
		t.Fatalf("backup: %+v, %v", res, err)
	}

	// Bytes whose reference went without their removal (a failed removal after an
	// erasure) are swept.
	lost := ingest("<lost@example.com>", "From: ann@example.com\r\nSubject: Lost\r\n\r\nreference cleared\r\n")
	raw, err := sql.Open("sqlite", f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE inbound_messages SET raw_hash = '' WHERE raw_hash = ?`, lost); err != nil {
		t.Fatal(err)
	}
	if res, err := f.db.SweepBlobs(ctx, 0); err != nil || res.Removed != 1 {
		t.Fatalf("sweep of an unreferenced kept raw mail: %+v, %v; want 1 removed", res, err)
	}
	if _, err := read(lost); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("a swept raw mail reads with %v, want ENOTFOUND", err)
	}
	if got, err := read(smallHash); err != nil || got != small {
		t.Fatalf("the sweep took a referenced raw mail: %q, %v", got, err)
	}

	// Erasing the sender removes the bytes kept in the database.
	if _, err := f.svc.EraseUser(ctx, core.System(), f.ann.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := read(smallHash); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("after erasure the small raw mail reads with %v, want ENOTFOUND", err)
	}
	if blobExists(f.db, largeHash) {
		t.Error("after erasure the large raw mail's file is still there")
	}
	if entries, err := os.ReadDir(filepath.Join(filepath.Dir(f.db.Path()), "attachments", smallHash[:2])); err == nil {
		for _, e := range entries {
			if e.Name() == smallHash {
				t.Error("the small raw mail has a file after all")
			}
		}
	}
}
