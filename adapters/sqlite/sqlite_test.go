package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
)

var ctx = context.Background()

func TestOpen_MigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db", "helpdeskd.db")
	for i := 0; i < 2; i++ {
		db, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("ping #%d: %v", i+1, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
}

func TestOpen_RejectsUnknownSynchronous(t *testing.T) {
	_, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "off"})
	if err == nil {
		t.Fatal("synchronous=off accepted")
	}
}

// TestWrite_FailedWriteUndoesOnlyItself forms one batch of n writes (a first write holds
// the writer until all n are queued), half of which fail: the batch is undone and run again
// with a savepoint per write, so each failing write loses only its own work.
func TestWrite_FailedWriteUndoesOnlyItself(t *testing.T) {
	db := sqlitetest.Open(t)
	const n = 64
	var mu sync.Mutex
	var sizes []int
	sqlite.ObserveBatches(db, func(size int) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, size)
	})
	var wg sync.WaitGroup
	started, gate := make(chan struct{}), make(chan struct{})
	wg.Go(func() {
		if err := db.Write(ctx, func(core.Tx) error { close(started); <-gate; return nil }); err != nil {
			t.Error(err)
		}
	})
	<-started // its batch is formed: the writes below queue behind it
	errs := make([]error, n)
	runs := make([]atomic.Int32, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Write(ctx, func(tx core.Tx) error {
				runs[i].Add(1)
				a := &core.Account{ID: int64(i + 1), Name: "acct"}
				if err := tx.PutAccount(ctx, a); err != nil {
					return err
				}
				if i%2 == 1 {
					return errors.New("changed my mind")
				}
				return nil
			})
		})
	}
	for sqlite.QueuedWrites(db) < n {
		runtime.Gosched()
	}
	close(gate)
	wg.Wait()
	mu.Lock()
	formed := slices.Contains(sizes, n)
	mu.Unlock()
	if !formed {
		t.Fatalf("batches of %v, want one of all %d writes", sizes, n)
	}
	// The batch ran without savepoints until its first failing write, then again with them:
	// the writes queued before that one ran twice, none more.
	total := 0
	for i := range runs {
		r := int(runs[i].Load())
		if r < 1 || r > 2 {
			t.Errorf("write %d ran %d times, want 1 or 2", i, r)
		}
		total += r
	}
	if total <= n {
		t.Errorf("%d runs of %d writes: the batch was never run again with savepoints", total, n)
	}
	for i := 0; i < n; i++ {
		err := db.Read(ctx, func(tx core.ReadTx) error {
			_, err := tx.Account(ctx, int64(i+1))
			return err
		})
		if i%2 == 1 {
			if errs[i] == nil || core.ErrorCode(err) != core.ENOTFOUND {
				t.Errorf("write %d failed with %v but account lookup gave %v", i, errs[i], err)
			}
		} else if errs[i] != nil || err != nil {
			t.Errorf("write %d: %v, read: %v", i, errs[i], err)
		}
	}
}

func TestWrite_PanicIsAnErrorAndWriterSurvives(t *testing.T) {
	db := sqlitetest.Open(t)
	err := db.Write(ctx, func(tx core.Tx) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic gave %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("writer dead after panic: %v", err)
	}
}

func TestWrite_AfterCloseIsRefused(t *testing.T) {
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Write(ctx, func(core.Tx) error { return nil }); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("write after close: %v", err)
	}
}

func TestBlobs_LimitAndRoundTrip(t *testing.T) {
	db := sqlitetest.Open(t)
	b := db.Blobs()
	data := bytes.Repeat([]byte("x"), 1000)
	if _, _, err := b.Put(ctx, bytes.NewReader(data), 999); core.ErrorCode(err) != core.ETOOLARGE {
		t.Fatalf("over limit: %v", err)
	}
	hash, size, err := b.Put(ctx, bytes.NewReader(data), 1000)
	if err != nil || size != 1000 {
		t.Fatalf("at limit: %v size %d", err, size)
	}
	rc, err := b.Open(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, data) {
		t.Fatal("blob content differs")
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("z", 64), strings.Repeat("0", 64)} {
		if _, err := b.Open(ctx, bad); core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("Open(%q): %v, want ENOTFOUND", bad, err)
		}
	}
}

func TestUserByEmail_CaseInsensitive(t *testing.T) {
	db := sqlitetest.Open(t)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	mustAccount(t, svc, 1)
	if _, err := svc.PutUser(ctx, core.System(), core.User{ID: 5, Email: "Ann@Example.COM", Name: "Ann", AccountIDs: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	err := db.Read(ctx, func(tx core.ReadTx) error {
		u, err := tx.UserByEmail(ctx, "ANN@example.com")
		if err == nil && (u.ID != 5 || u.Email != "ann@example.com") {
			t.Errorf("got user %+v", u)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustAccount(t testing.TB, svc *core.Service, id int64) {
	t.Helper()
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: id, Name: "Account"}); err != nil {
		t.Fatal(err)
	}
}
