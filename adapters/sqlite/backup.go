package sqlite

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"
)

// Names inside a backup archive: the database file and the blob store beside it, laid out
// the way Open finds them by default, so that unpacking an archive into the directory of
// database.path restores both.
const (
	BackupDatabaseName    = "helpdeskd.db"
	BackupAttachmentsName = "attachments"
)

// BackupOptions configures Backup and Check.
type BackupOptions struct {
	// AttachmentsDir is the blob store; "" means "attachments" beside the database, as in
	// Options.
	AttachmentsDir string
	// TempDir receives the database copy while the archive is written; "" means
	// os.TempDir(). It needs room for one copy of the database.
	TempDir string
}

func (o BackupOptions) attachments(dbPath string) string {
	if o.AttachmentsDir != "" {
		return o.AttachmentsDir
	}
	return filepath.Join(filepath.Dir(dbPath), "attachments")
}

// BackupResult is what one Backup wrote.
type BackupResult struct {
	DatabaseBytes int64
	Blobs         int   // blobs copied
	BlobBytes     int64 // their size
	// Missing lists the blobs the database copy references that the store does not hold:
	// the archive is complete but for these (the live store had lost them already).
	Missing []string
}

// Backup writes to w a tar archive of the database at dbPath and of every blob the copy
// references, while a daemon may be running on it. It opens connections of its own that
// only read, never the daemon's writer: the database is copied with VACUUM INTO, which
// reads one snapshot (in WAL mode a reader holds up no writer; only the checkpointer's
// RESTART and TRUNCATE wait until it is done, and the WAL grows meanwhile), so the copy holds
// exactly the transactions committed before it began. Blobs are copied after: they are content-addressed and written before the
// row that references them commits, and references are never removed, so every blob the
// snapshot names is still in the store. Each blob is hashed while it is copied; one whose
// bytes do not match its name fails the backup rather than archiving damage as good.
func Backup(ctx context.Context, dbPath string, w io.Writer, opts BackupOptions) (BackupResult, error) {
	var res BackupResult
	tmp, err := os.MkdirTemp(opts.TempDir, "helpdeskd-backup-")
	if err != nil {
		return res, fmt.Errorf("backup: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	copyPath := filepath.Join(tmp, BackupDatabaseName)
	if err := vacuumInto(ctx, dbPath, copyPath); err != nil {
		return res, err
	}
	hashes, err := referencedBlobs(ctx, copyPath)
	if err != nil {
		return res, err
	}
	tw := tar.NewWriter(w)
	now := time.Now()
	n, err := addFile(tw, copyPath, BackupDatabaseName, now)
	if err != nil {
		return res, fmt.Errorf("backup: archive the database: %w", err)
	}
	res.DatabaseBytes = n
	if err := addDir(tw, BackupAttachmentsName, now); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	store := opts.attachments(dbPath)
	dirs := map[string]bool{}
	for _, h := range hashes {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		src := filepath.Join(store, h[:2], h)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			res.Missing = append(res.Missing, h)
			continue
		}
		if !dirs[h[:2]] {
			if err := addDir(tw, path.Join(BackupAttachmentsName, h[:2]), now); err != nil {
				return res, fmt.Errorf("backup: %w", err)
			}
			dirs[h[:2]] = true
		}
		n, err := addBlob(tw, src, path.Join(BackupAttachmentsName, h[:2], h), h, now)
		if err != nil {
			return res, fmt.Errorf("backup: blob %s: %w", h, err)
		}
		res.Blobs++
		res.BlobBytes += n
	}
	if err := tw.Close(); err != nil {
		return res, fmt.Errorf("backup: finish the archive: %w", err)
	}
	return res, nil
}

// openExisting opens the database at path, waiting for locks the way the daemon's own
// readers do; readOnly makes the connection refuse every change. A missing file is an
// error, not a new empty database.
func openExisting(path string, readOnly bool) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	pragmas := []string{"busy_timeout(10000)"}
	mode := "rw" // never "rwc": no new file
	if readOnly {
		pragmas, mode = append(pragmas, "query_only(1)"), "ro"
	}
	db, err := sql.Open("sqlite", dsn(path, pragmas, "deferred", "")+"&mode="+mode)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// vacuumInto writes a consistent, compacted copy of the database at src to dst.
// VACUUM INTO only reads src, but SQLite opens the file it writes with the flags of the
// connection's own database and refuses it under query_only, so this one connection is
// opened read-write; it runs nothing else.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := openExisting(src, false)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: copy the database %s: %w", src, err)
	}
	return nil
}

