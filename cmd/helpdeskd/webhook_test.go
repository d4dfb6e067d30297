package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/webhook"
)

// TestWebhook_KilledBetweenCommitAndDeliveryDeliversAfterRestart registers a webhook
// through the admin API, creates a ticket, and kills the daemon with SIGKILL while the
// delivery of its change is in flight (the endpoint holds the first request open). After
// a restart the delivery arrives, signed, under the webhook-id of the interrupted one, and
// the delivery log says it was delivered.
func TestWebhook_KilledBetweenCommitAndDeliveryDeliversAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a child process twice; run without -short")
	}
	type hit struct{ id, ts, sig, body string }
	var (
		mu    sync.Mutex
		hits  []hit
		first = make(chan struct{})
		held  = make(chan struct{})
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), string(body)})
		n := len(hits)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-held // the daemon is killed meanwhile
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	defer close(held)

	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "helpdeskd.toml")
	body := fmt.Sprintf("[server]\nlisten = %q\n\n[database]\n%s\n[webhooks]\nallow_private = true\nretry_initial = \"100ms\"\ntimeout = \"30s\"\n",
		addr, databaseTOML(t, filepath.Join(dir, "data", "helpdeskd.db")))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	key := provision(t, cfg)
	if code, out, errOut := runCLI(t, nil, "admin", "user", "put", "-config", cfg, "--id", "50", "--email", "root@provider.test", "--name", "Root", "--role", "admin"); code != 0 {
		t.Fatalf("admin user: %s %s", out, errOut)
	}
	_, out, _ := runCLI(t, nil, "admin", "apikey", "create", "-config", cfg, "--user", "50")
	admin := strings.TrimSpace(out)
	registerSecrets(t, admin)

	d := startDaemon(t, cfg, addr)
	var created struct {
		Data struct {
			ID     int64  `json:"id"`
			Secret string `json:"secret"`
		} `json:"data"`
	}
	status := call(t, "POST", d.base+"/api/admin/Webhook", admin, map[string]any{"url": rcv.URL + "/hook", "events": []string{"ticket.created"}}, &created)
	if status != http.StatusCreated || !strings.HasPrefix(created.Data.Secret, "whsec_") {
		t.Fatalf("create webhook: %d %+v", status, created)
	}
	registerSecrets(t, created.Data.Secret)
	id, err := createTicket(http.DefaultClient, d.base, key, "Webhook after a crash")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery reached the endpoint; log:\n%s", d.logs)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()

	d = startDaemon(t, cfg, addr)
	eventually(t, time.Minute, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(hits) < 2 {
			return fmt.Errorf("%d deliveries after the restart; log:\n%s", len(hits)-1, d.logs)
		}
		return nil
	})
	mu.Lock()
	again := hits[1]
	interrupted := hits[0].id
	mu.Unlock()
	ts, _ := strconv.ParseInt(again.ts, 10, 64)
	if again.id != interrupted || !webhook.Verify(created.Data.Secret, again.id, ts, []byte(again.body), again.sig) {
		t.Errorf("after the restart: webhook-id %s (the interrupted one was %s), signature verifies %v",
			again.id, interrupted, webhook.Verify(created.Data.Secret, again.id, ts, []byte(again.body), again.sig))
	}
	if !strings.Contains(again.body, fmt.Sprintf(`"id":%d`, id)) || !strings.Contains(again.body, `"type":"ticket.created"`) {
		t.Errorf("body %s: want ticket.created of ticket %d", again.body, id)
	}
	var log struct {
		Data []struct {
			State    string `json:"state"`
			Attempts int    `json:"attempts"`
		} `json:"data"`
	}
	eventually(t, 10*time.Second, func() error {
		if status := call(t, "GET", fmt.Sprintf("%s/api/admin/Webhook/%d/Delivery", d.base, created.Data.ID), admin, nil, &log); status != 200 {
			return fmt.Errorf("delivery log: %d", status)
		}
		if len(log.Data) != 1 || log.Data[0].State != "delivered" {
			return fmt.Errorf("delivery log %+v, want the one delivered", log.Data)
		}
		return nil
	})
}

// call sends a JSON request with a key and decodes the answer into out (nil: dropped).
func call(t *testing.T, method, url, key string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Authorization", "Bearer "+key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
