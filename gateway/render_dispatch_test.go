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

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// capture records what it is given and asks for another try at once, so that the same
// notifications can be rendered again by another dispatcher.
type capture struct {
	mu   sync.Mutex
	sent []gateway.Outgoing
}

func (c *capture) Send(_ context.Context, out gateway.Outgoing) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, out)
	return &gateway.RetryAfterError{Err: errors.New("again")}
}

func (c *capture) byID() []gateway.Outgoing {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.sent)
	slices.SortFunc(out, func(a, b gateway.Outgoing) int { return int(a.NotificationID - b.NotificationID) })
	return out
}

// unreadable is a store whose first read fails, so a pass's batch load gives up and each
// notification loads its own.
type unreadable struct {
	core.Store
	failed bool
}

func (s *unreadable) Read(ctx context.Context, fn func(core.ReadTx) error) error {
	if !s.failed {
		s.failed = true
		return errors.New("not now")
	}
	return s.Store.Read(ctx, fn)
}

func dispatchOnce(t *testing.T, d *desk, store core.Store, c *clock, lang string) []gateway.Outgoing {
	t.Helper()
	cap := &capture{}
	disp := gateway.NewDispatcher(d.db, store, map[core.Channel]gateway.Sender{core.ChannelEmail: cap}, c,
		gateway.DispatcherOptions{Render: gateway.RenderOptions{Address: support, Name: "Helpdesk", Secret: secret, DefaultLanguage: lang,
			TicketLink: func(id int64) string { return "https://panel.test/support/" + itoa(id) }}})
	if _, err := disp.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	return cap.byID()
}

// TestDispatch_HistoryAndSingleRenderAgree: a mail quotes the public conversation, never the
// internal note; and a notification rendered alone (its batch could not be read) is the
// very mail its batch would have rendered.
func TestDispatch_HistoryAndSingleRenderAgree(t *testing.T) {
	d := newDesk(t)
	id := d.ingest(t, mail("h1@x", "ann@customer.test", "Printer", "The printer is on fire.")).TicketID
	sam, err := d.svc.UserByEmail(ctx, "sam@provider.test")
	if err != nil {
		t.Fatal(err)
	}
	staff := core.Actor{User: sam, Channel: core.ChannelAPI}
	if _, err := d.svc.StaffReply(ctx, staff, id, core.NewReply{Body: "Secret: blame the toner.", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.StaffReply(ctx, staff, id, core.NewReply{Body: "Please unplug it."}); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now().Add(time.Minute)}
	batch := dispatchOnce(t, d, d.db, c, "")
	single := dispatchOnce(t, d, &unreadable{Store: d.db}, c, "")
	if len(batch) == 0 || !reflect.DeepEqual(batch, single) {
		t.Fatalf("batch and single renders differ:\n%+v\n%+v", batch, single)
	}
	var reply *gateway.Outgoing
	for i := range batch {
		if batch[i].Kind == core.NotifyStaffReply {
			reply = &batch[i]
		}
	}
	if reply == nil {
		t.Fatal("no staff reply sent")
	}
	for _, part := range []string{reply.Text, reply.HTML} {
		if !strings.Contains(part, "The printer is on fire.") || strings.Contains(part, "blame the toner") {
			t.Errorf("history wrong:\n%s", part)
		}
	}
}

// TestDispatch_PipelineNoticesInLanguage drives the pipeline into the notices it queues and
// checks each goes out in the desk's language: a notice reworded in the pipeline but not in
// the templates would reach a Spanish customer in English.
func TestDispatch_PipelineNoticesInLanguage(t *testing.T) {
	d := newDesk(t)
	// Notices are rationed per address a day: each case writes from an address of its own.
	if _, err := d.svc.PutUser(ctx, core.System(), core.User{ID: 10, Email: "tom@provider.test", Name: "Tom", Role: core.RoleStaff}); err != nil {
		t.Fatal(err)
	}
	d.ingest(t, mail("n1@x", "stranger@else.test", "hi", "hello"))
	d.ingest(t, mail("n2@x", "multi@customer.test", "which", "account?"))
	d.ingest(t, mail("n3@x", "tom@provider.test", "no ticket", "hello"))
	big := mail("n4@x", "ann@customer.test", "Files", "see attached")
	big.Attachments = []gateway.File{{Name: "huge.iso", ContentType: "application/octet-stream", Size: 11 << 20, TooLarge: true}}
	id := d.ingest(t, big).TicketID
	if _, err := d.svc.SetStatus(ctx, core.System(), core.TicketRef{ID: id}, core.StatusClosed); err != nil {
		t.Fatal(err)
	}
	d.ingest(t, mail("n5@x", "sam@provider.test", "Re: [#"+itoa(id)+"] Files", "late answer"))

	sent := dispatchOnce(t, d, d.db, &clock{t: time.Now().Add(time.Minute)}, "es")
	var notices int
	english := []string{"Please", "Your ", "larger than", "is closed;", "names no ticket", "could not"}
	for _, o := range sent {
		if o.Kind != core.NotifyNotice {
			continue
		}
		notices++
		// The reply marker stays as it is in every language: replies are cut at it.
		text, html := strings.ReplaceAll(o.Text, gateway.ReplyMarker, ""), strings.ReplaceAll(o.HTML, gateway.ReplyMarker, "")
		for _, w := range english {
			if strings.Contains(text, w) || strings.Contains(html, w) {
				t.Errorf("notice to %s has English %q:\n%s", o.To, w, o.Text)
			}
		}
		if o.HTML == "" || o.AutoSubmitted != "auto-replied" {
			t.Errorf("notice to %s: %+v", o.To, o)
		}
	}
	if notices != 5 {
		t.Errorf("%d notices, want 5", notices)
	}
}
