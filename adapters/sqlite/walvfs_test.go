package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

// execWrite runs statements in one write of db's writer.
func execWrite(t *testing.T, db *DB, fn func(exec func(q string, args ...any) error) error) {
	t.Helper()
	ctx := context.Background()
	if err := db.Write(ctx, func(tx core.Tx) error {
		q := tx.(*writeTx).q
		return fn(func(s string, args ...any) error {
			_, err := q.ExecContext(ctx, s, args...)
			return err
		})
	}); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWALGather_ACommitReachesTheFileInFewWrites(t *testing.T) {
	db := openTest(t)
	execWrite(t, db, func(exec func(string, ...any) error) error { return exec(`CREATE TABLE scratch (b BLOB)`) })
	writes, gathered := walFileWrites.Load(), walGathered.Load()
	execWrite(t, db, func(exec func(string, ...any) error) error {
		for range 200 {
			if err := exec(`INSERT INTO scratch (b) VALUES (?)`, randomBytes(t, 1000)); err != nil {
				return err
			}
		}
		return nil
	})
	writes, gathered = walFileWrites.Load()-writes, walGathered.Load()-gathered
	// 200 KB of rows is some fifty pages: a hundred writes from SQLite, two per frame.
	if gathered < 100 {
		t.Fatalf("SQLite wrote the WAL %d times through the gathering VFS, want ≥ 100: the writer does not use it", gathered)
	}
	// At most 0x1ffff bytes a write: two writes for fifty frames.
	if writes > 3 {
		t.Fatalf("the WAL file was written %d times for %d writes from SQLite, want ≤ 3", writes, gathered)
	}
}

func TestWALGather_WhatACommitAnsweredIsInTheFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "helpdeskd.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A large transaction too: more than one write's worth gathered, and pages SQLite
	// spills to the WAL before the commit.
	big := randomBytes(t, 3<<20)
	marker := randomBytes(t, 64)
	execWrite(t, db, func(exec func(string, ...any) error) error { return exec(`CREATE TABLE scratch (b BLOB)`) })
	execWrite(t, db, func(exec func(string, ...any) error) error {
		if err := exec(`INSERT INTO scratch (b) VALUES (?)`, big); err != nil {
			return err
		}
		return exec(`INSERT INTO scratch (b) VALUES (?)`, marker)
	})
	// The process could die now: what is in the files is what survives. A copy of the
	// database and its WAL, taken while the writer is still open, must hold both rows.
	copyDir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, filepath.Join(copyDir, "helpdeskd.db"+suffix))
	}
	other := OpenChecked(t, filepath.Join(copyDir, "helpdeskd.db"))
	var gotBig, gotMarker []byte
	if err := other.QueryRow(`SELECT b FROM scratch WHERE rowid = 1`).Scan(&gotBig); err != nil {
		t.Fatalf("the large row is not in the copied files: %v", err)
	}
	if err := other.QueryRow(`SELECT b FROM scratch WHERE rowid = 2`).Scan(&gotMarker); err != nil {
		t.Fatalf("the last committed row is not in the copied files: %v", err)
	}
	if !bytes.Equal(gotBig, big) || !bytes.Equal(gotMarker, marker) {
		t.Fatal("the copied files hold other bytes than were committed")
	}
}

func TestWALGather_NotUsedWhenCommitsAreNotSynced(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "helpdeskd.db"), Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gathered := walGathered.Load()
	execWrite(t, db, func(exec func(string, ...any) error) error { return exec(`CREATE TABLE scratch (b BLOB)`) })
	if n := walGathered.Load() - gathered; n != 0 {
		t.Fatalf("with synchronous=normal %d WAL writes were gathered: a commit would be visible before its frames are in the file", n)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
