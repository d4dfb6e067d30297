package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

// TestCLI_UserExportAndErase: the CLI exports a user's archive (owner-only file) and erases
// them only with --yes; both are in the audit log, by the system.
func TestCLI_UserExportAndErase(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0")
	runCLISteps(t, []cliStep{
		{[]string{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme"}, 0, `account 1 "Acme"`},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "7", "--email", "ana@acme.test", "--name", "Ana Quell", "--account", "1"}, 0, "user 7"},
	})
	ctx := context.Background()
	db := openTestStore(t, filepath.Join(dir, "data", "helpdeskd.db"))
	svc := core.NewService(db, nil, nil, core.Options{})
	ana := &core.User{ID: 7, Email: "ana@acme.test", Name: "Ana Quell", Role: core.RoleCustomer, AccountIDs: []int64{1}}
	tk, err := svc.CreateTicket(ctx, core.Actor{User: ana, Channel: core.ChannelAPI}, core.NewTicket{AccountID: 1, Subject: "Mail down", Description: "Ana Quell here, mail is down."})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "ana.zip")
	runCLISteps(t, []cliStep{
		{[]string{"admin", "user", "export", "-config", cfg, "--id", "7"}, exitUsage, "needs -o FILE"},
		{[]string{"admin", "user", "export", "-config", cfg, "--id", "99", "-o", archive}, 1, "User 99 not found."},
		{[]string{"admin", "user", "export", "-config", cfg, "--id", "7", "-o", archive}, 0, "user 7 exported to " + archive},
		{[]string{"admin", "user", "erase", "-config", cfg, "--id", "7"}, exitUsage, "add --yes"},
	})
	if info, err := os.Stat(archive); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v, mode %v", err, info)
	}
	doc := readExport(t, archive)
	if doc.User.Name != "Ana Quell" || len(doc.Tickets) != 1 || doc.Tickets[0].ID != tk.ID || doc.Tickets[0].Messages[0].Body != "Ana Quell here, mail is down." {
		t.Errorf("export = %+v", doc)
	}
	runCLISteps(t, []cliStep{
		{[]string{"admin", "user", "erase", "-config", cfg, "--id", "7", "--yes"}, 0, "user 7 erased"},
		{[]string{"admin", "user", "export", "-config", cfg, "--id", "7", "-o", archive}, 0, "exported"},
	})
	doc = readExport(t, archive)
	if doc.User.Name != core.ErasedName || doc.User.Email != core.ErasedEmail(7) || doc.Tickets[0].Messages[0].Body != "Erased user here, mail is down." {
		t.Errorf("export after erasure = %+v", doc)
	}
	var audit []core.AuditEntry
	if err := db.Read(ctx, func(tx core.ReadTx) (err error) {
		audit, err = tx.AuditLog(ctx, core.AuditFilter{Subject: "user:7"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
		if e.ActorUserID != 0 || strings.Contains(strings.ToLower(e.Detail), "ana") {
			t.Errorf("audit entry %+v: want the system, no personal data", e)
		}
	}
	if strings.Join(actions, ",") != "user.export,user.erase,user.export" {
		t.Errorf("audit = %v", actions)
	}
}

func readExport(t *testing.T, path string) core.UserExport {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "export.json" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		var doc core.UserExport
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	t.Fatal("no export.json in the archive")
	return core.UserExport{}
}
