package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestKill9_TelegramUpdatesAppliedExactlyOnce kills the daemon with SIGKILL at random
// moments while it works through a batch of Telegram updates (twenty customers each
// opening a ticket with /new <subject> and a description), restarts it on the same
// database, and checks that every update was applied exactly once.
func TestKill9_TelegramUpdatesAppliedExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a child process several times; run without -short")
	}
	// The fake, not the emulator: it redelivers an update fetched but not confirmed, as
	// Telegram does, which is what a kill between receiving and acknowledging needs.
	api := telegramtest.New(t, telegramtest.Options{})
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\n[telegram]\nenabled = true\ntoken = \"1:kill9\"\napi_url = %q\n", api.URL())
	f.Close()
	dbPath := filepath.Join(dir, "data", "helpdeskd.db")

	// Twenty customers, linked as the bot's /start would link them.
	const users = 20
	ctx := context.Background()
	db := openTestStore(t, dbPath)
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
		api.PushMessage(telegramtest.Message{From: int64(5000 + i), Text: fmt.Sprintf("/new Subject %d", i)})
	}
	for i := 1; i <= users; i++ {
		api.PushMessage(telegramtest.Message{From: int64(5000 + i), Text: fmt.Sprintf("description %d", i)})
	}

	for round := 0; round < 4 && api.Pending() > 0; round++ {
		d := startDaemon(t, cfg, addr)
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
		d.cmd.Wait()
		t.Logf("round %d: killed with %d of %d updates unconfirmed", round, api.Pending(), 2*users)
	}
	d := startDaemon(t, cfg, addr)
	eventually(t, 60*time.Second, func() error {
		if n := api.Pending(); n > 0 {
			return fmt.Errorf("%d updates still unconfirmed; log:\n%s", n, d.logs)
		}
		return nil
	})
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()

	db = openTestStore(t, dbPath)
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
