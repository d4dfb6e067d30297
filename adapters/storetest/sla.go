package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// runSLA is the contract of core.SLAReadTx and core.SLATx: a ticket's SLA state is kept as
// written, the running ones are listed by due time, and the queue shows, filters and sorts
// by the SLA's due time under a manual deadline.
func runSLA(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	t1 := d.ticket(t, d.ann, core.NewTicket{})
	t2 := d.ticket(t, d.bob, core.NewTicket{})
	t3 := d.ticket(t, d.cat, core.NewTicket{})

	get := func(id int64) (*core.TicketSLA, error) {
		var s *core.TicketSLA
		var err error
		d.read(t, func(tx core.ReadTx) error { s, err = tx.TicketSLA(ctx, id); return nil })
		return s, err
	}
	if _, err := get(t1.ID); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("TicketSLA of a ticket without one: %v, want ENOTFOUND", err)
	}

	full := core.TicketSLA{TicketID: t1.ID, Policy: "topic=3", Calendar: "office", Created: epoch,
		FirstResponseDue: epoch.Add(4 * time.Hour), FirstResponseAt: epoch.Add(time.Hour), FirstResponseBreached: false,
		FirstResponseWarned: true, ResolutionDue: epoch.Add(30 * time.Hour), ResolutionWarned: true,
		Paused: 90 * time.Minute}
	d.write(t, func(tx core.Tx) error { return tx.PutTicketSLA(ctx, &full) })
	got, err := get(t1.ID)
	if err != nil || *got != full {
		t.Fatalf("TicketSLA = %+v, %v; want %+v", got, err, full)
	}
	// Put replaces the whole state.
	full.PausedAt, full.ResolutionBreached = epoch.Add(5*time.Hour), true
	d.write(t, func(tx core.Tx) error { return tx.PutTicketSLA(ctx, &full) })
	if got, err := get(t1.ID); err != nil || *got != full {
		t.Fatalf("after a second Put TicketSLA = %+v, %v; want %+v", got, err, full)
	}
	err = d.store.Write(ctx, func(tx core.Tx) error {
		return tx.PutTicketSLA(ctx, &core.TicketSLA{TicketID: 999999, Policy: "default", Created: epoch})
	})
	if core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("PutTicketSLA of a missing ticket: %v, want ENOTFOUND", err)
	}

	// Running: t2 due later than t3; t1 is paused.
	s2 := core.TicketSLA{TicketID: t2.ID, Policy: "default", Created: epoch, FirstResponseDue: epoch.Add(3 * time.Hour)}
	s3 := core.TicketSLA{TicketID: t3.ID, Policy: "default", Created: epoch, FirstResponseDue: epoch.Add(2 * time.Hour),
		FirstResponseBreached: true, ResolutionDue: epoch.Add(9 * time.Hour)}
	d.write(t, func(tx core.Tx) error {
		if err := tx.PutTicketSLA(ctx, &s2); err != nil {
			return err
		}
		return tx.PutTicketSLA(ctx, &s3)
	})
	var running []core.TicketSLA
	d.read(t, func(tx core.ReadTx) (err error) { running, err = tx.RunningSLAs(ctx, 0); return })
	if len(running) != 1 || running[0] != s2 {
		// s3's first response is breached and unmet: nothing of it runs.
		t.Errorf("RunningSLAs = %+v, want only %+v", running, s2)
	}
	s3.FirstResponseAt = epoch.Add(2*time.Hour + time.Minute)
	d.write(t, func(tx core.Tx) error { return tx.PutTicketSLA(ctx, &s3) })
	d.read(t, func(tx core.ReadTx) (err error) { running, err = tx.RunningSLAs(ctx, 0); return })
	if len(running) != 2 || running[0].TicketID != t2.ID || running[1].TicketID != t3.ID {
		t.Errorf("RunningSLAs = %+v, want t2 (3h) then t3 (resolution 9h)", running)
	}
	d.read(t, func(tx core.ReadTx) (err error) { running, err = tx.RunningSLAs(ctx, 1); return })
	if len(running) != 1 {
		t.Errorf("RunningSLAs(limit 1) = %d rows", len(running))
	}

	// The queue: the SLA's due time unless a manual deadline overrides it.
	manual := epoch.Add(10 * time.Hour)
	d.write(t, func(tx core.Tx) error { return tx.SetDeadline(ctx, t3.ID, manual) })
	var w *core.TicketWork
	d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.TicketWork(ctx, t2.ID, d.sam.User.ID); return })
	if !w.DueAt.Equal(s2.FirstResponseDue) || !w.FirstResponseDue.Equal(s2.FirstResponseDue) || w.Breached || w.SLAPaused {
		t.Errorf("TicketWork of t2 = %+v", w)
	}
	d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.TicketWork(ctx, t1.ID, d.sam.User.ID); return })
	if !w.DueAt.IsZero() || !w.SLAPaused || !w.Breached || !w.ResolutionDue.Equal(full.ResolutionDue) || !w.FirstResponseAt.Equal(full.FirstResponseAt) {
		t.Errorf("TicketWork of the paused t1 = %+v", w)
	}
	d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.TicketWork(ctx, t3.ID, d.sam.User.ID); return })
	if !w.DueAt.Equal(manual) || !w.ResolutionDue.Equal(s3.ResolutionDue) || !w.Breached {
		t.Errorf("TicketWork of t3 = %+v, want the manual deadline shown", w)
	}
	queue := func(f core.QueueFilter) []int64 {
		f.UserID, f.Now = d.sam.User.ID, epoch.Add(5*time.Hour)
		if f.Page.Size == 0 {
			f.Page = core.Page{Number: 1, Size: 10}
		}
		var items []core.QueueItem
		d.read(t, func(tx core.ReadTx) (err error) { items, _, err = tx.Queue(ctx, f); return })
		out := []int64{}
		for _, it := range items {
			out = append(out, it.Ticket.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    core.QueueFilter
		want []int64
	}{
		{"due, soonest first, none last", core.QueueFilter{Sort: core.SortDue}, []int64{t2.ID, t3.ID, t1.ID}},
		{"due, latest first", core.QueueFilter{Sort: core.SortDue, Order: "desc"}, []int64{t3.ID, t2.ID, t1.ID}},
		{"breached", core.QueueFilter{Breached: true, Sort: core.SortCreated, Order: "asc"}, []int64{t1.ID, t3.ID}},
		{"overdue by the SLA's due time", core.QueueFilter{Overdue: true}, []int64{t2.ID}},
	} {
		if got := queue(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	// Recompute's walk: tickets not Closed, by ID.
	if _, err := d.svc.Close(ctx, d.ann, core.TicketRef{ID: t1.ID}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	d.read(t, func(tx core.ReadTx) (err error) { ids, err = tx.SLATicketsAfter(ctx, 0, 10); return })
	if !slices.Equal(ids, []int64{t2.ID, t3.ID}) {
		t.Errorf("SLATicketsAfter(0) = %v, want %v", ids, []int64{t2.ID, t3.ID})
	}
	d.read(t, func(tx core.ReadTx) (err error) { ids, err = tx.SLATicketsAfter(ctx, t2.ID, 10); return })
	if !slices.Equal(ids, []int64{t3.ID}) {
		t.Errorf("SLATicketsAfter(t2) = %v", ids)
	}

	d.write(t, func(tx core.Tx) error { return tx.DeleteTicketSLA(ctx, t2.ID) })
	if _, err := get(t2.ID); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("after DeleteTicketSLA: %v, want ENOTFOUND", err)
	}
	d.write(t, func(tx core.Tx) error { return tx.DeleteTicketSLA(ctx, t2.ID) }) // none: no error

	var fp string
	d.read(t, func(tx core.ReadTx) (err error) { fp, err = tx.SLAFingerprint(ctx); return })
	if fp != "" {
		t.Errorf("a new store's fingerprint %q", fp)
	}
	for _, want := range []string{"abc", "def"} {
		d.write(t, func(tx core.Tx) error { return tx.SetSLAFingerprint(ctx, want) })
		d.read(t, func(tx core.ReadTx) (err error) { fp, err = tx.SLAFingerprint(ctx); return })
		if fp != want {
			t.Errorf("fingerprint %q, want %q", fp, want)
		}
	}
}
