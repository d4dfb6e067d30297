package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/config"
)

// adminBackup writes a tar archive of the database and its attachments to FILE, into a
// new time-stamped file when FILE is a directory, or to standard output for "-". It opens
// the database file itself, beside a daemon that may be running on it (sqlite.Backup).
func adminBackup(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	cfg, rest, err := parseConfigArgs("admin backup", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: admin backup needs one FILE (a .tar to write, a directory, or - for standard output)", errUsage)
	}
	if err := sqliteOnly("admin backup", cfg); err != nil {
		return err
	}
	opts := sqlite.BackupOptions{AttachmentsDir: cfg.Database.AttachmentsPath()}
	dst := rest[0]
	report := stdout
	var res sqlite.BackupResult
	if dst == "-" {
		// The archive is the output; the summary goes where it cannot mix with it.
		report = stderr
		res, err = sqlite.Backup(ctx, cfg.Database.Path, stdout, opts)
	} else {
		if fi, serr := os.Stat(dst); serr == nil && fi.IsDir() {
			dst = filepath.Join(dst, "helpdeskd-"+time.Now().UTC().Format("20060102-150405")+".tar")
		}
		res, err = backupToFile(ctx, cfg.Database.Path, dst, opts)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(report, "backup %s: database %d bytes, %d attachment files (%d bytes)\n", dst, res.DatabaseBytes, res.Blobs, res.BlobBytes)
	if len(res.Missing) > 0 {
		return fmt.Errorf("backup %s is written, but %d files the database references are missing from %s (first %s): run helpdeskd admin check",
			dst, len(res.Missing), opts.AttachmentsDir, res.Missing[0])
	}
	return nil
}

// backupToFile writes the archive next to dst and renames it into place once it is on
// disk, so that dst is either the previous file or a complete new archive, never half of
// one. The database copy is staged in the same directory, where there is room for the
// archive anyway.
func backupToFile(ctx context.Context, dbPath, dst string, opts sqlite.BackupOptions) (sqlite.BackupResult, error) {
	dir := filepath.Dir(dst)
	opts.TempDir = dir
	f, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".*") // mode 0600: it holds every ticket
	if err != nil {
		return sqlite.BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	res, err := sqlite.Backup(ctx, dbPath, f, opts)
	if err != nil {
		return res, err
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("backup: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return res, fmt.Errorf("backup: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename must survive a crash
		d.Close()
	}
	return res, nil
}

// adminCheck runs sqlite.Check on the configured database and its attachments and fails
// unless all is well.
func adminCheck(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	cfg, err := parseConfig("admin check", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if err := sqliteOnly("admin check", cfg); err != nil {
		return err
	}
	attachments := cfg.Database.AttachmentsPath()
	res, err := sqlite.Check(ctx, cfg.Database.Path, sqlite.BackupOptions{AttachmentsDir: attachments})
	if err != nil {
		return err
	}
	if res.OK() {
		fmt.Fprintf(stdout, "database %s: integrity ok; %d attachment files in %s intact\n", cfg.Database.Path, res.Blobs, attachments)
		return nil
	}
	var problems []string
	if len(res.Integrity) != 1 || res.Integrity[0] != "ok" {
		problems = append(problems, "integrity_check: "+strings.Join(res.Integrity, "; "))
	}
	for _, h := range res.Missing {
		problems = append(problems, "missing attachment file "+h)
	}
	for _, h := range res.Damaged {
		problems = append(problems, "damaged attachment file "+h+" (its bytes do not match its name)")
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	return errors.New("database " + cfg.Database.Path + " or its attachments in " + attachments + " failed the check")
}

// sqliteOnly refuses a command that works on the SQLite file when the desk is on Postgres,
// whose own tools (pg_dump, amcheck) do that job there, attachments included.
func sqliteOnly(cmd string, cfg config.Config) error {
	if cfg.Database.Driver == config.DriverPostgres {
		return fmt.Errorf("%s works on the SQLite file; this desk is on Postgres (database.driver): use pg_dump and pg_restore, which keep the attachments too (docs/scaling.md)", cmd)
	}
	return nil
}
