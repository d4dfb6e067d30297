package main

import (
	"archive/tar"
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"

	_ "modernc.org/sqlite"
)

// helpdeskd admin backup beside a running daemon that keeps taking tickets writes an
// archive that `tar -xf` unpacks into a state directory that passes admin check and holds
// every ticket acknowledged before the backup began.
func TestCLI_BackupBesideRunningDaemon(t *testing.T) {
	sqliteOnlyTest(t, "admin backup and check copy the SQLite file; Postgres has pg_dump")
	if testing.Short() {
		t.Skip("starts the daemon as a child process; run without -short")
	}
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar command to unpack the archive with")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The writers below are one client as fast as it can go: no rate limit.
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(body), "[server]\n", "[server]\nrate_limit_per_second = 0.0\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	key := provision(t, cfg)
	d := startDaemon(t, cfg, addr)

	var (
		mu    sync.Mutex
		acked = map[int64]bool{}
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id, err := createTicket(client, d.base, key, "during the backup")
				if err != nil {
					t.Errorf("create a ticket: %v", err)
					return
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		})
	}
	// Some tickets acknowledged before the backup starts, and the writers still going.
	eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 20 {
			return fmt.Errorf("%d tickets acknowledged", len(acked))
		}
		return nil
	})
	mu.Lock()
	before := make([]int64, 0, len(acked))
	for id := range acked {
		before = append(before, id)
	}
	mu.Unlock()

	backups := t.TempDir()
	code, out, errOut := runCLI(t, nil, "admin", "backup", backups, "-config", cfg)
	mu.Lock()
	t.Logf("%d tickets acknowledged before the backup, %d while it ran; %s", len(before), len(acked)-len(before), strings.TrimSpace(out))
	mu.Unlock()
	close(stop)
	wg.Wait()
	if code != 0 || !strings.HasPrefix(out, "backup "+backups+"/helpdeskd-") {
		t.Fatalf("admin backup: exit %d, %q %q", code, out, errOut)
	}
	if len(before) == 0 {
		t.Fatal("no ticket was acknowledged before the backup")
	}
	files, err := filepath.Glob(filepath.Join(backups, "helpdeskd-*.tar"))
	if err != nil || len(files) != 1 {
		t.Fatalf("backup files %v (%v); want exactly one and no temporary file", files, err)
	}
	if entries, _ := os.ReadDir(backups); len(entries) != 1 {
		t.Fatalf("backup directory holds %d entries, want the archive alone", len(entries))
	}
	if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive mode %v (%v), want 0600: it holds every ticket", fi.Mode(), err)
	}

	// Unpacked as a state directory: data/helpdeskd.db with data/attachments beside it.
	restored := t.TempDir()
	if err := os.MkdirAll(filepath.Join(restored, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tarBin, "-xf", files[0], "-C", filepath.Join(restored, "data")).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf: %v: %s", err, out)
	}
	restoredDB := filepath.Join(restored, "data", sqlite.BackupDatabaseName)
	code, out, errOut = runCLI(t, []string{"HELPDESKD_DATABASE_PATH=" + restoredDB}, "admin", "check", "-config", cfg)
	if code != 0 || !strings.Contains(out, "integrity ok") {
		t.Fatalf("admin check of the restored database: exit %d, %q %q", code, out, errOut)
	}
	raw, err := sql.Open("sqlite", restoredDB)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, id := range before {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM tickets WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("ticket %d, acknowledged before the backup, is not in it (%v)", id, err)
		}
	}
	// A daemon on the restored state answers for those tickets what the live one answers.
	addr2 := freeAddr(t)
	d2 := startDaemon(t, writeConfig(t, restored, addr2), addr2)
	for i, id := range before {
		if i == 20 {
			break
		}
		path := fmt.Sprintf("/api/Ticket/%d?accountId=1", id)
		live, restoredAnswer := apiGet(t, client, d.base+path, key), apiGet(t, client, d2.base+path, key)
		if live != restoredAnswer {
			t.Fatalf("GET %s: live %s\nrestored %s", path, live, restoredAnswer)
		}
	}
	for _, dm := range []*daemon{d, d2} {
		if err := dm.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := dm.cmd.Wait(); err != nil {
			t.Fatalf("daemon after the backup: %v\n%s", err, dm.logs)
		}
	}
}

// apiGet returns the body of a 200 answer to GET url, once the daemon is up.
func apiGet(t *testing.T, client *http.Client, url, key string) string {
	t.Helper()
	var body string
	eventually(t, 30*time.Second, func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-API-Key", key)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d %s", url, res.StatusCode, b)
		}
		body = string(b)
		return nil
	})
	return body
}

// admin backup - writes the archive to standard output and its summary to standard error;
// without a FILE it is a usage error; admin check fails on a damaged attachment.
func TestCLI_BackupToStdoutAndCheck(t *testing.T) {
	sqliteOnlyTest(t, "admin backup and check copy the SQLite file; Postgres has pg_dump")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0")
	provision(t, cfg)
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "data", "helpdeskd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hash, _, err := db.Blobs().Put(t.Context(), strings.NewReader("attached bytes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, "data", "helpdeskd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// An inbound record that keeps a raw mail references a blob as an attachment does.
	if _, err := raw.Exec(`INSERT INTO inbound_messages (channel, key, result, raw_hash, at) VALUES ('email', '<m@x>', 'rejected', ?, 1)`, hash); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, nil, "admin", "backup", "-", "-config", cfg)
	if code != 0 || !strings.Contains(errOut, "backup -: database") || !strings.Contains(errOut, "1 attachment files") {
		t.Fatalf("admin backup -: exit %d, stderr %q", code, errOut)
	}
	names := map[string]bool{}
	tr := tar.NewReader(strings.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("standard output is not a tar archive: %v", err)
		}
		names[h.Name] = true
		if h.Name == "attachments/"+hash[:2]+"/"+hash {
			if b, _ := io.ReadAll(tr); !bytes.Equal(b, []byte("attached bytes")) {
				t.Errorf("archived blob %q", b)
			}
		}
	}
	for _, want := range []string{"helpdeskd.db", "attachments/", "attachments/" + hash[:2] + "/" + hash} {
		if !names[want] {
			t.Errorf("archive lacks %s: %v", want, names)
		}
	}

	missing := filepath.Join(dir, "elsewhere", "helpdeskd.db")
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"backup without FILE", nil, []string{"admin", "backup", "-config", cfg}, exitUsage, "needs one FILE"},
		{"backup with two FILEs", nil, []string{"admin", "backup", "a.tar", "b.tar", "-config", cfg}, exitUsage, "needs one FILE"},
		{"backup into a missing directory", nil, []string{"admin", "backup", filepath.Join(dir, "no", "such", "x.tar"), "-config", cfg}, exitError, "no such file"},
		{"check of a sound database", nil, []string{"admin", "check", "-config", cfg}, exitOK, "integrity ok; 1 attachment files"},
		{"check of a missing database", []string{"HELPDESKD_DATABASE_PATH=" + missing}, []string{"admin", "check", "-config", cfg}, exitError, missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, %q %q; want exit %d and %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}

	blob := filepath.Join(dir, "data", "attachments", hash[:2], hash)
	if err := os.WriteFile(blob, []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, nil, "admin", "check", "-config", cfg)
	if code != exitError || !strings.Contains(out, "damaged attachment file "+hash) || !strings.Contains(errOut, "failed the check") {
		t.Errorf("check of a damaged blob: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "admin", "backup", "-", "-config", cfg); code != exitError || !strings.Contains(errOut, hash) {
		t.Errorf("backup of a damaged blob: exit %d, %q", code, errOut)
	}
}
