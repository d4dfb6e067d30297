// Package storetest is the contract of helpdeskd's store: one suite of tests of the ports a
// store implements (core's Store, Blobs and DeliveryLog, the gateway's inbound store and
// outbox, the Telegram gateway's stores, the webhook dispatcher's store), run against every
// implementation, so that they all behave alike. Where a port's comment leaves a detail
// open the suite pins what the SQLite store does, since that is what the rest of the desk
// was written against.
//
// A store's tests run it with one line:
//
//	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
package storetest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// Store is everything the suite tests: the union of the ports the desk's packages take
// their store as.
type Store interface {
	core.Store
	core.DeliveryLog
	gateway.InboundStore
	gateway.Outbox
	telegram.Store
	telegram.TopicStore
	webhook.Store
	// The dispatcher's batch ports (gateway's refStore, outcomeStore and originReader),
	// which it uses when its outbox has them: each must do exactly what one call per item
	// would.
	SetMessageRefs(ctx context.Context, refs map[int64]string) error
	RecordOutcomes(ctx context.Context, outcomes []gateway.DeliveryOutcome) error
	TicketOrigins(ctx context.Context, ch core.Channel, ticketIDs []int64) (map[int64]string, error)
	// Blobs returns the store's attachment bytes.
	Blobs() core.Blobs
}

// Opener returns a new, empty store, closed when t ends.
type Opener func(t *testing.T) Store

// Run runs the whole suite, each test on a store of its own.
func Run(t *testing.T, open Opener) {
	suites := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Users", runUsers},
		{"Tickets", runTickets},
		{"Writes", runWrites},
		{"Queue", runQueue},
		{"Outbox", runOutbox},
		{"Inbound", runInbound},
		{"Telegram", runTelegram},
		{"Blobs", runBlobs},
		{"Changes", runChanges},
		{"Daemon", runDaemon},
		{"Idempotency", runIdempotency},
		{"Audit", runAudit},
		{"SLA", runSLA},
		{"AutoClose", runAutoClose},
		{"Canned", runCanned},
		{"GDPR", runGDPR},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}

var ctx = context.Background()

// epoch is where every desk's clock starts. Times are whole seconds: a store may keep
// no more than microseconds.
var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// clock is the desk's clock; tests move it so that every change has a time of its own.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// tick moves the clock on by d and returns the new time.
func (c *clock) tick(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// desk is a store with a Service over it and the people of a small desk: accounts 1 and 2
// with properties 10 and 20, Ann (customer of 1), Bob (customer of 2), Cat (customer of
// both), Sam and Sue (staff) and department 7 (Billing).
type desk struct {
	store         Store
	svc           *core.Service
	clock         *clock
	sys           core.Actor
	ann, bob, cat core.Actor
	sam, sue      core.Actor
}

// notifyMail queues mail notifications: the customer's and one staff address.
var notifyMail = core.Options{Notify: core.NotifyOptions{Email: true, StaffEmails: []string{"desk@desk.example"}}}

func newDesk(t *testing.T, open Opener, opts core.Options) *desk {
	t.Helper()
	s := open(t)
	c := &clock{now: epoch}
	d := &desk{store: s, clock: c, svc: core.NewService(s, s.Blobs(), c, opts), sys: core.System()}
	for _, a := range []core.Account{{ID: 1, Name: "Acme"}, {ID: 2, Name: "Globex"}} {
		if _, err := d.svc.PutAccount(ctx, d.sys, a); err != nil {
			t.Fatalf("put account %d: %v", a.ID, err)
		}
	}
	for _, p := range []core.Property{{ID: 10, AccountID: 1, Name: "acme.example"}, {ID: 20, AccountID: 2, Name: "globex.example"}} {
		if _, err := d.svc.PutProperty(ctx, d.sys, p); err != nil {
			t.Fatalf("put property %d: %v", p.ID, err)
		}
	}
	if _, err := d.svc.PutDepartment(ctx, d.sys, core.Department{ID: 7, Name: "Billing"}); err != nil {
		t.Fatalf("put department: %v", err)
	}
	d.ann = d.user(t, core.User{ID: 100, Email: "ann@acme.example", Name: "Ann", AccountIDs: []int64{1}})
	d.bob = d.user(t, core.User{ID: 200, Email: "bob@globex.example", Name: "Bob", AccountIDs: []int64{2}})
	d.cat = d.user(t, core.User{ID: 300, Email: "cat@example.com", Name: "Cat", AccountIDs: []int64{2, 1}, DefaultAccountID: 2})
	d.sam = d.user(t, core.User{ID: 900, Email: "sam@desk.example", Name: "Sam", Role: core.RoleStaff})
	d.sue = d.user(t, core.User{ID: 901, Email: "sue@desk.example", Name: "Sue", Role: core.RoleStaff})
	return d
}

func (d *desk) user(t *testing.T, u core.User) core.Actor {
	t.Helper()
	got, err := d.svc.PutUser(ctx, d.sys, u)
	if err != nil {
		t.Fatalf("put user %d: %v", u.ID, err)
	}
	return core.Actor{User: got, Channel: core.ChannelAPI}
}

// ticket opens a ticket as who, a second after the last change.
func (d *desk) ticket(t *testing.T, who core.Actor, in core.NewTicket) *core.Ticket {
	t.Helper()
	d.clock.tick(time.Second)
	if in.Subject == "" {
		in.Subject = "Help"
	}
	if in.Description == "" {
		in.Description = "Something is broken."
	}
	if in.AccountID == 0 {
		in.AccountID = who.User.AccountIDs[0]
	}
	tk, err := d.svc.CreateTicket(ctx, who, in)
	if err != nil {
		t.Fatalf("create ticket %q: %v", in.Subject, err)
	}
	return tk
}

// reply adds a message to a ticket as who, a second after the last change.
func (d *desk) reply(t *testing.T, who core.Actor, id int64, in core.NewReply) *core.Message {
	t.Helper()
	d.clock.tick(time.Second)
	m, _, err := d.svc.Reply(ctx, who, core.TicketRef{ID: id}, in)
	if err != nil {
		t.Fatalf("reply to ticket %d: %v", id, err)
	}
	return m
}

// read runs fn in a read transaction and fails the test on an error.
func (d *desk) read(t *testing.T, fn func(tx core.ReadTx) error) {
	t.Helper()
	if err := d.store.Read(ctx, fn); err != nil {
		t.Fatalf("read: %v", err)
	}
}

// write runs fn in a write transaction and fails the test on an error.
func (d *desk) write(t *testing.T, fn func(tx core.Tx) error) {
	t.Helper()
	if err := d.store.Write(ctx, fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// getTicket reads a ticket through the port.
func (d *desk) getTicket(t *testing.T, id int64) *core.Ticket {
	t.Helper()
	var tk *core.Ticket
	d.read(t, func(tx core.ReadTx) (err error) { tk, err = tx.Ticket(ctx, id); return })
	return tk
}

// wantCode fails the test unless err carries the domain error code want ("" for none).
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := core.ErrorCode(err); got != want {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, want)
	}
}

// ids lists the tickets of a list, in order.
func ids(list []core.Ticket) []int64 {
	out := []int64{}
	for _, tk := range list {
		out = append(out, tk.ID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func itoaID(id int64) string { return strconv.FormatInt(id, 10) }
