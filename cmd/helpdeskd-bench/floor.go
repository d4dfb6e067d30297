package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// floorPragmas are the daemon's writer pragmas (adapters/sqlite: Open), in the connection
// string as the daemon puts them; the floor keeps SQLite's own auto-checkpoint, as plain
// SQLite would (the daemon moves checkpoints to a connection of their own).
var floorPragmas = []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(full)", "foreign_keys(1)", "temp_store(memory)"}

// floorResult is the floor measured from some goroutines.
type floorResult struct {
	Tx      int
	Elapsed time.Duration
	P50     time.Duration
	P99     time.Duration
}

// measureFloor runs durable one-row INSERT transactions straight on SQLite in a database in
// dir for d, from goroutines goroutines, each with its own connection (_txlock=immediate:
// BEGIN takes the write lock, waiting in the busy handler while another holds it), one row
// per transaction. With fileBytes > 0 each transaction is preceded by what storing an
// attachment takes on disk: a new file of fileBytes written in one call, fsynced, renamed
// into place and its directory fsynced.
func measureFloor(ctx context.Context, dir string, goroutines int, d time.Duration, fileBytes int) (floorResult, error) {
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o750); err != nil {
		return floorResult{}, err
	}
	path := filepath.Join(dir, "floor.db")
	q := url.Values{}
	for _, p := range floorPragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return floorResult{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(goroutines)
	db.SetMaxIdleConns(goroutines)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS floor (
		id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL,
		subject TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)`); err != nil {
		return floorResult{}, fmt.Errorf("create floor table: %w", err)
	}
	bufs := make([][]byte, goroutines)
	for g := range bufs {
		bufs[g] = make([]byte, fileBytes)
		rand.Read(bufs[g])
	}
	insert := func(i int) error {
		if fileBytes > 0 {
			if err := writeFile(files, i, bufs[i%goroutines]); err != nil {
				return err
			}
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `INSERT INTO floor (account_id, subject, body, created_at) VALUES (?, ?, ?, ?)`,
			i%1000+1, "Site is slow", "Since this morning every page takes seconds to load.", time.Now().UnixMicro()); err != nil {
			return err
		}
		return tx.Commit()
	}
	return runFloor(ctx, goroutines, d, insert)
}

// runFloor calls insert once from each of goroutines goroutines (opening every connection
// before the clock starts), then from all of them in turn for d, and returns how many
// transactions were done and their latencies.
func runFloor(ctx context.Context, goroutines int, d time.Duration, insert func(i int) error) (floorResult, error) {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for i := range goroutines {
		wg.Go(func() {
			if err := insert(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return floorResult{}, fmt.Errorf("floor insert: %w", err)
	default:
	}
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	start := time.Now()
	end := start.Add(d)
	for g := range goroutines {
		wg.Go(func() {
			var mine []time.Duration
			for i := g; ; i += goroutines {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					break
				}
				if err := insert(i); err != nil {
					errs <- err
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return floorResult{}, fmt.Errorf("floor insert: %w", err)
	default:
	}
	slices.Sort(lat)
	return floorResult{Tx: len(lat), Elapsed: elapsed, P50: percentile(lat, 0.5), P99: percentile(lat, 0.99)}, nil
}

// writeFile stores b as file i in dir durably, as the attachment store does: a temporary
// file, fsync, rename, fsync of the directory.
func writeFile(dir string, i int, b []byte) error {
	if len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, uint64(i))
	}
	tmp := filepath.Join(dir, fmt.Sprintf("tmp-%d", i))
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, strconv.Itoa(i))); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
