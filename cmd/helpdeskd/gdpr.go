package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/helpdeskd/helpdeskd/core"
)

// admin user export|erase: GDPR from the command line, as the admin API does it, written to
// the audit log by the system (docs/privacy.md).
func adminUserGDPR(ctx context.Context, what string, args []string, stdout, stderr io.Writer, env []string) error {
	var (
		id  int64
		out string
		yes bool
	)
	cfg, err := parseConfig("admin "+what, args, stderr, env, func(fs *flag.FlagSet) {
		fs.Int64Var(&id, "id", 0, "the panel's user ID")
		if what == "user export" {
			fs.StringVar(&out, "o", "", "the archive to write (zip), - for standard output")
		} else {
			fs.BoolVar(&yes, "yes", false, "erase for good: there is no undo")
		}
	})
	if err != nil {
		return err
	}
	if id <= 0 {
		return fmt.Errorf("%w: admin %s needs --id N", errUsage, what)
	}
	if what == "user export" && out == "" {
		return fmt.Errorf("%w: admin user export needs -o FILE (or -o - for standard output)", errUsage)
	}
	if what == "user erase" && !yes {
		return fmt.Errorf("%w: admin user erase removes the user's personal data for good: add --yes", errUsage)
	}
	st, err := openStore(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.db.Close()
	svc := core.NewService(st.db, st.db.Blobs(), nil, core.Options{})
	if what == "user erase" {
		res, err := svc.EraseUser(ctx, core.System(), id)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "user %d erased: %d files deleted", res.UserID, res.Files)
		if res.FilesLeft > 0 {
			fmt.Fprintf(stdout, ", %d left for the blob sweep", res.FilesLeft)
		}
		if res.ScrubPending {
			fmt.Fprint(stdout, "; the database's WAL is cleaned at the daemon's next checkpoint")
		}
		fmt.Fprintln(stdout)
		return nil
	}
	x, err := svc.ExportUser(ctx, core.System(), id)
	if err != nil {
		return describe(err)
	}
	if out == "-" {
		return x.WriteZip(ctx, stdout)
	}
	if err := writeExport(ctx, x, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %d exported to %s\n", id, out)
	return nil
}

// writeExport writes the archive beside path and renames it into place, so that a failed
// export leaves no partial archive; it is readable by its owner only, as it holds personal
// data.
func writeExport(ctx context.Context, x *core.Export, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*.zip")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename, nothing
	if err := x.WriteZip(ctx, f); err != nil {
		f.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
