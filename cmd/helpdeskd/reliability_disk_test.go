package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// tmpfs mounts a tmpfs of size at a new directory, or skips: it needs root and mount(8).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (disk full, read-only database); run ./scripts/test.sh as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): skipping the disk-full and read-only checks", err, out)
	}
	t.Cleanup(func() {
		exec.Command("mount", "-o", "remount,rw", dir).Run()
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// rawCall sends a JSON request and returns the status and the decoded envelope.
func rawCall(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("X-API-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %d, body is not the envelope: %v", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode, env
}

func integrityOK(t *testing.T, path string) {
	t.Helper()
	db := openRawDB(t, path)
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
	db.Close()
}

// TestReliability_DiskFullAndReadOnlyDatabase runs the daemon with its database on a 4 MB
// tmpfs. Filling it makes writes answer 503 in the envelope (never 500, never a crash);
// after space is freed writes work again, every acknowledged ticket is there and
// PRAGMA integrity_check is ok. A read-only database is refused cleanly too.
func TestReliability_DiskFullAndReadOnlyDatabase(t *testing.T) {
	sqliteOnlyTest(t, "a full or read-only file system under the SQLite file")
	if testing.Short() {
		t.Skip("mounts a tmpfs; run without -short")
	}
	dir := tmpfs(t, "4m")
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 5<<19), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.RateLimitPerSecond = 0
	cfg.Database.Path = filepath.Join(dir, "helpdeskd.db")
	d := startDesk(t, cfg)
	ctx, sys := context.Background(), core.System()
	if _, err := d.m.Service.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.m.Service.PutUser(ctx, sys, core.User{ID: 1, Email: "ann@acme.example", Name: "Ann", AccountIDs: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	_, key, err := d.m.Service.CreateAPIKey(ctx, sys, 1)
	if err != nil {
		t.Fatal(err)
	}
	create := d.base + "/api/Ticket?accountId=1"
	acked := map[int64]bool{}
	description := strings.Repeat("disk full test ", 4<<10) // 60 KB
	full := 0
	for i := 0; i < 200 && full < 3; i++ {
		status, env := rawCall(t, "POST", create, key, map[string]any{"subject": fmt.Sprint("fill ", i), "description": description})
		switch status {
		case http.StatusCreated:
			acked[int64(env["data"].(map[string]any)["id"].(float64))] = true
		case http.StatusServiceUnavailable:
			full++
			if env["succeeded"] != false || env["message"] == "" || env["data"] != nil {
				t.Errorf("503 envelope: %v", env)
			}
		default:
			t.Fatalf("ticket %d on a full disk: %d %v", i, status, env)
		}
	}
	if full == 0 {
		t.Fatal("the 4 MB tmpfs never filled up")
	}
	t.Logf("disk full after %d tickets", len(acked))
	if status, _ := rawCall(t, "GET", d.base+"/healthz", key, nil); status != 200 {
		t.Errorf("healthz on a full disk: %d", status)
	}

	// Free space: the daemon writes again without a restart.
	os.Remove(ballast)
	if status, env := rawCall(t, "POST", create, key, map[string]any{"subject": "after full", "description": "x"}); status != http.StatusCreated {
		t.Fatalf("after freeing space: %d %v", status, env)
	}

	// Read-only: a mounted file system cannot be made read-only under open files, so the
	// daemon is stopped, the tmpfs remounted read-only and the daemon started on it: it must
	// refuse to start with a message naming the database, or start and answer writes 503.
	d.stop()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v %s", err, out)
	}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err := m.Open(ctx); err != nil {
		if !strings.Contains(err.Error(), "open database "+cfg.Database.Path) {
			t.Errorf("start on a read-only database: %v (want it to name the database)", err)
		}
		t.Logf("start on a read-only database refused: %v", err)
		m.Close()
	} else {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- m.Run(rctx) }()
		status, env := rawCall(t, "POST", "http://"+m.Addr()+"/api/Ticket?accountId=1", key, map[string]any{"subject": "read-only", "description": "x"})
		if status != http.StatusServiceUnavailable || env["succeeded"] != false {
			t.Errorf("write on a read-only database: %d %v", status, env)
		}
		cancel()
		<-done
		m.Close()
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount rw: %v %s", err, out)
	}
	d = startDesk(t, cfg)
	if status, env := rawCall(t, "POST", d.base+"/api/Ticket?accountId=1", key, map[string]any{"subject": "after read-only", "description": "x"}); status != http.StatusCreated {
		t.Fatalf("after the read-only spell: %d %v", status, env)
	}
	for id := range acked {
		if status, _ := rawCall(t, "GET", fmt.Sprintf("%s/api/Ticket/%d?accountId=1", d.base, id), key, nil); status != 200 {
			t.Errorf("acknowledged ticket %d: %d", id, status)
		}
	}
	d.stop()
	integrityOK(t, cfg.Database.Path)
}
