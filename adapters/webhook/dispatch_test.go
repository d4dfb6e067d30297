package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/core"
)

// store is the test store as delivery sees it: every store implements webhook.Store.
type store interface {
	teststore.Store
	webhook.Store
}

// receiver is a real HTTP endpoint on loopback that records what reaches it and answers
// the status its script gives for each request in turn (200 past the script's end).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	script []int
}

type received struct {
	id, ts, sig string
	body        []byte
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, received{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body})
		r.mu.Unlock()
		if n < len(r.script) {
			http.Error(w, "not now", r.script[n])
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// desk is a service on a fresh store with a customer, a staff user and a staff address.
type desk struct {
	db    store
	svc   *core.Service
	ann   core.Actor
	staff core.Actor
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	db, ok := teststore.Open(t).(store)
	if !ok {
		t.Fatal("the store does not deliver webhooks")
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{Notify: core.NotifyOptions{Email: true, StaffEmails: []string{"ops@provider.test"}}})
	ctx := t.Context()
	sys := core.System()
	if _, err := svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	ann, err := svc.PutUser(ctx, sys, core.User{ID: 1, Email: "ann@acme.test", Name: "Ann", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	sam, err := svc.PutUser(ctx, sys, core.User{ID: 9, Email: "sam@provider.test", Name: "Sam", Role: core.RoleStaff})
	if err != nil {
		t.Fatal(err)
	}
	return &desk{db: db, svc: svc, ann: core.Actor{User: ann, Channel: core.ChannelAPI}, staff: core.Actor{User: sam, Channel: core.ChannelAPI}}
}

func (d *desk) webhook(t *testing.T, url string, events ...core.ChangeType) *core.Webhook {
	t.Helper()
	if len(events) == 0 {
		events = core.ChangeTypes()
	}
	w, err := d.svc.CreateWebhook(t.Context(), core.System(), core.NewWebhook{URL: url, Events: events}, true)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// dispatcher delivers the desk's webhooks; the test endpoints are on loopback, so every
// test but the one about private addresses allows them.
func (d *desk) dispatcher(opts webhook.Options) *webhook.Dispatcher {
	if opts.RetryInitial == 0 {
		opts.RetryInitial = 5 * time.Millisecond
	}
	return webhook.NewDispatcher(d.db, httpapi.WebhookPayload(d.svc, webhook.MaxPayloadBytes), d.svc, opts)
}

// drain runs passes until nothing is due or the bound passes.
func drain(t *testing.T, disp *webhook.Dispatcher, until func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !until() {
		if time.Now().After(deadline) {
			t.Fatal("the deliveries did not come through in 20 s")
		}
		if _, err := disp.DeliverDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDispatcher_EveryEventTypeArrivesSigned makes a change of each type and finds each
// delivered once to a real endpoint, signed so that the secret verifies it, in the shape
// {type, timestamp, data}.
func TestDispatcher_EveryEventTypeArrivesSigned(t *testing.T) {
	d := newDesk(t)
	ctx := t.Context()
	rcv := newReceiver(t)
	w := d.webhook(t, rcv.URL)

	tk, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Disk full", Description: "help"})
	if err != nil {
		t.Fatal(err)
	}
	ref := core.TicketRef{ID: tk.ID}
	reply, _, err := d.svc.Reply(ctx, d.staff, ref, core.NewReply{Body: "looking"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.svc.Reply(ctx, d.staff, ref, core.NewReply{Body: "customer is on the old plan", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.Assign(ctx, d.staff, tk.ID, 9, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.SetStatus(ctx, d.staff, ref, core.StatusResolved); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.SetMessageHidden(ctx, d.staff, tk.ID, reply.ID, true); err != nil {
		t.Fatal(err)
	}
	pending, err := d.db.Notifications(ctx, core.NotificationPending, 1)
	if err != nil || len(pending) == 0 {
		t.Fatalf("no notification to fail: %v", err)
	}
	if err := d.db.MarkFailed(ctx, pending[0].ID, 8, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	rec := core.InboundRecord{Channel: core.ChannelEmail, Key: "<spam@robot.test>", Result: core.InboundRejected,
		Sender: "robot@robot.test", Reason: "unknown sender", At: time.Now()}
	if err := d.db.Reject(ctx, rec, nil, 0); err != nil {
		t.Fatal(err)
	}

	disp := d.dispatcher(webhook.Options{AllowPrivate: true})
	want := []core.ChangeType{core.ChangeTicketCreated, core.ChangeMessageCreated, core.ChangeMessageCreated,
		core.ChangeTicketAssigned, core.ChangeTicketStatusChanged, core.ChangeMessageHidden,
		core.ChangeNotificationFailed, core.ChangeInboundRejected}
	drain(t, disp, func() bool { return len(rcv.requests()) >= len(want) })

	var types []core.ChangeType
	ids := map[string]bool{}
	internal := 0
	for _, r := range rcv.requests() {
		ts, err := strconv.ParseInt(r.ts, 10, 64)
		if err != nil || !webhook.Verify(w.Secret, r.id, ts, r.body, r.sig) {
			t.Errorf("delivery %s (%s) does not verify with the secret: %s", r.id, r.sig, r.body)
		}
		if ids[r.id] {
			t.Errorf("webhook-id %s twice", r.id)
		}
		ids[r.id] = true
		var body struct {
			Type      core.ChangeType `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      struct {
				Ticket *struct {
					ID        int64 `json:"id"`
					AccountID int64 `json:"accountId"`
				} `json:"ticket"`
				Message *struct {
					ID       int64 `json:"id"`
					Internal bool  `json:"internal"`
				} `json:"message"`
				To *int `json:"to"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Timestamp.IsZero() {
			t.Errorf("body %s: %v", r.body, err)
			continue
		}
		types = append(types, body.Type)
		switch body.Type {
		case core.ChangeInboundRejected:
		default:
			if body.Data.Ticket == nil || body.Data.Ticket.ID != tk.ID || body.Data.Ticket.AccountID != 1 {
				t.Errorf("%s: ticket %+v, want #%d of account 1", body.Type, body.Data.Ticket, tk.ID)
			}
		}
		if body.Type == core.ChangeMessageCreated {
			if body.Data.Message == nil {
				t.Errorf("message.created without its message: %s", r.body)
			} else if body.Data.Message.Internal {
				internal++
			}
		}
		if body.Type == core.ChangeTicketStatusChanged && (body.Data.To == nil || *body.Data.To != int(core.StatusResolved)) {
			t.Errorf("status_changed: %s", r.body)
		}
	}
	slices.Sort(types)
	slices.Sort(want)
	if !slices.Equal(types, want) {
		t.Errorf("types delivered %v, want %v", types, want)
	}
	if internal != 1 {
		t.Errorf("%d message.created marked internal, want the note's 1", internal)
	}
}

// TestDispatcher_RetriesUnderOneWebhookID has an endpoint fail three times and then
// answer 200: four attempts, one webhook-id, and the delivery log says so.
func TestDispatcher_RetriesUnderOneWebhookID(t *testing.T) {
	d := newDesk(t)
	ctx := t.Context()
	rcv := newReceiver(t, 500, 503, 429)
	w := d.webhook(t, rcv.URL, core.ChangeTicketCreated)
	if _, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Flaky", Description: "x"}); err != nil {
		t.Fatal(err)
	}
	disp := d.dispatcher(webhook.Options{AllowPrivate: true})
	drain(t, disp, func() bool { return len(rcv.requests()) >= 4 })
	got := rcv.requests()
	if len(got) != 4 {
		t.Fatalf("%d attempts, want 4", len(got))
	}
	for _, r := range got[1:] {
		if r.id != got[0].id {
			t.Errorf("webhook-id %s then %s", got[0].id, r.id)
		}
	}
	log, err := d.svc.WebhookDeliveries(ctx, core.System(), w.ID, core.Page{})
	if err != nil || len(log) != 1 {
		t.Fatalf("delivery log %+v, %v", log, err)
	}
	if l := log[0]; l.State != core.DeliveryDelivered || l.Attempts != 4 || l.LastStatus != 200 || webhook.MessageID(l.ID) != got[0].id {
		t.Errorf("delivery log %+v, want delivered after 4 attempts with webhook-id %s", l, got[0].id)
	}
	// A redelivery sends it again under the same webhook-id.
	if _, err := d.svc.Redeliver(ctx, core.System(), w.ID, log[0].ID); err != nil {
		t.Fatal(err)
	}
	drain(t, disp, func() bool { return len(rcv.requests()) >= 5 })
	if again := rcv.requests()[4]; again.id != got[0].id {
		t.Errorf("redelivered as %s, want %s", again.id, got[0].id)
	}
}

// TestDispatcher_GivesUpAndDisables runs out a delivery's schedule (it is marked failed),
// then has the endpoint fail for longer than the disabling bound: it is disabled, staff are
// told, and it is sent nothing more.
func TestDispatcher_GivesUpAndDisables(t *testing.T) {
	d := newDesk(t)
	ctx := t.Context()
	rcv := newReceiver(t, slices.Repeat([]int{500}, 100)...)
	w := d.webhook(t, rcv.URL, core.ChangeTicketCreated)
	if _, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Down", Description: "x"}); err != nil {
		t.Fatal(err)
	}
	drain(t, d.dispatcher(webhook.Options{AllowPrivate: true, RetryFor: 30 * time.Millisecond}), func() bool {
		log, err := d.svc.WebhookDeliveries(ctx, core.System(), w.ID, core.Page{})
		return err == nil && len(log) == 1 && log[0].State == core.DeliveryFailed
	})
	list, err := d.svc.Webhooks(ctx, core.System())
	if err != nil || len(list) != 1 || list[0].Disabled || list[0].FailingSince.IsZero() {
		t.Fatalf("webhooks %+v, %v: want the one failing, not yet disabled", list, err)
	}

	// Failing for longer than DisableAfter (here a nanosecond): the next failure disables it.
	if _, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Down again", Description: "x"}); err != nil {
		t.Fatal(err)
	}
	disp := d.dispatcher(webhook.Options{AllowPrivate: true, DisableAfter: time.Nanosecond})
	drain(t, disp, func() bool {
		list, err := d.svc.Webhooks(ctx, core.System())
		return err == nil && len(list) == 1 && list[0].Disabled
	})
	list, _ = d.svc.Webhooks(ctx, core.System())
	if list[0].DisabledReason == "" {
		t.Errorf("disabled without a reason: %+v", list[0])
	}
	told := false
	notes, _ := d.db.Notifications(ctx, core.NotificationPending, 50)
	for _, n := range notes {
		if n.Kind == core.NotifyNotice && n.Recipient == "ops@provider.test" && strings.Contains(n.Detail, fmt.Sprintf("Webhook #%d", w.ID)) {
			told = true
		}
	}
	if !told {
		t.Errorf("staff were not told: %+v", notes)
	}
	n := len(rcv.requests())
	if _, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Down for good", Description: "x"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // past every retry's backoff
	if _, err := disp.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rcv.requests()) != n {
		t.Error("a disabled webhook was sent a delivery")
	}
}

// TestDispatcher_RefusesPrivateAddresses: a loopback URL is refused when the webhook is
// registered, and at connect time when it resolves to loopback, unless allowed.
func TestDispatcher_RefusesPrivateAddresses(t *testing.T) {
	d := newDesk(t)
	ctx := t.Context()
	for _, url := range []string{"http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/x", "http://10.1.2.3/x", "http://169.254.169.254/latest"} {
		_, err := d.svc.CreateWebhook(ctx, core.System(), core.NewWebhook{URL: url, Events: []core.ChangeType{core.ChangeTicketCreated}}, false)
		if core.ErrorCode(err) != core.EINVALID || !slices.ContainsFunc(core.ErrorFields(err), func(f core.FieldError) bool { return f.Field == "url" }) {
			t.Errorf("%s: %v, want EINVALID naming url", url, err)
		}
	}
	// Registered where it was allowed, delivered where it is not: the connection is refused.
	rcv := newReceiver(t)
	host := strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)
	w := d.webhook(t, host, core.ChangeTicketCreated)
	if _, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "SSRF", Description: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.dispatcher(webhook.Options{}).DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	log, err := d.svc.WebhookDeliveries(ctx, core.System(), w.ID, core.Page{})
	if err != nil || len(log) != 1 || log[0].State != core.DeliveryPending || !strings.Contains(log[0].LastError, "private address") {
		t.Fatalf("delivery log %+v, %v: want a pending retry refused as a private address", log, err)
	}
	if len(rcv.requests()) != 0 {
		t.Error("the loopback endpoint was reached")
	}
	// Allowed, it goes through.
	drain(t, d.dispatcher(webhook.Options{AllowPrivate: true}), func() bool { return len(rcv.requests()) == 1 })
}
