package sqlite_test

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

// A ticket's first message is public: it is the description the customer reads. Split may
// therefore not start a ticket at an internal note or a hidden message (ECONFLICT naming
// messageId, nothing moved); at a public message it may, even with notes after it.
func TestSplitTicket_SplitPointMustBePublic(t *testing.T) {
	f := newFixture(t, core.Options{})
	tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "two problems", Description: "first"})
	if err != nil {
		t.Fatal(err)
	}
	reply := func(actor core.Actor, body string, internal bool) int64 {
		t.Helper()
		m, _, err := f.svc.Reply(ctx, actor, core.TicketRef{ID: tk.ID}, core.NewReply{Body: body, Internal: internal})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	public := reply(f.ann, "second problem", false)
	note := reply(f.sam, "internal: known issue", true)
	hidden := reply(f.sam, "taken back", false)
	if _, err := f.svc.SetMessageHidden(ctx, f.sam, tk.ID, hidden, true); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name    string
		message int64
	}{{"internal note", note}, {"hidden message", hidden}} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.SplitTicket(ctx, f.sam, tk.ID, tt.message, "")
			if core.ErrorCode(err) != core.ECONFLICT || !strings.Contains(core.ErrorMessage(err), tt.name) ||
				len(core.ErrorFields(err)) != 1 || core.ErrorFields(err)[0].Field != "messageId" {
				t.Fatalf("split at the %s: %v %v", tt.name, err, core.ErrorFields(err))
			}
			d, err := f.svc.GetTicket(ctx, f.sam, core.TicketRef{ID: tk.ID})
			if err != nil || len(d.Messages) != 4 {
				t.Fatalf("after the refused split: %v, %d messages", err, len(d.Messages))
			}
		})
	}

	nt, err := f.svc.SplitTicket(ctx, f.sam, tk.ID, public, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.GetTicket(ctx, f.sam, core.TicketRef{ID: nt.ID})
	if err != nil {
		t.Fatal(err)
	}
	if first := d.Messages[0]; first.ID != public || first.Internal || first.Hidden || d.Ticket.Description != "second problem" {
		t.Fatalf("split ticket starts with %+v, description %q", first, d.Ticket.Description)
	}
}
