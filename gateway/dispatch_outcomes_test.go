package gateway_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// grouped is the database as the dispatcher sees it in the daemon, counting the outcomes
// recorded in groups.
type grouped struct {
	teststore.Store
	mu     sync.Mutex
	groups int
	each   int
}

func (g *grouped) RecordOutcomes(ctx context.Context, o []gateway.DeliveryOutcome) error {
	g.mu.Lock()
	g.groups++
	g.each += len(o)
	g.mu.Unlock()
	return g.Store.RecordOutcomes(ctx, o)
}

// alone is an Outbox with nothing but the interface's methods: each outcome is recorded
// by its own MarkSent, MarkRetry or MarkFailed, as before outcomes were grouped.
type alone struct{ gateway.Outbox }

// scripted fails the sends by their order: with one worker the batch goes oldest first.
type scripted struct {
	mu   sync.Mutex
	n    int
	errs map[int]error
}

func (s *scripted) Send(context.Context, gateway.Outgoing) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.errs[s.n]
}

// outboxRows returns every notification, oldest first.
func outboxRows(t *testing.T, d *desk) []core.Notification {
	t.Helper()
	var all []core.Notification
	for _, st := range []core.NotificationState{core.NotificationPending, core.NotificationSent, core.NotificationFailed} {
		list, err := d.db.Notifications(ctx, st, 100)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, list...)
	}
	slices.SortFunc(all, func(a, b core.Notification) int { return int(a.ID - b.ID) })
	return all
}

// snapshot is the outbox after a pass, and when that pass ran.
type snapshot struct {
	at   time.Time
	rows []core.Notification
}

