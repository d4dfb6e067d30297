package storecopy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// Store is one side of a copy: a SQLite file (and its attachments directory) or an open
// Postgres store.
type Store struct {
	// SQLitePath is the SQLite database file; AttachmentsDir its blob store ("" means
	// "attachments" beside it, as in sqlite.Options).
	SQLitePath     string
	AttachmentsDir string
	// Postgres is an open Postgres store (postgres.Open: its schema is current).
	Postgres *postgres.DB
	// Name names the store in messages (never with a password); "" picks one.
	Name string
}

// SQLite is the store in the file at path, with its blobs in attachmentsDir ("" beside it).
func SQLite(path, attachmentsDir string) Store {
	return Store{SQLitePath: path, AttachmentsDir: attachmentsDir}
}

// Postgres is an open Postgres store; name describes it (postgres.Describe).
func Postgres(db *postgres.DB, name string) Store { return Store{Postgres: db, Name: name} }

func (s Store) String() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Postgres != nil:
		return "postgres"
	}
	return "sqlite " + s.SQLitePath
}

func (s Store) attachments() string {
	if s.AttachmentsDir != "" {
		return s.AttachmentsDir
	}
	return filepath.Join(filepath.Dir(s.SQLitePath), "attachments")
}

// TableResult is one table's rows in the source and in the destination.
type TableResult struct {
	Name        string
	Source      int64 // rows in the source's snapshot
	Copied      int64 // rows written
	Destination int64 // rows the destination holds after the commit
	Elapsed     time.Duration
}

// Result is what one Copy did.
type Result struct {
	Tables    []TableResult
	Blobs     int   // blobs copied and verified
	BlobBytes int64 // their size
	Elapsed   time.Duration
	// Problems lists every mismatch the verification found; Copy fails when there is one.
	Problems []string
}

// Rows is the number of rows copied over all tables.
func (r Result) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Copied
	}
	return n
}

// bulkRows is from how many rows a table's secondary indexes are dropped while it is
// copied and built once at the end.
var bulkRows int64 = 10000

// ErrNotEmpty is returned (wrapped) when the destination already holds a desk.
var ErrNotEmpty = errors.New("the destination is not empty")

// Copy copies every shared table and every referenced blob from src into dst, which must be
// empty (no account, user or ticket), then verifies the copy: per table row counts, and for
// each blob that an attachment or a kept raw mail references, that the destination holds it
// with the right SHA-256. It reads src on one snapshot while a daemon may be running on it;
// dst should have no daemon. A SQLite destination is created (with its migrations) when it
// does not exist.
func Copy(ctx context.Context, src, dst Store) (res Result, err error) {
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()
	if (src.Postgres == nil) == (src.SQLitePath == "") || (dst.Postgres == nil) == (dst.SQLitePath == "") {
		return res, errors.New("store copy: each store is either a SQLite path or a Postgres store")
	}
	if src.Postgres == nil && dst.Postgres == nil {
		a, _ := filepath.Abs(src.SQLitePath)
		b, _ := filepath.Abs(dst.SQLitePath)
		if a == b {
			return res, errors.New("store copy: the source and the destination are the same file")
		}
	}

	// The destination: schema current, empty.
	w, err := openWriter(ctx, dst)
	if err != nil {
		return res, err
	}
	defer w.close()
	if err := w.checkEmpty(ctx); err != nil {
		return res, err
	}

	// The source's snapshot.
	r, err := openReader(ctx, src)
	if err != nil {
		return res, err
	}
	defer r.close()

	counts := make([]int64, len(Tables))
	for i, t := range Tables {
		if err := r.queryRow(ctx, `SELECT count(*) FROM `+t.Name, &counts[i]); err != nil {
			return res, fmt.Errorf("store copy: count %s in %s: %w", t.Name, src, err)
		}
	}
	hashes, err := r.referencedBlobs(ctx)
	if err != nil {
		return res, fmt.Errorf("store copy: list the blobs %s references: %w", src, err)
	}

	// Blobs first: a copy that fails on one leaves no row in the destination.
	for _, h := range hashes {
		n, err := copyBlob(ctx, r.blobs, w.blobs, h)
		if err != nil {
			return res, fmt.Errorf("store copy: blob %s: %w", h, err)
		}
		res.Blobs++
		res.BlobBytes += n
	}

	// Rows, in one transaction of the destination.
	if err := w.begin(ctx); err != nil {
		return res, err
	}
	var indexes []string
	for i, t := range Tables {
		tableStart := time.Now()
		if counts[i] >= bulkRows {
			defs, err := w.dropIndexes(ctx, t.Name)
			if err != nil {
				return res, fmt.Errorf("store copy: %s: %w", t.Name, err)
			}
			indexes = append(indexes, defs...)
		}
		rows, err := r.query(ctx, t)
		if err != nil {
			return res, fmt.Errorf("store copy: read %s from %s: %w", t.Name, src, err)
		}
		n, err := w.write(ctx, t, rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return res, fmt.Errorf("store copy: copy %s: %w", t.Name, err)
		}
		res.Tables = append(res.Tables, TableResult{Name: t.Name, Source: counts[i], Copied: n, Elapsed: time.Since(tableStart)})
	}
	if err := w.createIndexes(ctx, indexes); err != nil {
		return res, fmt.Errorf("store copy: create the indexes again: %w", err)
	}
	for _, t := range Tables {
		if !t.Sequence {
			continue
		}
		seq, err := r.sequence(ctx, t.Name)
		if err != nil {
			return res, fmt.Errorf("store copy: read the ID counter of %s: %w", t.Name, err)
		}
		if err := w.setSequence(ctx, t.Name, seq); err != nil {
			return res, fmt.Errorf("store copy: set the ID counter of %s: %w", t.Name, err)
		}
	}
	if err := w.finish(ctx); err != nil {
		return res, err
	}
	r.close()

	// Verification, on what the destination committed.
	for i := range res.Tables {
		t := &res.Tables[i]
		if err := w.queryRow(ctx, `SELECT count(*) FROM `+t.Name, &t.Destination); err != nil {
			return res, fmt.Errorf("store copy: count %s in %s: %w", t.Name, dst, err)
		}
		if t.Source != t.Copied || t.Copied != t.Destination {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: %d rows in the source, %d copied, %d in the destination",
				t.Name, t.Source, t.Copied, t.Destination))
		}
	}
	for _, h := range hashes {
		if err := verifyBlob(ctx, w.blobs, h); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("blob %s: %v", h, err))
		}
	}
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("store copy: the copy in %s does not match %s: %s", dst, src, strings.Join(res.Problems, "; "))
	}
	return res, nil
}