// referencedBlobs lists, sorted, the blobs that the database at path references and keeps
// in files: the attachments' bytes and the raw mails that inbound records keep, but for
// those kept in the database itself (inline_blobs, from migration 021 on).
func referencedBlobs(ctx context.Context, path string) ([]string, error) {
	db, err := openExisting(path, true)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var inline bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inline_blobs')`).Scan(&inline); err != nil {
		return nil, fmt.Errorf("list referenced blobs: %w", err)
	}
	q := `SELECT hash FROM attachments
		UNION SELECT raw_hash FROM inbound_messages WHERE raw_hash != ''`
	if inline {
		q = `SELECT * FROM (` + q + `) WHERE hash NOT IN (SELECT hash FROM inline_blobs)`
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list referenced blobs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		if !validHash(h) {
			return nil, fmt.Errorf("list referenced blobs: malformed hash %q", h)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func addDir(tw *tar.Writer, name string, mod time.Time) error {
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o700, ModTime: mod})
}

// addFile archives the file at src as name, mode 0600 like the database it restores.
func addFile(tw *tar.Writer, src, name string, mod time.Time) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: fi.Size(), ModTime: mod}); err != nil {
		return 0, err
	}
	return io.Copy(tw, f)
}

// addBlob archives the blob at src as name and fails when its bytes are not those its
// hash names.
func addBlob(tw *tar.Writer, src, name, hash string, mod time.Time) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), f)
	if err != nil {
		return n, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hash {
		return n, fmt.Errorf("the stored bytes hash to %s: the file is damaged", got)
	}
	return n, nil
}

// CheckResult is what Check found; OK says all is well.
type CheckResult struct {
	// Integrity is what PRAGMA integrity_check reported: ["ok"] for a sound database.
	Integrity []string
	Blobs     int      // referenced blobs looked at
	Missing   []string // referenced blobs the store does not hold
	Damaged   []string // referenced blobs whose bytes do not match their hash
}

// OK reports whether the database is sound and every referenced blob present and intact.
func (r CheckResult) OK() bool {
	return len(r.Integrity) == 1 && r.Integrity[0] == "ok" && len(r.Missing) == 0 && len(r.Damaged) == 0
}

// Check verifies the database at path with PRAGMA integrity_check and re-hashes every blob
// it references, read-only, so that it can run beside the daemon and after a restore.
func Check(ctx context.Context, path string, opts BackupOptions) (CheckResult, error) {
	var res CheckResult
	db, err := openExisting(path, true)
	if err != nil {
		return res, fmt.Errorf("check: %w", err)
	}
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err == nil {
		for rows.Next() {
			var line string
			if err = rows.Scan(&line); err != nil {
				break
			}
			res.Integrity = append(res.Integrity, line)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	db.Close()
	if err != nil {
		return res, fmt.Errorf("check: integrity_check: %w", err)
	}
	hashes, err := referencedBlobs(ctx, path)
	if err != nil {
		return res, fmt.Errorf("check: %w", err)
	}
	store := opts.attachments(path)
	for _, h := range hashes {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Blobs++
		switch ok, err := blobIntact(filepath.Join(store, h[:2], h), h); {
		case errors.Is(err, os.ErrNotExist):
			res.Missing = append(res.Missing, h)
		case err != nil:
			return res, fmt.Errorf("check: blob %s: %w", h, err)
		case !ok:
			res.Damaged = append(res.Damaged, h)
		}
	}
	return res, nil
}

func blobIntact(path, hash string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == hash, nil
}
