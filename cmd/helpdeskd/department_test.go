package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

func TestCLI_DepartmentPut(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0")
	runCLISteps(t, []cliStep{
		{[]string{"admin", "department", "put", "-config", cfg, "--id", "2", "--name", "tech-support"}, 0, `department 2 "tech-support"`},
		{[]string{"admin", "department", "put", "-config", cfg, "--id", "2", "--name", "Tech support"}, 0, `department 2 "Tech support"`},
		{[]string{"admin", "department", "put", "-config", cfg, "--id", "3", "--name", ""}, 1, "name: must not be empty"},
		{[]string{"admin", "department", "put", "-config", cfg, "--id", "0", "--name", "x"}, 1, "id: must be a positive integer"},
		{[]string{"admin", "department", "put", "-config", cfg, "--bogus"}, exitUsage, "Usage:"},
	})
	ctx := context.Background()
	db := openTestStore(t, filepath.Join(dir, "data", "helpdeskd.db"))
	var list []core.Department
	db.Read(ctx, func(tx core.ReadTx) (err error) { list, err = tx.Departments(ctx); return })
	if len(list) != 1 || list[0].ID != 2 || list[0].Name != "Tech support" {
		t.Fatalf("departments: %+v", list)
	}
}
