package storecopy

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
)

// writer writes the destination in one transaction.
type writer struct {
	dst   Store
	blobs core.Blobs
	// SQLite: the file, written with database/sql once sqlite.Open has migrated it.
	raw *sql.DB
	stx *sql.Tx
	// Postgres
	ptx pgx.Tx
}

func openWriter(ctx context.Context, dst Store) (*writer, error) {
	w := &writer{dst: dst}
	if dst.Postgres != nil {
		w.blobs = dst.Postgres.Blobs()
		return w, nil
	}
	// A file that holds a desk is refused before sqlite.Open would migrate it.
	if fi, err := os.Stat(dst.SQLitePath); err == nil && fi.Size() > 0 {
		if err := precheckSQLite(ctx, dst); err != nil {
			return nil, err
		}
	}
	// sqlite.Open creates the file if need be and applies the migrations; it is closed
	// before the rows are written through the file.
	db, err := sqlite.Open(ctx, dst.SQLitePath, sqlite.Options{AttachmentsDir: dst.AttachmentsDir})
	if err != nil {
		return nil, fmt.Errorf("store copy: open %s: %w", dst, err)
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("store copy: close %s: %w", dst, err)
	}
	raw, err := openSQLiteFile(dst.SQLitePath, false)
	if err != nil {
		return nil, fmt.Errorf("store copy: %w", err)
	}
	b, err := sqlite.NewBlobs(dst.attachments())
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("store copy: %w", err)
	}
	w.raw, w.blobs = raw, b
	return w, nil
}

func (w *writer) close() {
	if w.ptx != nil {
		w.ptx.Rollback(context.Background())
		w.ptx = nil
	}
	if w.stx != nil {
		w.stx.Rollback()
		w.stx = nil
	}
	if w.raw != nil {
		w.raw.Close()
		w.raw = nil
	}
}

func (w *writer) queryRow(ctx context.Context, q string, dest ...any) error {
	if w.dst.Postgres != nil {
		return w.dst.Postgres.Pool().QueryRow(ctx, q).Scan(dest...)
	}
	return w.raw.QueryRowContext(ctx, q).Scan(dest...)
}

// precheckSQLite refuses an existing SQLite file that holds accounts, users or tickets,
// whatever its schema version; a file without those tables passes.
func precheckSQLite(ctx context.Context, dst Store) error {
	raw, err := openSQLiteFile(dst.SQLitePath, true)
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	defer raw.Close()
	w := &writer{dst: dst, raw: raw}
	var n int64
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', 'users', 'tickets')`).Scan(&n); err != nil {
		return fmt.Errorf("store copy: read %s: %w", dst, err)
	}
	if n < 3 {
		return nil
	}
	return w.checkEmpty(ctx)
}

