package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"helpdeskd/adapters/sqlite"
	"helpdeskd/core"
)

// botAPI is an in-process Bot API that, like Telegram, redelivers every update from the
// offset a getUpdates asks for and forgets the ones before it. The telegram-test-api
// emulator hands each update out once whatever the offset, so it cannot show what a crash
// between receiving and acknowledging does; this fake stands in for that case only.
type botAPI struct {
	mu      sync.Mutex
	updates []map[string]any
	next    int
	msgs    int
}

func (b *botAPI) push(from int64, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.updates = append(b.updates, map[string]any{"update_id": b.next, "message": map[string]any{
		"message_id": b.next, "date": time.Now().Unix(), "text": text,
		"from": map[string]any{"id": from, "first_name": "User"}, "chat": map[string]any{"id": from, "type": "private"}}})
}

func (b *botAPI) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.updates)
}

func (b *botAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p map[string]any
	json.Unmarshal(body, &p)
	method := filepath.Base(r.URL.Path)
	var result any = true
	b.mu.Lock()
	switch method {
	case "getUpdates":
		offset, _ := p["offset"].(float64)
		keep := b.updates[:0]
		for _, u := range b.updates {
			if float64(u["update_id"].(int)) >= offset {
				keep = append(keep, u)
			}
		}
		b.updates = keep
		result = append([]map[string]any{}, b.updates...)
	case "sendMessage":
		b.msgs++
		result = map[string]any{"message_id": 100000 + b.msgs, "date": 0, "chat": map[string]any{"id": p["chat_id"], "type": "private"}}
	}
	b.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

// TestKill9_TelegramUpdatesAppliedExactlyOnce kills the daemon with SIGKILL at random
// moments while it works through a batch of Telegram updates (twenty customers each
// opening a ticket with /new <subject> and a description), restarts it on the same
// database, and checks that every update was applied exactly once.
func TestKill9_TelegramUpdatesAppliedExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a child process several times; run without -short")
	}
	api := &botAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\n[telegram]\nenabled = true\ntoken = \"1:kill9\"\napi_url = %q\n", srv.URL)
	f.Close()
	dbPath := filepath.Join(dir, "data", "helpdeskd.db")

	// Twenty customers, linked as the bot's /start would link them.
	const users = 20
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= users; i++ {
		u, err := svc.PutUser(ctx, core.System(), core.User{ID: int64(i), Email: fmt.Sprintf("u%d@acme.example", i), Name: "U", AccountIDs: []int64{1}})
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := svc.CreateTelegramLink(ctx, core.Actor{User: u, Channel: core.ChannelAPI})
		if err == nil {
			_, err = svc.LinkTelegram(ctx, code, int64(5000+i))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	for i := 1; i <= users; i++ {
		api.push(int64(5000+i), fmt.Sprintf("/new Subject %d", i))
	}
	for i := 1; i <= users; i++ {
		api.push(int64(5000+i), fmt.Sprintf("description %d", i))
	}

	for round := 0; round < 4 && api.pending() > 0; round++ {
		d := startDaemon(t, cfg, addr)
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
		d.cmd.Wait()
		t.Logf("round %d: killed with %d of %d updates unconfirmed", round, api.pending(), 2*users)
	}
	d := startDaemon(t, cfg, addr)
	deadline := time.Now().Add(60 * time.Second)
	for api.pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d updates still unconfirmed; log:\n%s", api.pending(), d.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()

	db, err = sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc = core.NewService(db, db.Blobs(), nil, core.Options{})
	staff := core.Actor{User: &core.User{ID: 999, Role: core.RoleStaff}}
	list, total, err := svc.ListTickets(ctx, staff, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, tk := range list {
		seen[tk.Subject+" / "+tk.Description]++
		if tk.MessageCount != 1 {
			t.Errorf("ticket %d has %d messages", tk.ID, tk.MessageCount)
		}
	}
	for i := 1; i <= users; i++ {
		if n := seen[fmt.Sprintf("Subject %d / description %d", i, i)]; n != 1 {
			t.Errorf("customer %d's ticket applied %d times", i, n)
		}
	}
	if total != users {
		t.Errorf("%d tickets, want %d: %v", total, users, seen)
	}
}
