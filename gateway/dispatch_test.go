package gateway_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// recorder is an in-process Sender: it stands in for a channel where the test needs
// failures on demand (a real server cannot be told to fail the third send).
type recorder struct {
	mu   sync.Mutex
	sent []gateway.Outgoing
	fail func(n int) error
	n    int
}

func (r *recorder) Send(_ context.Context, out gateway.Outgoing) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.fail != nil {
		if err := r.fail(r.n); err != nil {
			return err
		}
	}
	r.sent = append(r.sent, out)
	return nil
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newDispatcher(d *desk, email gateway.Sender, c *clock, onFailed func(core.Channel)) *gateway.Dispatcher {
	return gateway.NewDispatcher(d.db, d.db, map[core.Channel]gateway.Sender{core.ChannelEmail: email}, c,
		gateway.DispatcherOptions{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: time.Hour, OnFailed: onFailed,
			Render: gateway.RenderOptions{Address: support, Name: "Helpdesk", Secret: secret,
				TicketLink: func(id int64) string { return "https://panel.test/support/" + itoa(id) }}})
}

func TestDispatcher_DeliversWithThreadingHeaders(t *testing.T) {
	d := newDesk(t)
	out := d.ingest(t, mail("orig@customer.test", "ann@customer.test", "Printer on fire", "help"))
	rec := &recorder{}
	c := &clock{t: time.Now().Add(time.Minute)}
	n, err := newDispatcher(d, rec, c, nil).DeliverDue(ctx)
	if err != nil || n != 2 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	var conf, alert gateway.Outgoing
	for _, o := range rec.sent {
		switch o.To {
		case "ann@customer.test":
			conf = o
		case "desk@provider.test":
			alert = o
		}
	}
	tag := "[#" + itoa(out.TicketID) + "] "
	checks := map[string]bool{
		"subject tag":        conf.Subject == tag+"Printer on fire",
		"reply marker first": strings.HasPrefix(conf.Text, gateway.ReplyMarker),
		"panel link":         strings.Contains(conf.Text, "https://panel.test/support/"+itoa(out.TicketID)),
		"reply-to token":     conf.ReplyTo == gateway.ReplyAddress(support, secret, out.TicketID, d.ann.ID),
		"message id":         conf.MessageID == gateway.NotificationMessageID(conf.NotificationID, "helpdesk.test"),
		"in-reply-to":        conf.InReplyTo == gateway.ThreadRoot(out.TicketID, "helpdesk.test"),
		"references":         len(conf.References) == 2 && conf.References[0] == "orig@customer.test",
		"auto-submitted":     conf.AutoSubmitted == "auto-generated",
		"staff alert":        alert.Subject == tag+"New ticket: Printer on fire" && strings.Contains(alert.Text, "help"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: %+v", name, conf)
		}
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE state = 'sent' AND message_ref IS NOT NULL`); n != 2 {
		t.Fatalf("%d notifications recorded sent with their Message-ID", n)
	}
	// A reply to the confirmation threads by its stored Message-ID.
	reply := mail("r@customer.test", "ann@customer.test", "no tag here", "more")
	reply.InReplyTo = []string{conf.MessageID}
	if o := d.ingest(t, reply); o.Result != gateway.ResultReply || o.TicketID != out.TicketID {
		t.Fatalf("reply by Message-ID: %+v", o)
	}
	// Nothing is sent twice.
	if n, _ := newDispatcher(d, rec, c, nil).DeliverDue(ctx); n != 1 { // only the staff alert of the reply
		t.Fatalf("second pass sent %d", n)
	}
}

func TestDispatcher_RetriesWithBackoffThenFails(t *testing.T) {
	d := newDesk(t)
	d.ingest(t, mail("o@x", "ann@customer.test", "s", "b"))
	rec := &recorder{fail: func(int) error { return errors.New("connection refused") }}
	c := &clock{t: time.Now().Add(time.Second)}
	var failed []core.Channel
	disp := newDispatcher(d, rec, c, func(ch core.Channel) { failed = append(failed, ch) })
	for attempt := 1; attempt <= 3; attempt++ {
		if n, _ := disp.DeliverDue(ctx); n != 0 {
			t.Fatalf("attempt %d sent %d", attempt, n)
		}
		// Not due again until the backoff has passed.
		if rec.n != attempt*2 {
			t.Fatalf("after attempt %d: %d sends", attempt, rec.n)
		}
		disp.DeliverDue(ctx)
		if rec.n != attempt*2 {
			t.Fatalf("retried before the backoff: %d sends", rec.n)
		}
		c.t = c.t.Add(5 * time.Minute)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE state = 'failed' AND attempts = 3 AND last_error LIKE '%refused%'`); n != 2 {
		t.Fatalf("%d failed notifications", n)
	}
	if len(failed) != 2 {
		t.Fatalf("OnFailed told %d times", len(failed))
	}
}

func TestDispatcher_PermanentAndRetryAfter(t *testing.T) {
	d := newDesk(t)
	d.ingest(t, mail("o@x", "ann@customer.test", "s", "b"))
	rec := &recorder{fail: func(n int) error {
		if n == 1 {
			return gateway.Permanent(errors.New("550 no such user"))
		}
		return &gateway.RetryAfterError{After: 30 * time.Second, Err: errors.New("429")}
	}}
	c := &clock{t: time.Now().Add(time.Second)}
	newDispatcher(d, rec, c, nil).DeliverDue(ctx)
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE state = 'failed' AND attempts = 1`); n != 1 {
		t.Fatal("permanent error not failed at once")
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE state = 'pending' AND attempts = 0 AND last_error LIKE '%429%'`); n != 1 {
		t.Fatal("retry-after counted as an attempt")
	}
}