// TestDispatcher_GroupedOutcomesAreRecordedAsEachAlone runs the same passes (a send, a
// failure to retry, a permanent failure, a retry-after; then the retries until the attempts
// run out) once with outcomes recorded in groups and once each on its own, and finds the
// outcomes recorded the same.
func TestDispatcher_GroupedOutcomesAreRecordedAsEachAlone(t *testing.T) {
	const base = time.Minute
	run := func(t *testing.T, wrap func(teststore.Store) gateway.Outbox) ([]snapshot, []core.Channel) {
		d := newDesk(t)
		d.ingest(t, mail("a@customer.test", "ann@customer.test", "First", "one"))
		d.ingest(t, mail("b@customer.test", "bob@customer.test", "Second", "two"))
		snd := &scripted{errs: map[int]error{
			2: errors.New("451 try again"),
			3: gateway.Permanent(errors.New("550 no such user")),
			4: &gateway.RetryAfterError{After: 30 * time.Second, Err: errors.New("429")},
			// Passes 2 and 3 take the retries in the order of their jittered backoff.
			5: errors.New("451 again"), 6: errors.New("451 again"), 7: errors.New("451 last"), 8: errors.New("451 last"),
		}}
		c := &clock{t: time.Now().Add(time.Second).Truncate(time.Millisecond)}
		var failed []core.Channel
		disp := gateway.NewDispatcher(wrap(d.db), d.db, map[core.Channel]gateway.Sender{core.ChannelEmail: snd}, c,
			gateway.DispatcherOptions{MaxAttempts: 3, BaseDelay: base, MaxDelay: time.Hour,
				OnFailed: func(ch core.Channel) { failed = append(failed, ch) },
				Render:   gateway.RenderOptions{Address: support, Name: "Helpdesk", Secret: secret}})
		var snaps []snapshot
		// The first pass, then two more, each after every backoff has passed, until the
		// attempts run out.
		for pass, sends := range []int{1, 0, 0} {
			if n, err := disp.DeliverDue(ctx); err != nil || n != sends {
				t.Fatalf("pass %d sent %d, %v", pass+1, n, err)
			}
			snaps = append(snaps, snapshot{at: c.t, rows: outboxRows(t, d)})
			c.t = c.t.Add(3 * time.Hour)
		}
		return snaps, failed
	}
	var g *grouped
	groupedSnaps, groupedFailed := run(t, func(db teststore.Store) gateway.Outbox { g = &grouped{Store: db}; return g })
	aloneSnaps, aloneFailed := run(t, func(db teststore.Store) gateway.Outbox { return alone{db} })
	if g.groups == 0 || g.each != 4+2+2 {
		t.Errorf("%d outcomes in %d groups, want all 8 grouped", g.each, g.groups)
	}
	// What an outcome sets, with the delay of a retry from its pass: the rows' other
	// columns (created_at) differ between the desks.
	type recorded struct {
		ID        int64
		State     core.NotificationState
		Attempts  int
		LastError string
		SentAt    time.Duration
		Next      time.Duration
	}
	view := func(s snapshot) []recorded {
		var out []recorded
		for _, n := range s.rows {
			r := recorded{ID: n.ID, State: n.State, Attempts: n.Attempts, LastError: n.LastError}
			if !n.SentAt.IsZero() {
				r.SentAt = n.SentAt.Sub(s.at)
			}
			if n.State == core.NotificationPending && n.LastError != "" {
				r.Next = n.NextAttemptAt.Sub(s.at)
				if strings.HasPrefix(n.LastError, "451") {
					// The backoff has jitter: ±10 % of the delay of its attempt.
					delay := base << (n.Attempts - 1)
					if r.Next < delay*9/10 || r.Next > delay*11/10 {
						t.Errorf("notification %d: next attempt %s after its pass, want %s ± 10 %%", n.ID, r.Next, delay)
					}
					r.Next = delay
				}
			}
			out = append(out, r)
		}
		return out
	}
	if len(groupedSnaps) != len(aloneSnaps) {
		t.Fatalf("%d and %d passes", len(groupedSnaps), len(aloneSnaps))
	}
	for i := range groupedSnaps {
		if a, b := view(groupedSnaps[i]), view(aloneSnaps[i]); !reflect.DeepEqual(a, b) {
			t.Errorf("after pass %d:\ngrouped %+v\nalone   %+v", i+1, a, b)
		}
	}
	want := [][]recorded{
		{{1, core.NotificationSent, 1, "", 0, 0}, {2, core.NotificationPending, 1, "451 try again", 0, base},
			{3, core.NotificationFailed, 1, "permanent: 550 no such user", 0, 0},
			{4, core.NotificationPending, 0, "retry after 30s: 429", 0, 30 * time.Second}},
		nil,
		{{1, core.NotificationSent, 1, "", -6 * time.Hour, 0}, {2, core.NotificationFailed, 3, "451 last", 0, 0},
			{3, core.NotificationFailed, 1, "permanent: 550 no such user", 0, 0},
			{4, core.NotificationPending, 2, "451 last", 0, 2 * base}},
	}
	for i, w := range want {
		if got := view(groupedSnaps[i]); w != nil && !reflect.DeepEqual(got, w) {
			t.Errorf("after pass %d:\ngot  %+v\nwant %+v", i+1, got, w)
		}
	}
	if len(groupedFailed) != 2 || !slices.Equal(groupedFailed, aloneFailed) {
		t.Errorf("OnFailed told %v grouped, %v alone", groupedFailed, aloneFailed)
	}
}

// unbatched is a Store whose first read fails: the batch's, so that every notification
// of the pass is loaded alone, as before batches were loaded together.
type unbatched struct {
	teststore.Store
	reads int
}

func (u *unbatched) Read(ctx context.Context, fn func(core.ReadTx) error) error {
	if u.reads++; u.reads == 1 {
		return errors.New("no batch")
	}
	return u.Store.Read(ctx, fn)
}

