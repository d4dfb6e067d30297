package sqlite_test

import (
	"archive/tar"
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
)

// backupDesk is a database with one account, one customer and a service over it.
func backupDesk(t *testing.T, dir string) (*sqlite.DB, *core.Service, core.Actor) {
	t.Helper()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "helpdeskd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Example Ltd"}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.PutUser(ctx, core.System(), core.User{ID: 7, Email: "ann@example.com", Name: "Ann", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	return db, svc, core.Actor{User: u, Channel: core.ChannelAPI}
}

// openTicket creates a ticket carrying content as its attachment.
func openTicket(svc *core.Service, actor core.Actor, subject string, content []byte) (int64, error) {
	ref, err := svc.StageFile(ctx, "log.txt", "text/plain", bytes.NewReader(content))
	if err != nil {
		return 0, err
	}
	tk, err := svc.CreateTicket(ctx, actor, core.NewTicket{AccountID: 1, Subject: subject, Description: "see the log",
		Files: []core.FileRef{ref}})
	if err != nil {
		return 0, err
	}
	return tk.ID, nil
}

// untar unpacks an archive the way `tar -xf` would, refusing names that leave dir.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
			t.Fatalf("archive entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o700)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(dst, data, os.FileMode(h.Mode))
			}
		default:
			t.Fatalf("archive entry %q of type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A backup taken while customers keep opening tickets restores to a sound database that
// holds every ticket committed before the backup began, each with its attachment's bytes.
func TestBackup_WhileWritingRestoresEverythingCommittedBefore(t *testing.T) {
	dir := t.TempDir()
	db, svc, ann := backupDesk(t, dir)

	var (
		mu        sync.Mutex
		committed = map[int64][]byte{} // ticket → its attachment's bytes
	)
	content := func(g, i int) []byte {
		if i%5 == 0 {
			return []byte("the same log everyone sends") // shared bytes are stored once
		}
		return bytes.Repeat([]byte(fmt.Sprintf("writer %d ticket %d\n", g, i)), 50+i%200)
	}
	for i := range 200 {
		c := content(-1, i)
		id, err := openTicket(svc, ann, fmt.Sprint("before ", i), c)
		if err != nil {
			t.Fatal(err)
		}
		committed[id] = c
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var slowest time.Duration
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := content(g, i)
				start := time.Now()
				id, err := openTicket(svc, ann, fmt.Sprintf("writer %d #%d", g, i), c)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				committed[id] = c
				slowest = max(slowest, time.Since(start))
				mu.Unlock()
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // the writers are going

	mu.Lock()
	before := make(map[int64][]byte, len(committed))
	for id, c := range committed {
		before[id] = c
	}
	mu.Unlock()
	archive := filepath.Join(t.TempDir(), "backup.tar")
	out, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sqlite.Backup(ctx, db.Path(), out, sqlite.BackupOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	during := len(committed) - len(before)
	mu.Unlock()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a writer failed during the backup: %v", err)
	}
	t.Logf("backup: %d database bytes, %d blobs (%d bytes); %d tickets committed while it ran; slowest write %v",
		res.DatabaseBytes, res.Blobs, res.BlobBytes, during, slowest)
	if len(res.Missing) > 0 {
		t.Fatalf("blobs missing from the store: %v", res.Missing)
	}

	restored := t.TempDir()
	untar(t, archive, restored)
	path := filepath.Join(restored, sqlite.BackupDatabaseName)
	check, err := sqlite.Check(ctx, path, sqlite.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() {
		t.Fatalf("restored database: %+v", check)
	}

	rdb, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	raw := sqlite.OpenChecked(t, path)
	hashes := map[int64]string{}
	rows, err := raw.Query(`SELECT ticket_id, hash FROM attachments`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var h string
		if err := rows.Scan(&id, &h); err != nil {
			t.Fatal(err)
		}
		hashes[id] = h
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for id, want := range before {
		h, ok := hashes[id]
		if !ok {
			t.Fatalf("ticket %d, committed before the backup began, is not in the restored database", id)
		}
		got, err := os.ReadFile(filepath.Join(restored, sqlite.BackupAttachmentsName, h[:2], h))
		if err != nil {
			t.Fatalf("ticket %d: %v", id, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("ticket %d: restored attachment differs from the one sent", id)
		}
	}
	if len(hashes) > len(committed) {
		t.Fatalf("restored %d tickets with attachments, only %d were ever committed", len(hashes), len(committed))
	}
	// The restored desk works: it takes a new ticket.
	rsvc := core.NewService(rdb, rdb.Blobs(), nil, core.Options{})
	if _, err := openTicket(rsvc, ann, "after the restore", []byte("new")); err != nil {
		t.Fatalf("restored database refuses a ticket: %v", err)
	}
}

// Check finds a database sound, or names the blobs that are missing or damaged; a backup of
// a store that has lost a blob still archives the rest and names what is missing.
func TestCheck_FindsMissingAndDamagedBlobs(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, blob string)
		missing bool
		damaged bool
	}{
		{name: "intact", damage: func(*testing.T, string) {}},
		{name: "blob removed", missing: true, damage: func(t *testing.T, blob string) {
			if err := os.Remove(blob); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "blob overwritten", damaged: true, damage: func(t *testing.T, blob string) {
			if err := os.WriteFile(blob, []byte("not what was sent"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, svc, ann := backupDesk(t, dir)
			if _, err := openTicket(svc, ann, "kept", []byte("an attachment that stays")); err != nil {
				t.Fatal(err)
			}
			if _, err := openTicket(svc, ann, "hurt", []byte("an attachment that gets hurt")); err != nil {
				t.Fatal(err)
			}
			var hash string
			raw, err := sql.Open("sqlite", db.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if err := raw.QueryRow(`SELECT a.hash FROM attachments a JOIN tickets t ON t.id = a.ticket_id WHERE t.subject = 'hurt'`).Scan(&hash); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, filepath.Join(dir, "attachments", hash[:2], hash))

			res, err := sqlite.Check(ctx, db.Path(), sqlite.BackupOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Blobs != 2 || (len(res.Missing) == 1) != tt.missing || (len(res.Damaged) == 1) != tt.damaged ||
				res.OK() != (!tt.missing && !tt.damaged) || res.Integrity[0] != "ok" {
				t.Fatalf("check: %+v", res)
			}

			var buf bytes.Buffer
			bres, err := sqlite.Backup(ctx, db.Path(), &buf, sqlite.BackupOptions{})
			switch {
			case tt.damaged:
				if err == nil || !strings.Contains(err.Error(), hash) {
					t.Fatalf("backup of a damaged blob: %v, want an error naming %s", err, hash)
				}
			case err != nil:
				t.Fatal(err)
			case tt.missing && (len(bres.Missing) != 1 || bres.Missing[0] != hash || bres.Blobs != 1):
				t.Fatalf("backup with a missing blob: %+v", bres)
			case !tt.missing && (len(bres.Missing) != 0 || bres.Blobs != 2):
				t.Fatalf("backup: %+v", bres)
			}
		})
	}
}

// Backup and Check open nothing that is not there: a wrong path is an error, not a new
// empty database.
func TestBackup_MissingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nothing.db")
	if _, err := sqlite.Backup(ctx, path, io.Discard, sqlite.BackupOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("backup: %v, want an error naming %s", err, path)
	}
	if _, err := sqlite.Check(ctx, path, sqlite.BackupOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("check: %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing database was created: %v", err)
	}
}
