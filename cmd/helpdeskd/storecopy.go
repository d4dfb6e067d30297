package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/storecopy"
	"github.com/helpdeskd/helpdeskd/config"
)

// envCopyDSN is the variable that may hold the destination's Postgres DSN (--to postgres:),
// so that the password stays off the command line. It is not a configuration key: it is
// taken out of the environment before the configuration is loaded.
const envCopyDSN = "HELPDESKD_COPY_DSN"

// adminStoreCopy copies the configured store into an empty other one:
//
//	admin store copy --to postgres:DSN
//	admin store copy --to postgres:                  (DSN from HELPDESKD_COPY_DSN)
//	admin store copy --to postgres: --to-file FILE   (DSN read from FILE)
//	admin store copy --to sqlite:PATH [--to-attachments DIR]
func adminStoreCopy(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	var copyDSN string
	rest := make([]string, 0, len(env))
	for _, kv := range env {
		if name, value, ok := strings.Cut(kv, "="); ok && name == envCopyDSN {
			copyDSN = value
			continue
		}
		rest = append(rest, kv)
	}
	var to, toFile, toAttachments string
	cfg, err := parseConfig("admin store copy", args, stderr, rest, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "the destination: postgres:DSN (or postgres: with the DSN in "+envCopyDSN+" or --to-file), or sqlite:PATH")
		fs.StringVar(&toFile, "to-file", "", "a file holding the destination's Postgres DSN (with --to postgres:)")
		fs.StringVar(&toAttachments, "to-attachments", "", "the attachments directory of a SQLite destination (default: attachments beside it)")
	})
	if err != nil {
		return err
	}
	driver, target, ok := strings.Cut(to, ":")
	if driver == config.DriverPostgres && strings.HasPrefix(target, "//") {
		target = to // --to postgres://host/db: the URL is the DSN
	}
	if !ok || (driver != config.DriverPostgres && driver != config.DriverSQLite) {
		return fmt.Errorf("%w: admin store copy needs --to postgres:DSN or --to sqlite:PATH", errUsage)
	}

	// The source: the configured store.
	var src storecopy.Store
	switch cfg.Database.Driver {
	case "", config.DriverSQLite:
		src = storecopy.SQLite(cfg.Database.Path, cfg.Database.AttachmentsPath())
	case config.DriverPostgres:
		db, err := postgres.Open(ctx, postgres.Options{DSN: cfg.Database.DSN, MaxConns: int32(cfg.Database.MaxConns)})
		if err != nil {
			return fmt.Errorf("open the source (database.dsn): %w", err)
		}
		defer db.Close()
		src = storecopy.Postgres(db, "postgres "+postgres.Describe(cfg.Database.DSN))
	default:
		return fmt.Errorf("database.driver %q: must be sqlite or postgres", cfg.Database.Driver)
	}

	// The destination.
	var dst storecopy.Store
	switch driver {
	case config.DriverPostgres:
		dsn := target
		switch {
		case dsn != "" && (toFile != "" || copyDSN != ""):
			return fmt.Errorf("%w: give the destination's DSN once: in --to, in --to-file or in %s", errUsage, envCopyDSN)
		case dsn == "" && toFile != "":
			data, err := os.ReadFile(toFile)
			if err != nil {
				return fmt.Errorf("--to-file: %w", err)
			}
			dsn = strings.TrimSpace(string(data))
		case dsn == "":
			dsn = copyDSN
		}
		if dsn == "" {
			return fmt.Errorf("%w: --to postgres: needs a DSN: after the colon, in --to-file FILE or in %s", errUsage, envCopyDSN)
		}
		db, err := postgres.Open(ctx, postgres.Options{DSN: dsn})
		if err != nil {
			return fmt.Errorf("open the destination postgres %s: %w", postgres.Describe(dsn), err)
		}
		defer db.Close()
		dst = storecopy.Postgres(db, "postgres "+postgres.Describe(dsn))
	case config.DriverSQLite:
		if target == "" {
			return fmt.Errorf("%w: --to sqlite:PATH needs the path of the new database file", errUsage)
		}
		if toFile != "" {
			return fmt.Errorf("%w: --to-file is for a Postgres destination", errUsage)
		}
		dst = storecopy.SQLite(target, toAttachments)
		if toAttachments == "" {
			dst.AttachmentsDir = filepath.Join(filepath.Dir(target), "attachments")
		}
	}

	fmt.Fprintf(stdout, "copying %s into %s\n", src, dst)
	res, err := storecopy.Copy(ctx, src, dst)
	printCopySummary(stdout, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copy verified: every table's rows and every blob's SHA-256 match\n")
	return nil
}

func printCopySummary(w io.Writer, res storecopy.Result) {
	if len(res.Tables) == 0 && res.Blobs == 0 {
		return
	}
	for _, t := range res.Tables {
		fmt.Fprintf(w, "  %-20s %10d rows\n", t.Name, t.Copied)
	}
	secs := res.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(res.Rows()) / secs
	}
	fmt.Fprintf(w, "%d rows, %d blobs (%d bytes) in %s (%.0f rows/s)\n", res.Rows(), res.Blobs, res.BlobBytes, res.Elapsed.Round(1e6), rate)
}