// TestDispatcher_BatchRendersAsAlone renders a batch (new tickets with their origin, a
// customer's reply by mail, the staff alerts) loaded together and loaded one by one, and
// finds the same mails.
func TestDispatcher_BatchRendersAsAlone(t *testing.T) {
	// Both runs at one time: the mails quote when each message was written.
	at := time.Now().Truncate(time.Minute)
	run := func(t *testing.T, store func(teststore.Store) core.Store) []gateway.Outgoing {
		d := newDeskAt(t, &clock{t: at})
		first := d.ingest(t, mail("orig@customer.test", "ann@customer.test", "Printer on fire", "help"))
		d.ingest(t, mail("other@customer.test", "bob@customer.test", "Invoice", "wrong total"))
		reply := mail("r@customer.test", "ann@customer.test", "[#"+itoa(first.TicketID)+"] Printer on fire", "still burning")
		if o := d.ingest(t, reply); o.Result != gateway.ResultReply {
			t.Fatalf("reply: %+v", o)
		}
		rec := &recorder{}
		disp := gateway.NewDispatcher(d.db, store(d.db), map[core.Channel]gateway.Sender{core.ChannelEmail: rec},
			&clock{t: at.Add(time.Minute)},
			gateway.DispatcherOptions{Render: gateway.RenderOptions{Address: support, Name: "Helpdesk", Secret: secret,
				TicketLink: func(id int64) string { return "https://panel.test/support/" + itoa(id) }}})
		if _, err := disp.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(rec.sent, func(a, b gateway.Outgoing) int { return int(a.NotificationID - b.NotificationID) })
		return rec.sent
	}
	together := run(t, func(db teststore.Store) core.Store { return db })
	var u *unbatched
	one := run(t, func(db teststore.Store) core.Store { u = &unbatched{Store: db}; return u })
	if u.reads < 2 {
		t.Fatalf("%d reads: the notifications were not loaded alone", u.reads)
	}
	if len(together) < 5 || !reflect.DeepEqual(together, one) {
		t.Fatalf("loaded together:\n%+v\nloaded alone:\n%+v", together, one)
	}
	if together[0].References[0] != "orig@customer.test" {
		t.Errorf("the confirmation does not answer the mail that opened the ticket: %+v", together[0])
	}
}

// flaky is an Outbox whose first writes of outcomes fail, as when the server ended the
// connection of a process that was frozen. A fake: a real server ends such a session only
// after seconds, and only on Postgres.
type flaky struct {
	teststore.Store
	mu    sync.Mutex
	fails int // writes still to fail
	tries int
}

func (f *flaky) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if f.fails > 0 {
		f.fails--
		return errors.New("conn closed")
	}
	return nil
}

func (f *flaky) RecordOutcomes(ctx context.Context, o []gateway.DeliveryOutcome) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.RecordOutcomes(ctx, o)
}

func (f *flaky) MarkSent(ctx context.Context, id int64, attempts int, at time.Time) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.MarkSent(ctx, id, attempts, at)
}

// TestDispatcher_OutcomeOutlastsAPassingFailure fails the first writes of a pass's outcomes
// and finds every notification recorded sent by that pass, each sent once: an outcome
// left unrecorded would be sent again (and on a shared outbox stay claimed for minutes).
func TestDispatcher_OutcomeOutlastsAPassingFailure(t *testing.T) {
	for _, c := range []struct {
		name string
		wrap func(*flaky) gateway.Outbox
	}{
		{"grouped", func(f *flaky) gateway.Outbox { return f }},
		{"alone", func(f *flaky) gateway.Outbox { return alone{f} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newDesk(t)
			d.ingest(t, mail("a@customer.test", "ann@customer.test", "First", "one"))
			f := &flaky{Store: d.db, fails: 2}
			rec := &recorder{}
			disp := gateway.NewDispatcher(c.wrap(f), d.db, map[core.Channel]gateway.Sender{core.ChannelEmail: rec}, nil,
				gateway.DispatcherOptions{Render: gateway.RenderOptions{Address: support, Name: "Helpdesk", Secret: secret}})
			if _, err := disp.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			if f.tries < 3 {
				t.Fatalf("%d writes of outcomes: the failures were not met", f.tries)
			}
			if pending, err := d.db.Notifications(ctx, core.NotificationPending, 10); err != nil || len(pending) != 0 {
				t.Fatalf("after the pass: %d pending (%v)", len(pending), err)
			}
			if _, err := disp.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			sent, _ := d.db.Notifications(ctx, core.NotificationSent, 10)
			if len(sent) == 0 || len(rec.sent) != len(sent) {
				t.Errorf("%d sends for %d notifications sent", len(rec.sent), len(sent))
			}
		})
	}
}
