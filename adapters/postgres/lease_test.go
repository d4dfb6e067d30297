package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

func TestLease_OneHolderAndAGreaterFenceOnEachChange(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	// Long enough that the steps before the wait for expiry take less on a loaded machine.
	const ttl = 2 * time.Second
	f1, err := db.AcquireLease(ctx, "imap:INBOX", "a", ttl)
	if err != nil || f1 != 1 {
		t.Fatalf("first take: fence %d, %v", f1, err)
	}
	if _, err := db.AcquireLease(ctx, "imap:INBOX", "b", ttl); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("b took a running lease: %v", err)
	}
	if f, err := db.AcquireLease(ctx, "imap:INBOX", "a", ttl); err != nil || f != f1 {
		t.Fatalf("renewal: fence %d, %v; want %d", f, err, f1)
	}
	// Another lease is another row.
	if f, err := db.AcquireLease(ctx, "telegram", "b", ttl); err != nil || f != 1 {
		t.Fatalf("telegram lease: fence %d, %v", f, err)
	}
	var f2 int64
	eventually(t, func() bool {
		f2, err = db.AcquireLease(ctx, "imap:INBOX", "b", ttl)
		return err == nil
	})
	if f2 <= f1 {
		t.Fatalf("fence after the change of holder %d, want more than %d", f2, f1)
	}
	if _, err := db.AcquireLease(ctx, "imap:INBOX", "a", ttl); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("the old holder renewed a lease taken over: %v", err)
	}
	if err := db.ReleaseLease(ctx, "imap:INBOX", "b"); err != nil {
		t.Fatal(err)
	}
	if f, err := db.AcquireLease(ctx, "imap:INBOX", "a", ttl); err != nil || f <= f2 {
		t.Fatalf("take after release: fence %d, %v", f, err)
	}
	leases, err := db.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holders := map[string]string{}
	for _, l := range leases {
		holders[l.Name] = l.Holder
	}
	// The store's own liveness lease is there too.
	want := map[string]string{"imap:INBOX": "a", "telegram": "b", "node:" + db.Node(): db.Node()}
	if len(holders) != len(want) {
		t.Fatalf("leases %+v", leases)
	}
	for name, h := range want {
		if holders[name] != h {
			t.Errorf("lease %s held by %q, want %q", name, holders[name], h)
		}
	}
}

func TestLease_FencedWriteOfAnOldHolderCommitsNothing(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	put := func(ctx context.Context, id int64) error {
		_, err := svc.PutAccount(ctx, core.System(), core.Account{ID: id, Name: "Acme"})
		return err
	}
	f1, err := db.AcquireLease(ctx, "imap:INBOX", "a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leader := core.WithFence(ctx, core.Fence{Lease: "imap:INBOX", Holder: "a", Number: f1})
	if err := put(leader, 1); err != nil {
		t.Fatalf("the holder's write: %v", err)
	}
	// b takes over (a was paused past the lease; here it is released for it).
	if err := db.ReleaseLease(ctx, "imap:INBOX", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AcquireLease(ctx, "imap:INBOX", "b", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := put(leader, 2); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("the old holder's write: %v, want %s", err, core.EUNAVAILABLE)
	}
	// The store's own writes are fenced too (the Telegram offset).
	if err := db.FinishTelegramUpdate(leader, 7, 0, "", time.Hour); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("the old holder's offset: %v, want %s", err, core.EUNAVAILABLE)
	}
	if off, err := db.TelegramOffset(ctx); err != nil || off != 0 {
		t.Fatalf("offset %d, %v after a refused write", off, err)
	}
	err = db.Read(ctx, func(tx core.ReadTx) error {
		_, err := tx.Account(ctx, 2)
		return err
	})
	if core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("account of the refused write: %v", err)
	}
}

// TestRunLeader_OneNodeRunsTheJobAndAnotherTakesOver runs two nodes' leader loops on one
// database: the job runs on one of them at a time, and when that node stops, the other
// takes it over.
func TestRunLeader_OneNodeRunsTheJobAndAnotherTakesOver(t *testing.T) {
	db := openTest(t)
	var running atomic.Int32
	var mu sync.Mutex
	ran := map[string]int{}
	overlap := atomic.Bool{}
	node := func(ctx context.Context, name string) func() {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			gateway.RunLeader(ctx, db, gateway.LeaderOptions{Lease: "telegram", Holder: name, TTL: 2 * time.Second},
				func(ctx context.Context) error {
					if running.Add(1) > 1 {
						overlap.Store(true)
					}
					defer running.Add(-1)
					mu.Lock()
					ran[name]++
					mu.Unlock()
					<-ctx.Done()
					return nil
				})
		}()
		return func() { cancel(); <-done }
	}
	stopA := node(context.Background(), "a")
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return ran["a"] >= 1 })
	stopB := node(context.Background(), "b")
	defer stopB()
	stopA()
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return ran["b"] >= 1 })
	if overlap.Load() {
		t.Fatal("both nodes ran the job at once")
	}
}

// eventually waits up to 10 s for cond, polling.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLease_AFrozenLeadersWriteNeitherBlocksTheTakeOverNorCommits: a leader stops in the
// middle of a fenced write (here its fn waits, as a process stopped by SIGSTOP would). Its
// transaction holds the lease's row FOR SHARE, yet another node takes the lease over once
// it has expired, since the server ends a session idle in a transaction; and the frozen
// write, resumed, commits nothing.
func TestLease_AFrozenLeadersWriteNeitherBlocksTheTakeOverNorCommits(t *testing.T) {
	frozenLeader(t, openTest(t))
}

func frozenLeader(t *testing.T, db *postgres.DB) {
	ctx := context.Background()
	const ttl = time.Second
	fa, err := db.AcquireLease(ctx, "imap:INBOX", "a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	leader := core.WithFence(ctx, core.Fence{Lease: "imap:INBOX", Holder: "a", Number: fa})
	frozen, thaw := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- db.Write(leader, func(tx core.Tx) error {
			if err := tx.PutAccount(leader, &core.Account{ID: 7, Name: "Written by a frozen leader", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
				return err
			}
			if runs.Add(1) == 1 { // not when run again after its session was ended
				close(frozen)
				<-thaw
			}
			return nil
		})
	}()
	select {
	case <-frozen:
	case err := <-done:
		t.Fatalf("the leader's write ended before it froze: %v", err)
	}
	eventually(t, func() bool {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := db.AcquireLease(actx, "imap:INBOX", "b", time.Minute)
		return err == nil
	})
	close(thaw)
	if err := <-done; err == nil {
		t.Fatal("the frozen leader's write committed after the take-over")
	}
	err = db.Read(ctx, func(tx core.ReadTx) error {
		_, err := tx.Account(ctx, 7)
		return err
	})
	if core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("account of the frozen write: %v", err)
	}
}
