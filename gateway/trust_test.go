package gateway_test

import (
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// A staff member's mail is a reply under our name to a customer, so a From alone must not
// make one: it needs an authenticated mail or the staff member's own reply address.
// Customers' unproven mail is applied and marked for staff.
func TestIngest_StaffMailMustBeProven(t *testing.T) {
	d := newDesk(t)
	strict := gateway.NewPipeline(d.svc, d.db, gateway.PipelineOptions{Address: support, Secret: secret, RequireAuthenticatedStaff: true})
	id := d.ingest(t, mail("open@customer.test", "ann@customer.test", "Help", "It is down.")).TicketID
	const sam = 9
	tests := []struct {
		name   string
		mutate func(in *gateway.Inbound)
		want   core.InboundResult
	}{
		{"staff, From only", func(in *gateway.Inbound) {}, gateway.ResultRejected},
		{"staff, at the customer's reply address", func(in *gateway.Inbound) { in.To = []string{gateway.ReplyAddress(support, secret, id, d.ann.ID)} }, gateway.ResultRejected},
		{"staff, at a ticket-only reply address", func(in *gateway.Inbound) { in.To = []string{gateway.ReplyAddress(support, secret, id, 0)} }, gateway.ResultRejected},
		{"staff, authenticated", func(in *gateway.Inbound) { in.Authenticated = true }, gateway.ResultReply},
		{"staff, at their own reply address", func(in *gateway.Inbound) { in.To = []string{gateway.ReplyAddress(support, secret, id, sam)} }, gateway.ResultReply},
	}
	for i, tt := range tests {
		in := mail("staff-"+itoa(int64(i))+"@provider.test", "sam@provider.test", "Re: [#"+itoa(id)+"] Help", "Reply number "+itoa(int64(i)))
		tt.mutate(&in)
		out, err := strict.Ingest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result != tt.want {
			t.Errorf("%s: %+v, want %s", tt.name, out, tt.want)
		}
		if out.Result == gateway.ResultRejected && out.Reason != "staff mail not authenticated" {
			t.Errorf("%s: reason %q", tt.name, out.Reason)
		}
	}
	if n := len(d.detail(t, id).Messages); n != 3 {
		t.Fatalf("%d messages, want the description and the two proven staff replies", n)
	}

	customer := []struct {
		name       string
		mutate     func(in *gateway.Inbound)
		unverified bool
	}{
		{"From only", func(in *gateway.Inbound) {}, true},
		{"someone else's reply address", func(in *gateway.Inbound) { in.To = []string{gateway.ReplyAddress(support, secret, id, sam)} }, true},
		{"own reply address", func(in *gateway.Inbound) { in.To = []string{gateway.ReplyAddress(support, secret, id, d.ann.ID)} }, false},
		{"authenticated", func(in *gateway.Inbound) { in.Authenticated = true }, false},
	}
	for i, tt := range customer {
		in := mail("ann-"+itoa(int64(i))+"@customer.test", "ann@customer.test", "Re: [#"+itoa(id)+"] Help", "Customer "+itoa(int64(i)))
		tt.mutate(&in)
		if out, err := strict.Ingest(ctx, in); err != nil || out.Result != gateway.ResultReply {
			t.Fatalf("%s: %+v %v", tt.name, out, err)
		}
		msgs := d.detail(t, id).Messages
		if got := msgs[len(msgs)-1]; got.Unverified != tt.unverified {
			t.Errorf("customer %s: unverified %v, want %v", tt.name, got.Unverified, tt.unverified)
		}
	}
	if first := d.detail(t, id).Messages[0]; !first.Unverified {
		t.Error("a ticket opened by an unproven mail is not marked unverified")
	}
}
