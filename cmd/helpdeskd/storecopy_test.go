package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
)

// admin store copy moves a desk from SQLite to Postgres (the DSN from the environment, never
// printed), refuses to copy into it again, and moves it back to a new SQLite file (the source
// a configured Postgres), attachments included.
func TestCLI_StoreCopy(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "helpdeskd.db")
	cfgS := filepath.Join(dir, "sqlite.toml")
	if err := os.WriteFile(cfgS, []byte(fmt.Sprintf("[database]\ndriver = \"sqlite\"\npath = %q\n", dbPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgP := filepath.Join(dir, "postgres.toml")
	if err := os.WriteFile(cfgP, []byte(fmt.Sprintf("[database]\ndriver = \"postgres\"\ndsn = %q\n", dsn)), 0o600); err != nil {
		t.Fatal(err)
	}
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// A desk with a ticket and an attachment.
	db, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.PutUser(ctx, core.System(), core.User{ID: 7, Email: "ana@acme.test", Name: "Ana", Role: core.RoleCustomer, AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := svc.StageFile(ctx, "notes.txt", "text/plain", strings.NewReader("the bytes of the file"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := svc.CreateTicket(ctx, core.Actor{User: u, Channel: core.ChannelAPI}, core.NewTicket{AccountID: 1, Subject: "Moving day",
		Description: "copy me", Files: []core.FileRef{f}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, []string{envCopyDSN + "=" + dsn}, "admin", "store", "copy", "-config", cfgS, "--to", "postgres:")
	if code != 0 || !strings.Contains(out, "copy verified") || !strings.Contains(out, "1 blobs") {
		t.Fatalf("copy to postgres: exit %d\nout %s\nerr %s", code, out, errOut)
	}
	if strings.Contains(out+errOut, dsn) {
		t.Errorf("the DSN is printed:\n%s%s", out, errOut)
	}
	t.Log(out)

	code, out, errOut = runCLI(t, nil, "admin", "store", "copy", "-config", cfgS, "--to", "postgres:", "--to-file", dsnFile)
	if code != exitError || !strings.Contains(errOut, "not empty") || strings.Contains(out+errOut, dsn) {
		t.Fatalf("second copy to postgres: exit %d\nout %s\nerr %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, nil, "admin", "store", "copy", "-config", cfgS, "--to", dsn) // postgres://…
	if code != exitError || !strings.Contains(errOut, "not empty") || strings.Contains(out+errOut, dsn) {
		t.Fatalf("copy to a postgres:// URL: exit %d\nout %s\nerr %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "admin", "store", "copy", "-config", cfgS, "--to", "mysql:x"); code != exitUsage {
		t.Errorf("--to mysql: exit %d, %s", code, errOut)
	}

	back := filepath.Join(dir, "back", "helpdeskd.db")
	code, out, errOut = runCLI(t, nil, "admin", "store", "copy", "-config", cfgP, "--to", "sqlite:"+back)
	if code != 0 || !strings.Contains(out, "copy verified") {
		t.Fatalf("copy back to sqlite: exit %d\nout %s\nerr %s", code, out, errOut)
	}
	if strings.Contains(out+errOut, dsn) {
		t.Errorf("the DSN is printed:\n%s%s", out, errOut)
	}
	db, err = sqlite.Open(ctx, back, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc = core.NewService(db, db.Blobs(), nil, core.Options{})
	d, err := svc.GetTicket(ctx, core.Actor{User: u, Channel: core.ChannelAPI}, core.TicketRef{ID: tk.ID})
	if err != nil || d.Ticket.Subject != "Moving day" || len(d.Messages) != 1 || len(d.Messages[0].Attachments) != 1 {
		t.Fatalf("the ticket copied back: %+v, %v", d, err)
	}
	_, rc, err := svc.OpenAttachment(ctx, core.Actor{User: u, Channel: core.ChannelAPI}, core.TicketRef{ID: tk.ID}, d.Messages[0].Attachments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "the bytes of the file" {
		t.Fatalf("attachment copied back: %q", b)
	}
}
