package storetest

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The rows of the API's Idempotency-Key, where a store keeps them: a reservation is one
// step, a Write under it marks it committed in its own transaction (and is refused once the
// reservation was taken over), an answer is kept, and expired rows are swept. A store
// without them skips.

type idempotencyStore interface {
	ReserveIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord, now time.Time) (core.IdempotencyRecord, bool, error)
	IdempotencyKey(ctx context.Context, owner int64, key string) (core.IdempotencyRecord, error)
	FinishIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord) error
	ReleaseIdempotencyKey(ctx context.Context, owner int64, key, token string) error
	SweepIdempotencyKeys(ctx context.Context, now time.Time) (int, error)
}

func runIdempotency(t *testing.T, open Opener) {
	const lock, ttl = time.Minute, 24 * time.Hour
	// setup returns the desk, its store's rows and a reservation of key "k" by Ann at epoch.
	setup := func(t *testing.T) (*desk, idempotencyStore, func(token, fingerprint string, at time.Time) core.IdempotencyRecord) {
		d := newDesk(t, open, core.Options{})
		s, ok := d.store.(idempotencyStore)
		if !ok {
			t.Skip("the store keeps no Idempotency-Key rows")
		}
		rec := func(token, fingerprint string, at time.Time) core.IdempotencyRecord {
			return core.IdempotencyRecord{Owner: d.ann.User.ID, Key: "k", Token: token, Fingerprint: fingerprint,
				LockedUntil: at.Add(lock), ExpiresAt: at.Add(ttl)}
		}
		return d, s, rec
	}
	reserve := func(t *testing.T, s idempotencyStore, rec core.IdempotencyRecord, now time.Time) (core.IdempotencyRecord, bool) {
		t.Helper()
		got, held, err := s.ReserveIdempotencyKey(ctx, rec, now)
		if err != nil {
			t.Fatalf("reserve %s: %v", rec.Token, err)
		}
		return got, held
	}
	state := func(t *testing.T, s idempotencyStore, owner int64) core.IdempotencyState {
		t.Helper()
		got, err := s.IdempotencyKey(ctx, owner, "k")
		if core.ErrorCode(err) == core.ENOTFOUND {
			return ""
		} else if err != nil {
			t.Fatal(err)
		}
		return got.State
	}

	t.Run("ReserveOnce", func(t *testing.T) {
		d, s, rec := setup(t)
		if got, held := reserve(t, s, rec("a", "fp", epoch), epoch); !held || got.State != core.IdempotencyRunning {
			t.Fatalf("first reservation: held %v, %+v", held, got)
		}
		got, held := reserve(t, s, rec("b", "fp", epoch), epoch.Add(time.Second))
		if held || got.Token != "a" || got.State != core.IdempotencyRunning || !got.LockedUntil.Equal(epoch.Add(lock)) {
			t.Fatalf("second reservation: held %v, %+v", held, got)
		}
		// Another owner's key of the same name is another row.
		other := rec("c", "fp", epoch)
		other.Owner = d.bob.User.ID
		if _, held := reserve(t, s, other, epoch); !held {
			t.Fatal("another owner's key is not independent")
		}
	})

	t.Run("ConcurrentReservationsHoldOnce", func(t *testing.T) {
		_, s, rec := setup(t)
		const n = 16
		held := make(chan bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, h, err := s.ReserveIdempotencyKey(ctx, rec("t"+strconv.Itoa(i), "fp", epoch), epoch)
				if err != nil {
					t.Errorf("reserve %d: %v", i, err)
				}
				held <- h
			})
		}
		wg.Wait()
		close(held)
		count := 0
		for h := range held {
			if h {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("%d of %d concurrent reservations hold the key, want 1", count, n)
		}
	})

	t.Run("WriteMarksCommitted", func(t *testing.T) {
		d, s, rec := setup(t)
		reserve(t, s, rec("a", "fp", epoch), epoch)
		wctx := core.WithIdempotency(ctx, d.ann.User.ID, "k", "a")
		if _, err := d.svc.CreateTicket(wctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Once", Description: "d"}); err != nil {
			t.Fatal(err)
		}
		if got := state(t, s, d.ann.User.ID); got != core.IdempotencyCommitted {
			t.Fatalf("after the write: %q, want committed", got)
		}
		// A write that fails leaves the key as it was; a release keeps a committed key.
		if err := s.ReleaseIdempotencyKey(ctx, d.ann.User.ID, "k", "a"); err != nil {
			t.Fatal(err)
		}
		if got := state(t, s, d.ann.User.ID); got != core.IdempotencyCommitted {
			t.Fatalf("after a release: %q, want committed", got)
		}
		// Committed and its lock expired: nobody takes it over.
		if _, held := reserve(t, s, rec("b", "fp", epoch.Add(2*lock)), epoch.Add(2*lock)); held {
			t.Fatal("a committed key was taken over")
		}
	})

	t.Run("TakenOverWriteIsRefused", func(t *testing.T) {
		d, s, rec := setup(t)
		reserve(t, s, rec("a", "fp", epoch), epoch)
		later := epoch.Add(lock + time.Second)
		if _, held := reserve(t, s, rec("b", "other", later), later); held {
			t.Fatal("a reservation of another request took the key over")
		}
		if _, held := reserve(t, s, rec("b", "fp", later), later); !held {
			t.Fatal("a running key whose lock expired was not taken over")
		}
		// The first attempt, alive after all, may no longer write under the key.
		stale := core.WithIdempotency(ctx, d.ann.User.ID, "k", "a")
		_, err := d.svc.CreateTicket(stale, d.ann, core.NewTicket{AccountID: 1, Subject: "Twice", Description: "d"})
		wantCode(t, "write under a key taken over", err, core.ECONFLICT)
		var n int
		d.read(t, func(tx core.ReadTx) (err error) {
			_, n, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 10}})
			return
		})
		if n != 0 {
			t.Fatalf("%d tickets after the refused write, want 0", n)
		}
		if err := s.FinishIdempotencyKey(ctx, rec("a", "fp", epoch)); core.ErrorCode(err) != core.ECONFLICT {
			t.Fatalf("answer of the taken-over attempt: %v, want ECONFLICT", err)
		}
	})

	t.Run("AnswerKept", func(t *testing.T) {
		d, s, rec := setup(t)
		reserve(t, s, rec("a", "fp", epoch), epoch)
		done := rec("a", "fp", epoch)
		done.Status, done.ContentType, done.Location, done.Body = 201, "application/json; charset=utf-8", "/api/Ticket/1", []byte(`{"x":1}`+"\n")
		if err := s.FinishIdempotencyKey(ctx, done); err != nil {
			t.Fatal(err)
		}
		got, held := reserve(t, s, rec("b", "fp", epoch.Add(2*lock)), epoch.Add(2*lock))
		if held || got.State != core.IdempotencyDone || got.Status != 201 || got.ContentType != done.ContentType ||
			got.Location != done.Location || !bytes.Equal(got.Body, done.Body) {
			t.Fatalf("the answer: held %v, %+v", held, got)
		}
		if err := s.ReleaseIdempotencyKey(ctx, d.ann.User.ID, "k", "a"); err != nil {
			t.Fatal(err)
		}
		if got := state(t, s, d.ann.User.ID); got != core.IdempotencyDone {
			t.Fatalf("after a release: %q, want done", got)
		}
	})

	t.Run("ReleaseFreesARunningKey", func(t *testing.T) {
		d, s, rec := setup(t)
		reserve(t, s, rec("a", "fp", epoch), epoch)
		if err := s.ReleaseIdempotencyKey(ctx, d.ann.User.ID, "k", "someone else"); err != nil {
			t.Fatal(err)
		}
		if got := state(t, s, d.ann.User.ID); got != core.IdempotencyRunning {
			t.Fatalf("another token released the key: %q", got)
		}
		if err := s.ReleaseIdempotencyKey(ctx, d.ann.User.ID, "k", "a"); err != nil {
			t.Fatal(err)
		}
		if got := state(t, s, d.ann.User.ID); got != "" {
			t.Fatalf("after its release: %q, want no row", got)
		}
		if _, held := reserve(t, s, rec("b", "other", epoch), epoch); !held {
			t.Fatal("a released key cannot be reserved again")
		}
	})

	t.Run("ExpiredRowsGo", func(t *testing.T) {
		d, s, rec := setup(t)
		reserve(t, s, rec("a", "fp", epoch), epoch)
		other := rec("b", "fp", epoch.Add(time.Hour))
		other.Key = "later"
		reserve(t, s, other, epoch.Add(time.Hour))
		expired := epoch.Add(ttl)
		// An expired row not swept yet is as if gone: another request may use the key.
		if _, held := reserve(t, s, rec("c", "new", expired), expired); !held {
			t.Fatal("an expired key was not reserved anew")
		}
		n, err := s.SweepIdempotencyKeys(ctx, epoch.Add(time.Hour+ttl))
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v; want 1 (the row reserved anew is not expired yet)", n, err)
		}
		if got := state(t, s, d.ann.User.ID); got != core.IdempotencyRunning {
			t.Fatalf("the sweep took the row reserved anew: %q", got)
		}
		if n, err := s.SweepIdempotencyKeys(ctx, expired.Add(ttl)); err != nil || n != 1 {
			t.Fatalf("second sweep: %d, %v; want 1", n, err)
		}
	})
}
