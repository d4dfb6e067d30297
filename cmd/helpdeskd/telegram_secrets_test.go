package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// The daemon with Telegram on, its bot token in a token_file anyone may read, and a Bot API
// that drops every connection: start-up warns about the file (naming the key, not the
// token); the failed polls and sends are logged, and the staff chat notification's
// lastError (which every staff user reads) is stored, all with the token redacted; the
// metrics do not show it either.
func TestTelegram_TokenNeverLeaksThroughTheDaemon(t *testing.T) {
	const token = "5012345678:AAH-daemon-secret_token"
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "telegram.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf("[server]\nlisten = \"127.0.0.1:0\"\n[database]\n%s"+
		"[telegram]\nenabled = true\ntoken_file = %q\napi_url = %q\nstaff_chat_id = -100500\n",
		databaseTOML(t, filepath.Join(dir, "data", "helpdeskd.db")), tokenFile, telegramtest.Dropping(t))
	cfgPath := filepath.Join(dir, "helpdeskd.toml")
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(configSecrets(cfg), token) {
		t.Fatal("the token read from the file is not among the secrets checked")
	}
	d := startDesk(t, cfg)

	ctx, sys, svc := context.Background(), core.System(), d.m.Service
	if _, err := svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []core.User{
		{ID: 1, Email: "ann@acme.example", Name: "Ann", AccountIDs: []int64{1}},
		{ID: 9, Email: "sam@desk.example", Name: "Sam", Role: core.RoleStaff},
	} {
		if _, err := svc.PutUser(ctx, sys, u); err != nil {
			t.Fatal(err)
		}
	}
	_, ann, err := svc.CreateAPIKey(ctx, sys, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, sam, err := svc.CreateAPIKey(ctx, sys, 9)
	if err != nil {
		t.Fatal(err)
	}
	registerSecrets(t, ann, sam)

	d.api(t, "POST", "/api/Ticket?accountId=1", ann, map[string]any{"subject": "Help", "description": "d"}, 201, nil)
	var lastError string
	eventually(t, 20*time.Second, func() error {
		var list []struct {
			Channel   string  `json:"channel"`
			LastError *string `json:"lastError"`
		}
		d.api(t, "GET", "/api/staff/Notification?state=pending", sam, nil, 200, &list)
		for _, n := range list {
			if n.Channel == "telegram" && n.LastError != nil {
				lastError = *n.LastError
				return nil
			}
		}
		return fmt.Errorf("no telegram notification with a last error: %+v", list)
	})
	if strings.Contains(lastError, "daemon-secret") || !strings.Contains(lastError, "/bot<token>/") {
		t.Errorf("lastError %q: want the URL with the token redacted", lastError)
	}
	resp, err := http.Get(d.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(metrics), "daemon-secret") {
		t.Error("the metrics show the token")
	}
	d.stop()

	lines := loggedLines(t)
	has := func(parts ...string) bool {
		return slices.ContainsFunc(lines, func(l string) bool {
			for _, p := range parts {
				if !strings.Contains(l, p) {
					return false
				}
			}
			return true
		})
	}
	if !has("level=WARN", "configuration warning", "key=telegram.token_file", "mode 0644") {
		t.Errorf("no start-up warning about the readable token file:\n%s", strings.Join(lines, "\n"))
	}
	if !has("telegram getUpdates failed", "/bot<token>/getUpdates") {
		t.Errorf("the failed poll was not logged with the redacted URL:\n%s", strings.Join(lines, "\n"))
	}
	// checkLogLine has failed the test already if any line showed the token or a key.
}
