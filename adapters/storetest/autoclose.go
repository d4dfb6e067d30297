package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

func runAutoClose(t *testing.T, open Opener) {
	t.Run("QuietTickets", func(t *testing.T) { testQuietTickets(t, open) })
	t.Run("MarkOncePerPeriod", func(t *testing.T) { testMarkAutoClose(t, open) })
	t.Run("ConcurrentMarks", func(t *testing.T) { testMarkAutoCloseConcurrent(t, open) })
}

// quiet lists the quiet tickets f selects.
func (d *desk) quiet(t *testing.T, f core.QuietFilter) []core.QuietTicket {
	t.Helper()
	var got []core.QuietTicket
	d.read(t, func(tx core.ReadTx) (err error) { got, err = tx.QuietTickets(ctx, f); return })
	return got
}

func (d *desk) resolve(t *testing.T, id int64) time.Time {
	t.Helper()
	at := d.clock.tick(time.Second)
	if _, err := d.svc.SetStatus(ctx, d.sam, core.TicketRef{ID: id}, core.StatusResolved); err != nil {
		t.Fatalf("resolve ticket %d: %v", id, err)
	}
	return at
}

func testQuietTickets(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	open1 := d.ticket(t, d.ann, core.NewTicket{})
	a := d.ticket(t, d.ann, core.NewTicket{})
	b := d.ticket(t, d.bob, core.NewTicket{})
	aSince := d.resolve(t, a.ID)
	bSince := d.resolve(t, b.ID)
	// A staff reply is no customer's: the period goes on.
	d.reply(t, d.sam, a.ID, core.NewReply{Body: "Anything else?"})

	got := d.quiet(t, core.QuietFilter{})
	if len(got) != 2 || got[0].TicketID != a.ID || !got[0].Since.Equal(aSince) || got[1].TicketID != b.ID || !got[1].Since.Equal(bSince) ||
		!got[0].RemindedFor.IsZero() || !got[0].RemindedAt.IsZero() {
		t.Fatalf("quiet tickets %+v, want %d since %v and %d since %v, not reminded (ticket %d is Open)", got, a.ID, aSince, b.ID, bSince, open1.ID)
	}
	for _, c := range []struct {
		name string
		f    core.QuietFilter
		want []int64
	}{
		{"quiet since a's start", core.QuietFilter{QuietSince: aSince}, []int64{a.ID}},
		{"quiet since before both", core.QuietFilter{QuietSince: aSince.Add(-time.Second)}, []int64{}},
		{"one ticket", core.QuietFilter{TicketID: b.ID}, []int64{b.ID}},
		{"an Open ticket", core.QuietFilter{TicketID: open1.ID}, []int64{}},
		{"after a", core.QuietFilter{AfterID: a.ID}, []int64{b.ID}},
		{"limit", core.QuietFilter{Limit: 1}, []int64{a.ID}},
	} {
		ids := []int64{}
		for _, q := range d.quiet(t, c.f) {
			ids = append(ids, q.TicketID)
		}
		if len(ids) != len(c.want) || (len(ids) > 0 && ids[0] != c.want[0]) {
			t.Errorf("%s: %v, want %v", c.name, ids, c.want)
		}
	}

	// The reminder recorded for the period shows; one of an earlier period shows as it is.
	remindedAt := d.clock.tick(time.Minute)
	d.write(t, func(tx core.Tx) error {
		_, err := tx.MarkAutoClose(ctx, a.ID, core.AutoCloseRemind, aSince, remindedAt)
		return err
	})
	if q := d.quiet(t, core.QuietFilter{TicketID: a.ID}); len(q) != 1 || !q[0].RemindedFor.Equal(aSince) || !q[0].RemindedAt.Equal(remindedAt) {
		t.Fatalf("after the reminder %+v, want reminded for %v at %v", q, aSince, remindedAt)
	}
	// A close mark is no reminder.
	d.write(t, func(tx core.Tx) error {
		_, err := tx.MarkAutoClose(ctx, b.ID, core.AutoCloseClose, bSince, remindedAt)
		return err
	})
	if q := d.quiet(t, core.QuietFilter{TicketID: b.ID}); len(q) != 1 || !q[0].RemindedFor.IsZero() {
		t.Fatalf("after a close mark %+v, want no reminder", q)
	}

	// The customer's reply reopens a; Resolved again, it has a new period.
	d.reply(t, d.ann, a.ID, core.NewReply{Body: "Still broken."})
	again := d.resolve(t, a.ID)
	if q := d.quiet(t, core.QuietFilter{TicketID: a.ID}); len(q) != 1 || !q[0].Since.Equal(again) || !q[0].RemindedFor.Equal(aSince) {
		t.Fatalf("resolved again %+v, want since %v with the old period's reminder", q, again)
	}
}

func testMarkAutoClose(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	tk := d.ticket(t, d.ann, core.NewTicket{})
	since := d.resolve(t, tk.ID)
	mark := func(step core.AutoCloseStep, since time.Time) bool {
		t.Helper()
		var first bool
		d.write(t, func(tx core.Tx) (err error) {
			first, err = tx.MarkAutoClose(ctx, tk.ID, step, since, d.clock.tick(time.Second))
			return
		})
		return first
	}
	if !mark(core.AutoCloseRemind, since) {
		t.Fatal("first reminder mark: false")
	}
	if mark(core.AutoCloseRemind, since) {
		t.Fatal("second reminder mark of the same period: true")
	}
	if !mark(core.AutoCloseClose, since) {
		t.Fatal("close mark after a reminder mark: false")
	}
	if !mark(core.AutoCloseRemind, since.Add(time.Hour)) {
		t.Fatal("reminder mark of a new period: false")
	}
	if mark(core.AutoCloseRemind, since.Add(time.Hour)) {
		t.Fatal("second reminder mark of the new period: true")
	}
}

// Two nodes marking the same step of the same period at once: one of them wins.
func testMarkAutoCloseConcurrent(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	tk := d.ticket(t, d.ann, core.NewTicket{})
	since := d.resolve(t, tk.ID)
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first bool
			err := d.store.Write(ctx, func(tx core.Tx) (err error) {
				first, err = tx.MarkAutoClose(ctx, tk.ID, core.AutoCloseRemind, since, since.Add(time.Minute))
				return
			})
			if err != nil {
				t.Errorf("mark: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if first {
				wins++
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of %d concurrent marks won, want 1", wins, writers)
	}
}
