package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// opsConfig is the configuration Load gives for a fresh directory and env (HELPDESKD_*
// entries), with the API on a free loopback port.
func opsConfig(t *testing.T, dir string, env ...string) config.Config {
	t.Helper()
	env = append(append([]string{"HELPDESKD_SERVER_LISTEN=127.0.0.1:0"}, storeEnv(t, filepath.Join(dir, "helpdeskd.db"))...), env...)
	cfg, err := config.Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runMain opens and runs a daemon for cfg until the test ends.
func runMain(t *testing.T, cfg config.Config) *Main {
	t.Helper()
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	})
	return m
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(body)
}

// TestMetrics_ServedWhereConfigured: server.metrics and server.metrics_listen, set from the
// environment, decide where GET /metrics answers: on the API listener (the default), on a
// listener of its own (the API's then answers 404), or nowhere.
func TestMetrics_ServedWhereConfigured(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		onAPI      bool
		ownAddress bool
	}{
		{"default: on the API listener", nil, true, false},
		{"off", []string{"HELPDESKD_SERVER_METRICS=false"}, false, false},
		{"on a listener of its own", []string{"HELPDESKD_SERVER_METRICS_LISTEN=127.0.0.1:0"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := runMain(t, opsConfig(t, t.TempDir(), tt.env...))
			api := "http://" + m.Addr()
			if status, _, _ := get(t, api+"/healthz"); status != 200 {
				t.Fatalf("healthz: %d", status)
			}
			status, ct, body := get(t, api+"/metrics")
			switch {
			case tt.onAPI && (status != 200 || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, "helpdeskd_http_request_duration_seconds")):
				t.Errorf("API /metrics: %d %s %.200s", status, ct, body)
			case !tt.onAPI && (status != http.StatusNotFound || !strings.Contains(body, `"succeeded":false`)):
				t.Errorf("API /metrics with metrics elsewhere or off: %d %.200s", status, body)
			}
			if (m.MetricsAddr() != "") != tt.ownAddress {
				t.Fatalf("metrics address %q", m.MetricsAddr())
			}
			if !tt.ownAddress {
				return
			}
			status, ct, body = get(t, "http://"+m.MetricsAddr()+"/metrics")
			if status != 200 || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, `route="/healthz"`) {
				t.Errorf("own /metrics: %d %s %.300s", status, ct, body)
			}
			if status, _, _ := get(t, "http://"+m.MetricsAddr()+"/api/Ticket/Topics"); status != http.StatusNotFound {
				t.Errorf("the metrics listener serves the API: %d", status)
			}
		})
	}
}

// TestMetrics_ListenerInUseStopsStartup: a metrics address that cannot be bound is a
// start-up error naming the key.
func TestMetrics_ListenerInUseStopsStartup(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	m := NewMain(opsConfig(t, t.TempDir(), "HELPDESKD_SERVER_METRICS_LISTEN="+taken.Addr().String()),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	err = m.Open(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "server.metrics_listen") {
		t.Fatalf("open with the metrics address taken: %v", err)
	}
}

// TestOps_FailedAuthLimitOnByDefault: the daemon's defaults limit failed authentications
// per address (server.failed_auth_burst at once, then 429).
func TestOps_FailedAuthLimitOnByDefault(t *testing.T) {
	cfg := opsConfig(t, t.TempDir())
	m := runMain(t, cfg)
	url := "http://" + m.Addr() + "/api/Ticket/Topics"
	for i := range cfg.Server.FailedAuthBurst {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-API-Key", core.APIKeyPrefix+"guess")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, res.StatusCode)
		}
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// TestServe_SweepsUnreferencedBlobsAtStart: blobs a stopped daemon left unreferenced are
// removed once it starts again, after the grace time; attachments and kept raw mails stay.
func TestServe_SweepsUnreferencedBlobsAtStart(t *testing.T) {
	sqliteOnlyTest(t, "ages blobs by their files' times; the Postgres sweep is tested in adapters/postgres")
	dir := t.TempDir()
	cfg := opsConfig(t, dir)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, cfg.Database.Path, sqlite.Options{AttachmentsDir: cfg.Database.AttachmentsPath()})
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	if _, err := svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "A"}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.PutUser(ctx, sys, core.User{ID: 2, Email: "ann@example.com", Name: "Ann", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	stage := func(content string) core.FileRef {
		ref, err := svc.StageFile(ctx, "f.txt", "text/plain", strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	attached, raw, orphan := stage("attached"), stage("From: ann@example.com\r\n\r\nraw mail\r\n"), stage("orphan")
	if _, err := svc.CreateTicket(ctx, core.Actor{User: u, Channel: core.ChannelAPI}, core.NewTicket{AccountID: 1,
		Subject: "s", Description: "d", Files: []core.FileRef{attached}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTicket(ctx, core.Actor{User: u, Channel: core.ChannelEmail}, core.NewTicket{AccountID: 1,
		Subject: "s", Description: "raw mail", Source: &core.Source{Channel: core.ChannelEmail, Key: "<m@example.com>", RawHash: raw.Hash}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	path := func(h string) string { return filepath.Join(cfg.Database.AttachmentsPath(), h[:2], h) }
	old := time.Now().Add(-2 * sqlite.StagingGrace)
	for _, h := range []string{attached.Hash, raw.Hash, orphan.Hash} {
		if err := os.Chtimes(path(h), old, old); err != nil {
			t.Fatal(err)
		}
	}

	runMain(t, cfg)
	eventually(t, 10*time.Second, func() error {
		if fileExists(path(orphan.Hash)) {
			return errors.New("the unreferenced blob is still there")
		}
		return nil
	})
	if !fileExists(path(attached.Hash)) || !fileExists(path(raw.Hash)) {
		t.Fatal("the sweep removed a referenced blob")
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
