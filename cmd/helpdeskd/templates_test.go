package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

// TestServe_TemplateOverrides: a broken override stops the start with its file and line;
// a good one is what the preview endpoint renders.
func TestServe_TemplateOverrides(t *testing.T) {
	dir := t.TempDir()
	cfg := opsConfig(t, t.TempDir())
	cfg.Notify.TemplatesDir = dir
	broken := filepath.Join(dir, "status_changed.text.tmpl")
	if err := os.WriteFile(broken, []byte("{{define \"status_changed.subject\"}}\n{{.Ticket.Subject\n{{end}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := m.Open(context.Background())
	m.Close()
	if err == nil || !regexp.MustCompile(`status_changed\.text\.tmpl:\d+: `).MatchString(err.Error()) || !strings.Contains(err.Error(), "notify.templates_dir") {
		t.Fatalf("open with a broken template: %v; want an error naming notify.templates_dir, the file and its line", err)
	}

	if err := os.WriteFile(broken, []byte(`{{define "status_changed.subject"}}Ticket {{.Ticket.ID}} moved{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	m = runMain(t, cfg)
	ctx := context.Background()
	if _, err := m.Service.PutUser(ctx, core.System(), core.User{ID: 1, Email: "root@desk.test", Name: "Root", Role: core.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	_, key, err := m.Service.CreateAPIKey(ctx, core.System(), 1)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+m.Addr()+"/api/admin/Template/status_changed/Preview?format=text", nil)
	req.Header.Set("X-API-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	code, body := res.StatusCode, string(raw)
	var env struct {
		Data struct{ Subject string } `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || code != 200 || !strings.HasPrefix(env.Data.Subject, "Ticket ") || !strings.HasSuffix(env.Data.Subject, " moved") {
		t.Fatalf("preview: %d %s", code, body)
	}
}
