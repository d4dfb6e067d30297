package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/helpdeskd/helpdeskd/config"
)

// The daemon started on a fresh directory keeps what it writes to itself: the data
// directory it creates is 0700, the database and its -wal and -shm files 0600.
func TestServe_DataFilesArePrivate(t *testing.T) {
	sqliteOnlyTest(t, "the modes of the SQLite file and the attachments directory")
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	cfg := config.Default()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Database.Path = filepath.Join(dir, "helpdeskd.db")
	d := startDesk(t, cfg)
	d.api(t, "GET", "/api/Ticket/Topics", "", nil, 401, nil) // the daemon answers: it is up
	for _, tt := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{cfg.Database.Path, 0o600},
		{cfg.Database.Path + "-wal", 0o600},
		{cfg.Database.Path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(tt.path), err)
		} else if fi.Mode() != tt.want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(tt.path), fi.Mode(), tt.want)
		}
	}
}