// checkEmpty refuses a destination that holds any account, user or ticket.
func (w *writer) checkEmpty(ctx context.Context) error {
	var found []string
	for _, t := range []string{"accounts", "users", "tickets"} {
		var n int64
		if err := w.queryRow(ctx, `SELECT count(*) FROM `+t, &n); err != nil {
			return fmt.Errorf("store copy: count %s in %s: %w", t, w.dst, err)
		}
		if n > 0 {
			found = append(found, fmt.Sprintf("%d %s", n, t))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("store copy: %w: %s holds %s; copy only into a new, empty database", ErrNotEmpty, w.dst, strings.Join(found, ", "))
	}
	return nil
}

func (w *writer) begin(ctx context.Context) error {
	var err error
	if w.dst.Postgres != nil {
		w.ptx, err = w.dst.Postgres.Pool().BeginTx(ctx, pgx.TxOptions{})
		if err == nil {
			_, err = w.ptx.Exec(ctx, noIdleLimit)
		}
	} else {
		// BEGIN IMMEDIATE (sqliteDSN): a second copy into the same file waits, then finds
		// it not empty.
		w.stx, err = w.raw.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("store copy: begin writing %s: %w", w.dst, err)
	}
	if err := w.checkEmptyTx(ctx); err != nil {
		return err
	}
	return nil
}

// checkEmptyTx repeats checkEmpty inside the transaction, against a concurrent copy.
func (w *writer) checkEmptyTx(ctx context.Context) error {
	var n int64
	q := `SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM users) + (SELECT count(*) FROM tickets)`
	var err error
	if w.ptx != nil {
		if _, err = w.ptx.Exec(ctx, `LOCK TABLE accounts, users, tickets IN EXCLUSIVE MODE`); err == nil {
			err = w.ptx.QueryRow(ctx, q).Scan(&n)
		}
	} else {
		err = w.stx.QueryRowContext(ctx, q).Scan(&n)
	}
	if err != nil {
		return fmt.Errorf("store copy: check %s is empty: %w", w.dst, err)
	}
	if n > 0 {
		return fmt.Errorf("store copy: %w: %s was written to meanwhile", ErrNotEmpty, w.dst)
	}
	return nil
}

// dropIndexes drops the secondary indexes of table (not those of primary keys and unique
// constraints) inside the copy's transaction and returns the statements that create them
// again: building an index once over all rows is much faster than keeping it up to date
// row by row. Nothing else sees the table meanwhile (the transaction holds it).
func (w *writer) dropIndexes(ctx context.Context, table string) ([]string, error) {
	type index struct{ name, def string }
	var list []index
	if w.ptx != nil {
		rows, err := w.ptx.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
			WHERE i.schemaname = current_schema() AND i.tablename = $1
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
			ORDER BY i.indexname`, table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var x index
			if err := rows.Scan(&x.name, &x.def); err != nil {
				rows.Close()
				return nil, err
			}
			list = append(list, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	} else {
		rows, err := w.stx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
			WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var x index
			if err := rows.Scan(&x.name, &x.def); err != nil {
				rows.Close()
				return nil, err
			}
			list = append(list, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var defs []string
	for _, x := range list {
		q := `DROP INDEX ` + pgx.Identifier{x.name}.Sanitize()
		var err error
		if w.ptx != nil {
			_, err = w.ptx.Exec(ctx, q)
		} else {
			_, err = w.stx.ExecContext(ctx, q)
		}
		if err != nil {
			return nil, fmt.Errorf("drop index %s: %w", x.name, err)
		}
		defs = append(defs, x.def)
	}
	return defs, nil
}

// createIndexes runs the statements dropIndexes returned.
func (w *writer) createIndexes(ctx context.Context, defs []string) error {
	for _, d := range defs {
		var err error
		if w.ptx != nil {
			_, err = w.ptx.Exec(ctx, d)
		} else {
			_, err = w.stx.ExecContext(ctx, d)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	return nil
}

// write copies rows into table t and returns how many.
func (w *writer) write(ctx context.Context, t Table, rows rowSource) (int64, error) {
	if w.ptx != nil {
		return w.ptx.CopyFrom(ctx, pgx.Identifier{t.Name}, t.names(), pgx.CopyFromFunc(func() ([]any, error) {
			if !rows.Next() {
				return nil, rows.Err()
			}
			return rows.Values()
		}))
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(t.Columns)), ", ")
	stmt, err := w.stx.PrepareContext(ctx, `INSERT INTO `+t.Name+` (`+t.columnList()+`) VALUES (`+marks+`)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	var n int64
	args := make([]any, len(t.Columns))
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return n, err
		}
		for i, c := range t.Columns {
			args[i] = toSQLite(c, vals[i])
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// setSequence moves the ID counter of table past its highest ID and past seq, the
// source's counter (which may be higher: deleted rows keep their IDs used).
func (w *writer) setSequence(ctx context.Context, table string, seq int64) error {
	if w.ptx != nil {
		_, err := w.ptx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), v)
			FROM (SELECT GREATEST((SELECT max(id) FROM `+table+`), $2) AS v) s WHERE v > 0`, table, seq)
		return err
	}
	// The tables SQLite no longer keeps a counter for (migration 022: tickets, messages,
	// ticket_events, changes) give the next ID after their largest, and their rows are never
	// deleted; an ID above it that the source's counter passed was never a row's.
	var counted int
	if err := w.stx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
		WHERE type = 'table' AND name = ? AND sql LIKE '%AUTOINCREMENT%'`, table).Scan(&counted); err != nil {
		return err
	}
	if counted == 0 {
		return nil
	}
	var max sql.NullInt64
	if err := w.stx.QueryRowContext(ctx, `SELECT max(id) FROM `+table).Scan(&max); err != nil {
		return err
	}
	v := max.Int64
	if seq > v {
		v = seq
	}
	if v == 0 {
		return nil
	}
	if _, err := w.stx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = ?`, table); err != nil {
		return err
	}
	_, err := w.stx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, table, v)
	return err
}

// finish brings the search index up to date and commits.
func (w *writer) finish(ctx context.Context) error {
	if w.ptx != nil {
		// messages.search was computed by its trigger as each message was copied, from the
		// ticket copied before it: nothing to rebuild.
		if err := w.ptx.Commit(ctx); err != nil {
			return fmt.Errorf("store copy: commit %s: %w", w.dst, err)
		}
		w.ptx = nil
		if _, err := w.dst.Postgres.Pool().Exec(ctx, `ANALYZE`); err != nil {
			return fmt.Errorf("store copy: analyze %s: %w", w.dst, err)
		}
		return nil
	}
	if err := foreignKeyCheck(ctx, w.stx); err != nil {
		return fmt.Errorf("store copy: %s: %w", w.dst, err)
	}
	// The index the writer keeps (searchindex.go, migration 005), by its own statement.
	if _, err := w.stx.ExecContext(ctx, `INSERT OR REPLACE INTO ticket_search (rowid, subject, body)
		SELECT m.id, t.subject, m.body FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE m.id > (SELECT last_message_id FROM search_progress)`); err != nil {
		return fmt.Errorf("store copy: index the messages: %w", err)
	}
	if _, err := w.stx.ExecContext(ctx, `UPDATE search_progress SET last_message_id = (SELECT COALESCE(max(id), 0) FROM messages)`); err != nil {
		return fmt.Errorf("store copy: search progress: %w", err)
	}
	if err := w.stx.Commit(); err != nil {
		return fmt.Errorf("store copy: commit %s: %w", w.dst, err)
	}
	w.stx = nil
	if _, err := w.raw.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("store copy: analyze %s: %w", w.dst, err)
	}
	return nil
}

// foreignKeyCheck fails when a row written references a row that is not there: the rows
// are written with the checks off, which is several times faster, and checked at the end.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int64
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf("%s row %d references a missing %s", table, rowid.Int64, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("foreign key check: %s", strings.Join(bad, "; "))
	}
	return nil
}