// copyBlob streams the bytes of hash from one blob store to the other and checks the hash
// the destination computed.
func copyBlob(ctx context.Context, from, to core.Blobs, hash string) (int64, error) {
	rc, err := from.Open(ctx, hash)
	if err != nil {
		return 0, fmt.Errorf("open in the source: %w", err)
	}
	defer rc.Close()
	// Whatever its size: the source took it under the limits of its day.
	got, n, err := to.Put(ctx, rc, math.MaxInt64)
	if err != nil {
		return 0, fmt.Errorf("store in the destination: %w", err)
	}
	if got != hash {
		return 0, fmt.Errorf("the source's bytes hash to %s: the source's copy is damaged (run helpdeskd admin check)", got)
	}
	return n, nil
}

// verifyBlob reads hash back from the store and checks its SHA-256.
func verifyBlob(ctx context.Context, b core.Blobs, hash string) error {
	rc, err := b.Open(ctx, hash)
	if err != nil {
		return fmt.Errorf("missing from the destination: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hash {
		return fmt.Errorf("the destination's bytes hash to %s", got)
	}
	return nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// referencedBlobsSQL lists the blobs a desk references: attachments and kept raw mails.
const referencedBlobsSQL = `SELECT hash FROM attachments
	UNION SELECT raw_hash FROM inbound_messages WHERE raw_hash != ''
	ORDER BY 1`

// sqliteDSN is a database/sql DSN for the file at path.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Set("mode", "ro")
		q.Set("_txlock", "deferred")
	} else {
		// Foreign keys are checked once, at the end (writer.finish), not per row.
		q.Add("_pragma", "foreign_keys(0)")
		q.Add("_pragma", "synchronous(full)")
		// A page cache of 128 MiB (2 MiB by default): the one transaction builds every
		// index, and a small cache spills its pages to the WAL again and again.
		q.Add("_pragma", "cache_size(-131072)")
		q.Set("mode", "rw")
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func openSQLiteFile(path string, readOnly bool) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// rowSource is the rows of one table in the canonical form.
type rowSource interface {
	Next() bool
	Values() ([]any, error)
	Err() error
	Close()
}

// reader reads the source on one snapshot.
type reader struct {
	src   Store
	blobs core.Blobs
	// SQLite
	raw *sql.DB
	stx *sql.Tx
	// Postgres
	ptx pgx.Tx
}

// noIdleLimit lifts, for the copy's own long transactions, the limit the Postgres store puts
// on a transaction waiting for its next statement (it frees the locks of a frozen node).
const noIdleLimit = `SET LOCAL idle_in_transaction_session_timeout = 0`

func openReader(ctx context.Context, src Store) (*reader, error) {
	r := &reader{src: src}
	if src.Postgres != nil {
		tx, err := src.Postgres.Pool().BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("store copy: read %s: %w", src, err)
		}
		// The snapshot stays open, idle while the blobs and the destination's rows are
		// written: the store's 5 s limit on an idle transaction is not for it.
		if _, err := tx.Exec(ctx, noIdleLimit); err != nil {
			tx.Rollback(ctx)
			return nil, fmt.Errorf("store copy: read %s: %w", src, err)
		}
		r.ptx, r.blobs = tx, src.Postgres.Blobs()
		return r, nil
	}
	raw, err := openSQLiteFile(src.SQLitePath, true)
	if err != nil {
		return nil, fmt.Errorf("store copy: %w", err)
	}
	tx, err := raw.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("store copy: read %s: %w", src, err)
	}
	// The snapshot starts at the first read; schema_version proves the file is a database.
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&v); err != nil {
		tx.Rollback()
		raw.Close()
		return nil, fmt.Errorf("store copy: read %s: %w", src, err)
	}
	b, err := sqlite.NewBlobs(src.attachments())
	if err != nil {
		tx.Rollback()
		raw.Close()
		return nil, fmt.Errorf("store copy: %w", err)
	}
	r.raw, r.stx, r.blobs = raw, tx, b
	var inline bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inline_blobs')`).Scan(&inline); err != nil {
		tx.Rollback()
		raw.Close()
		return nil, fmt.Errorf("store copy: read %s: %w", src, err)
	}
	if inline {
		r.blobs = inlineFirst{Blobs: b, tx: tx}
	}
	return r, nil
}

// inlineFirst reads a blob of a SQLite source from the database when the desk keeps it
// there (a small raw mail, sqlite.RawMails), else from its file.
type inlineFirst struct {
	core.Blobs
	tx *sql.Tx
}

func (s inlineFirst) Open(ctx context.Context, hash string) (io.ReadCloser, error) {
	var data []byte
	err := s.tx.QueryRowContext(ctx, `SELECT data FROM inline_blobs WHERE hash = ?`, hash).Scan(&data)
	if err == nil {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return s.Blobs.Open(ctx, hash)
}

func (r *reader) close() {
	if r.ptx != nil {
		r.ptx.Rollback(context.Background())
		r.ptx = nil
	}
	if r.stx != nil {
		r.stx.Rollback()
		r.stx = nil
	}
	if r.raw != nil {
		r.raw.Close()
		r.raw = nil
	}
}

func (r *reader) queryRow(ctx context.Context, q string, dest ...any) error {
	if r.ptx != nil {
		return r.ptx.QueryRow(ctx, q).Scan(dest...)
	}
	return r.stx.QueryRowContext(ctx, q).Scan(dest...)
}

func (r *reader) referencedBlobs(ctx context.Context) ([]string, error) {
	var out []string
	add := func(h string) error {
		if !validHash(h) {
			return fmt.Errorf("malformed hash %q", h)
		}
		out = append(out, h)
		return nil
	}
	var rows interface {
		Next() bool
		Scan(dest ...any) error
		Err() error
	}
	if r.ptx != nil {
		prows, err := r.ptx.Query(ctx, referencedBlobsSQL)
		if err != nil {
			return nil, err
		}
		defer prows.Close()
		rows = prows
	} else {
		srows, err := r.stx.QueryContext(ctx, referencedBlobsSQL)
		if err != nil {
			return nil, err
		}
		defer srows.Close()
		rows = srows
	}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		if err := add(h); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// sequence is the source's ID counter of table: the highest ID ever given (0 if none).
func (r *reader) sequence(ctx context.Context, table string) (int64, error) {
	var n sql.NullInt64
	if r.ptx != nil {
		err := r.ptx.QueryRow(ctx, `SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)`, table).Scan(&n)
		return n.Int64, err
	}
	err := r.stx.QueryRowContext(ctx, `SELECT max(seq) FROM sqlite_sequence WHERE name = ?`, table).Scan(&n)
	return n.Int64, err
}

func (r *reader) query(ctx context.Context, t Table) (rowSource, error) {
	q := `SELECT ` + t.columnList() + ` FROM ` + t.Name + ` ORDER BY ` + t.Key
	if r.ptx != nil {
		rows, err := r.ptx.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		return &pgRows{t: t, rows: rows}, nil
	}
	rows, err := r.stx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s := &sqliteRows{t: t, rows: rows, vals: make([]any, len(t.Columns)), ptrs: make([]any, len(t.Columns))}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s, nil
}

type pgRows struct {
	t    Table
	rows pgx.Rows
	err  error
}

func (p *pgRows) Next() bool { return p.err == nil && p.rows.Next() }
func (p *pgRows) Close()     { p.rows.Close() }
func (p *pgRows) Err() error {
	if p.err != nil {
		return p.err
	}
	return p.rows.Err()
}
func (p *pgRows) Values() ([]any, error) {
	vals, err := p.rows.Values()
	if err != nil {
		p.err = err
		return nil, err
	}
	out := make([]any, len(vals))
	for i, c := range p.t.Columns {
		if out[i], err = fromPostgres(c, vals[i]); err != nil {
			p.err = err
			return nil, err
		}
	}
	return out, nil
}

type sqliteRows struct {
	t    Table
	rows *sql.Rows
	vals []any
	ptrs []any
	err  error
}

func (s *sqliteRows) Next() bool { return s.err == nil && s.rows.Next() }
func (s *sqliteRows) Close()     { s.rows.Close() }
func (s *sqliteRows) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}
func (s *sqliteRows) Values() ([]any, error) {
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = err
		return nil, err
	}
	out := make([]any, len(s.vals))
	for i, c := range s.t.Columns {
		v, err := fromSQLite(c, s.vals[i])
		if err != nil {
			s.err = err
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
