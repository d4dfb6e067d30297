package gateway_test

import (
	"context"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"strconv"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

var ctx = context.Background()

var secret = []byte("test-secret-0123456789")

const support = "support@helpdesk.test"

// desk is a real database with Ann and Bob (customers of accounts 1 and 2), Multi (of both,
// no default), Sam (staff), and a pipeline over it.
type desk struct {
	db  teststore.Store
	svc *core.Service
	p   *gateway.Pipeline
	ann *core.User
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	return newDeskAt(t, nil)
}

// newDeskAt is newDesk whose use cases read the time from clk (nil: the system clock).
func newDeskAt(t *testing.T, clk core.Clock) *desk {
	t.Helper()
	db := teststore.Open(t)
	svc := core.NewService(db, db.Blobs(), clk, core.Options{MaxAttachmentBytes: 1000,
		Notify: core.NotifyOptions{Email: true, StaffEmails: []string{"desk@provider.test"}}})
	sys := core.System()
	for _, id := range []int64{1, 2} {
		if _, err := svc.PutAccount(ctx, sys, core.Account{ID: id, Name: "acct"}); err != nil {
			t.Fatal(err)
		}
	}
	var ann *core.User
	for _, u := range []core.User{
		{ID: 1, Email: "ann@customer.test", Name: "Ann", AccountIDs: []int64{1}},
		{ID: 2, Email: "bob@customer.test", Name: "Bob", AccountIDs: []int64{2}},
		{ID: 3, Email: "multi@customer.test", Name: "Multi", AccountIDs: []int64{1, 2}},
		{ID: 9, Email: "sam@provider.test", Name: "Sam", Role: core.RoleStaff},
	} {
		got, err := svc.PutUser(ctx, sys, u)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 1 {
			ann = got
		}
	}
	p := gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: support, Secret: secret,
		TopicFor: func(a string) (core.Topic, bool) { return core.TopicBilling, a == "billing@helpdesk.test" }})
	return &desk{db: db, svc: svc, p: p, ann: ann}
}

func mail(key, from, subject, text string) gateway.Inbound {
	return gateway.Inbound{Channel: core.ChannelEmail, Key: key, From: from, To: []string{support}, Subject: subject, Text: text}
}

func (d *desk) ingest(t *testing.T, in gateway.Inbound) gateway.Outcome {
	t.Helper()
	out, err := d.p.Ingest(ctx, in)
	if err != nil {
		t.Fatalf("ingest %s: %v", in.Key, err)
	}
	return out
}

func (d *desk) detail(t *testing.T, id int64) *core.TicketDetail {
	t.Helper()
	det, err := d.svc.GetTicket(ctx, core.System(), core.TicketRef{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return det
}

// count runs a counting query on the store's tables.
func (d *desk) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	return teststore.Count(t, d.db, q, args...)
}

func TestIngest_NewTicketThenRepliesByEveryThreadingRule(t *testing.T) {
	d := newDesk(t)
	out := d.ingest(t, mail("m1@customer.test", "Ann@Customer.test", "Re: Fwd: Site down", "It is down."))
	if out.Result != gateway.ResultTicket {
		t.Fatalf("first mail: %+v", out)
	}
	id := out.TicketID
	det := d.detail(t, id)
	if det.Ticket.Subject != "Site down" || det.Ticket.AccountID != 1 || det.Ticket.Channel != core.ChannelEmail || det.Messages[0].Body != "It is down." {
		t.Fatalf("ticket: %+v", det.Ticket)
	}

	token := mail("m2@customer.test", "ann@customer.test", "anything", "By token.")
	token.To = []string{gateway.ReplyAddress(support, secret, id, 0)}
	inReplyTo := mail("m3@customer.test", "ann@customer.test", "anything", "By thread.")
	inReplyTo.References = []string{"unrelated@x", gateway.ThreadRoot(id, "helpdesk.test")}
	bySubject := mail("m4@customer.test", "ann@customer.test", "Re: [#"+itoa(id)+"] Site down", "By tag.\n\nOn Mon, Support wrote:\n> "+gateway.ReplyMarker+"\n> old")
	bySubject.Visible = "By tag." // what the mail adapter found new
	for _, in := range []gateway.Inbound{token, inReplyTo, bySubject} {
		if out := d.ingest(t, in); out.Result != gateway.ResultReply || out.TicketID != id {
			t.Fatalf("%s: %+v", in.Key, out)
		}
	}
	var bodies []string
	for _, m := range d.detail(t, id).Messages {
		bodies = append(bodies, m.Body)
	}
	if got := strings.Join(bodies, "|"); got != "It is down.|By token.|By thread.|By tag." {
		t.Fatalf("messages %q", got)
	}
	if msgs := d.detail(t, id).Messages; msgs[3].FullBody != bySubject.Text || msgs[1].FullBody != "" {
		t.Fatalf("full bodies %q, %q: the whole text is kept only where the body was cut", msgs[3].FullBody, msgs[1].FullBody)
	}
	// The same mail again changes nothing.
	if out := d.ingest(t, token); out.Result != gateway.ResultDuplicate {
		t.Fatalf("duplicate: %+v", out)
	}
	if n := len(d.detail(t, id).Messages); n != 4 {
		t.Fatalf("%d messages after duplicate", n)
	}
}

func TestIngest_ThreadingNeedsPermission(t *testing.T) {
	d := newDesk(t)
	ann := d.ingest(t, mail("a1@x", "ann@customer.test", "Ann's", "mine"))
	// Bob names Ann's ticket by tag and by a forged token: he gets a ticket of his own.
	spoof := mail("b1@x", "bob@customer.test", "Re: [#"+itoa(ann.TicketID)+"] Ann's", "let me in")
	spoof.To = []string{"support+" + itoa(ann.TicketID) + "-aaaaaaaaaa@helpdesk.test"}
	out := d.ingest(t, spoof)
	if out.Result != gateway.ResultTicket || out.TicketID == ann.TicketID {
		t.Fatalf("spoofed reply: %+v", out)
	}
	if n := len(d.detail(t, ann.TicketID).Messages); n != 1 {
		t.Fatalf("Ann's ticket has %d messages", n)
	}
	if acct := d.detail(t, out.TicketID).Ticket.AccountID; acct != 2 {
		t.Fatalf("Bob's ticket in account %d", acct)
	}
}

func TestIngest_ReopenFollowUpAndStaffReply(t *testing.T) {
	d := newDesk(t)
	id := d.ingest(t, mail("c1@x", "ann@customer.test", "Help", "please")).TicketID
	staff := mail("s1@x", "sam@provider.test", "Re: [#"+itoa(id)+"] Help", "Try turning it off and on.")
	if out := d.ingest(t, staff); out.Result != gateway.ResultReply {
		t.Fatalf("staff mail: %+v", out)
	}
	det := d.detail(t, id)
	if m := det.Messages[1]; m.Author != core.AuthorStaff || m.Channel != core.ChannelEmail {
		t.Fatalf("staff reply recorded as %s/%s", m.Author, m.Channel)
	}
	sam, _ := d.svc.UserByEmail(ctx, "sam@provider.test")
	if _, err := d.svc.SetStatus(ctx, core.Actor{User: sam, Channel: core.ChannelAPI}, core.TicketRef{ID: id}, core.StatusResolved); err != nil {
		t.Fatal(err)
	}
	d.ingest(t, mail("c2@x", "ann@customer.test", "Re: [#"+itoa(id)+"] Help", "not fixed"))
	if st := d.detail(t, id).Ticket.Status; st != core.StatusOpen {
		t.Fatalf("reply to Resolved left status %v", st)
	}
	if _, err := d.svc.Close(ctx, core.Actor{User: sam, Channel: core.ChannelAPI}, core.TicketRef{ID: id}); err != nil {
		t.Fatal(err)
	}
	out := d.ingest(t, mail("c3@x", "ann@customer.test", "Re: [#"+itoa(id)+"] Help", "again"))
	if out.Result != gateway.ResultFollowUp || out.TicketID == id {
		t.Fatalf("reply to Closed: %+v", out)
	}
	follow := d.detail(t, out.TicketID).Ticket
	if follow.FollowUpOf != id || follow.AccountID != 1 {
		t.Fatalf("follow-up %+v", follow)
	}
	if n := len(d.detail(t, id).Messages); n != 3 {
		t.Fatalf("closed ticket got a message: %d", n)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE ticket_id = ? AND event = 'ticket_created' AND recipient = 'ann@customer.test'`, out.TicketID); n != 1 {
		t.Fatalf("follow-up confirmation queued %d times", n)
	}
}

func TestIngest_UnknownSenderRejectedOnceADay(t *testing.T) {
	d := newDesk(t)
	for i, key := range []string{"u1@x", "u2@x", "u3@x"} {
		out := d.ingest(t, mail(key, "stranger@else.test", "hi", "hello"))
		if out.Result != gateway.ResultRejected {
			t.Fatalf("mail %d: %+v", i, out)
		}
	}
	if n := d.count(t, `SELECT count(*) FROM tickets`); n != 0 {
		t.Fatalf("%d tickets from a stranger", n)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE recipient = 'stranger@else.test' AND event = 'notice'`); n != 1 {
		t.Fatalf("%d explanations, want 1", n)
	}
	rejected, err := d.db.InboundByResult(ctx, "rejected", 10)
	if err != nil || len(rejected) != 3 || rejected[0].Reason != "unknown sender" {
		t.Fatalf("rejected list: %v %+v", err, rejected)
	}
}

func TestIngest_RobotsAreNeverAnswered(t *testing.T) {
	d := newDesk(t)
	id := d.ingest(t, mail("r0@x", "ann@customer.test", "Help", "please")).TicketID
	ooo := mail("r1@x", "ann@customer.test", "Re: [#"+itoa(id)+"] Help", "I am out of office")
	ooo.Automatic = true
	daemon := mail("r2@x", "stranger@else.test", "Undeliverable", "x")
	daemon.NullSender = true
	for _, in := range []gateway.Inbound{ooo, daemon} {
		if out := d.ingest(t, in); out.Result != gateway.ResultIgnored {
			t.Fatalf("%s: %+v", in.Key, out)
		}
	}
	if n := len(d.detail(t, id).Messages); n != 1 {
		t.Fatalf("auto-reply added a message: %d", n)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE event IN ('notice', 'customer_reply')`); n != 0 {
		t.Fatalf("%d notifications caused by robots", n)
	}
}

// sentConfirmation opens a ticket of Ann's by mail and gives its confirmation the Message-ID
// the dispatcher would have stored when sending it.
func (d *desk) sentConfirmation(t *testing.T, key string) (ticketID, notificationID int64, ref string) {
	t.Helper()
	ticketID = d.ingest(t, mail(key, "ann@customer.test", "Help", "please")).TicketID
	notificationID = int64(d.count(t, `SELECT max(id) FROM notifications WHERE ticket_id = ? AND recipient = 'ann@customer.test'`, ticketID))
	ref = gateway.NotificationMessageID(notificationID, "helpdesk.test")
	if err := d.db.SetMessageRef(ctx, notificationID, ref); err != nil {
		t.Fatal(err)
	}
	return ticketID, notificationID, ref
}

func TestIngest_BounceMarksNotification(t *testing.T) {
	d := newDesk(t)
	id, nid, ref := d.sentConfirmation(t, "b0@x")
	dsn := mail("dsn1@mx", "mailer-daemon@mx.customer.test", "Undelivered Mail Returned to Sender", "")
	dsn.NullSender = true
	dsn.Report = &gateway.DeliveryReport{OriginalMessageID: ref, Action: "failed", Status: "5.1.1", Recipient: "ann@customer.test"}
	out := d.ingest(t, dsn)
	if out.Result != gateway.ResultBounce || out.TicketID != id {
		t.Fatalf("bounce: %+v", out)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE id = ? AND state = 'bounced'`, nid); n != 1 {
		t.Fatal("notification not marked bounced")
	}
	if n := d.count(t, `SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("bounce made a ticket")
	}
}

func TestIngest_OversizeAttachmentRefusedAndSenderTold(t *testing.T) {
	d := newDesk(t)
	in := mail("f1@x", "ann@customer.test", "Files", "see attached")
	in.Attachments = []gateway.File{
		{Name: "../../etc/ok.txt", ContentType: "text/plain", Size: 5, Data: []byte("hello")},
		{Name: "huge.iso", ContentType: "application/octet-stream", Size: 11 << 20, TooLarge: true},
	}
	out := d.ingest(t, in)
	det := d.detail(t, out.TicketID)
	m := det.Messages[0]
	if len(m.Attachments) != 1 || m.Attachments[0].FileName != "ok.txt" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if !strings.Contains(m.Body, `"huge.iso" (11 MB) is larger than the 1000 bytes limit`) {
		t.Fatalf("body does not say which file was refused: %q", m.Body)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE event = 'notice' AND recipient = 'ann@customer.test' AND detail LIKE '%huge.iso%'`); n != 1 {
		t.Fatal("sender not told about the refused file")
	}
}

func TestIngest_AccountChoiceAndTopic(t *testing.T) {
	d := newDesk(t)
	if out := d.ingest(t, mail("x1@x", "multi@customer.test", "which", "account?")); out.Result != gateway.ResultRejected {
		t.Fatalf("user of two accounts without default: %+v", out)
	}
	if out := d.ingest(t, mail("x2@x", "sam@provider.test", "new", "staff mail naming no ticket")); out.Result != gateway.ResultRejected {
		t.Fatalf("staff new mail: %+v", out)
	}
	in := mail("x3@x", "ann@customer.test", "invoice", "wrong amount")
	in.To = []string{"billing@helpdesk.test"}
	out := d.ingest(t, in)
	if topic := d.detail(t, out.TicketID).Ticket.Topic; topic != core.TopicBilling {
		t.Fatalf("topic %v", topic)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestIngest_ReopeningsByMailAreLimited(t *testing.T) {
	d := newDesk(t)
	id := d.ingest(t, mail("ro0@x", "ann@customer.test", "Help", "please")).TicketID
	sam, _ := d.svc.UserByEmail(ctx, "sam@provider.test")
	staff := core.Actor{User: sam, Channel: core.ChannelAPI}
	for i := 0; i < gateway.MaxReopensPerDay; i++ {
		if _, err := d.svc.SetStatus(ctx, staff, core.TicketRef{ID: id}, core.StatusResolved); err != nil {
			t.Fatal(err)
		}
		out := d.ingest(t, mail("ro"+strconv.Itoa(i+1)+"@x", "ann@customer.test", "Re: [#"+itoa(id)+"] Help", "still broken"))
		if out.Result != gateway.ResultReply || d.detail(t, id).Ticket.Status != core.StatusOpen {
			t.Fatalf("reopening %d: %+v", i+1, out)
		}
	}
	if _, err := d.svc.SetStatus(ctx, staff, core.TicketRef{ID: id}, core.StatusResolved); err != nil {
		t.Fatal(err)
	}
	out := d.ingest(t, mail("ro-last@x", "ann@customer.test", "Re: [#"+itoa(id)+"] Help", "still broken"))
	if out.Result != gateway.ResultRejected || d.detail(t, id).Ticket.Status != core.StatusResolved {
		t.Fatalf("reopening over the limit: %+v, status %v", out, d.detail(t, id).Ticket.Status)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE event = 'notice'`); n != 0 {
		t.Fatalf("%d notices sent to a possible robot", n)
	}
}

// TestIngest_BouncesWithoutSender: a bounce needs no From. It marks the notification its
// returned message names, or the one its In-Reply-To names; one about no mail of ours is
// still recorded as a bounce; none of them queues anything.
func TestIngest_BouncesWithoutSender(t *testing.T) {
	d := newDesk(t)
	_, nid, ref := d.sentConfirmation(t, "bw0@x")
	before := d.count(t, `SELECT count(*) FROM notifications`)
	for _, tc := range []struct {
		name      string
		report    gateway.DeliveryReport
		inReplyTo []string
		marks     bool
	}{
		{"unknown original", gateway.DeliveryReport{OriginalMessageID: "other@else.test", Action: "failed"}, nil, false},
		{"delayed", gateway.DeliveryReport{OriginalMessageID: ref, Action: "delayed"}, nil, false},
		{"by In-Reply-To", gateway.DeliveryReport{Action: "failed", Recipient: "ann@customer.test"}, []string{"x@else.test", ref}, true},
	} {
		in := mail("bw-"+strings.ReplaceAll(tc.name, " ", "-")+"@mx", "", "Undelivered Mail Returned to Sender", "")
		in.NullSender, in.Automatic, in.AutomaticReason = true, true, "delivery report"
		in.Report, in.InReplyTo = &tc.report, tc.inReplyTo
		out := d.ingest(t, in)
		if out.Result != gateway.ResultBounce {
			t.Fatalf("%s: %+v", tc.name, out)
		}
		bounced := d.count(t, `SELECT count(*) FROM notifications WHERE id = ? AND state = 'bounced'`, nid) == 1
		if bounced != tc.marks {
			t.Fatalf("%s: notification bounced %v, want %v", tc.name, bounced, tc.marks)
		}
	}
	if n := d.count(t, `SELECT count(*) FROM notifications`); n != before {
		t.Fatalf("bounces queued %d notifications", n-before)
	}
	if list, err := d.db.InboundByResult(ctx, gateway.ResultBounce, 10); err != nil || len(list) != 3 {
		t.Fatalf("bounce list: %v %+v", err, list)
	}
}

// TestIngest_KnownCustomersAutoReplyListedWithItsSign: a known customer's auto-reply is not
// answered either, and staff see which sign made it one.
func TestIngest_KnownCustomersAutoReplyListedWithItsSign(t *testing.T) {
	d := newDesk(t)
	in := mail("vac@x", "ann@customer.test", "Auto reply: [#1] Help", "I am on holiday.")
	in.Automatic, in.AutomaticReason = true, "X-Apple-Action (Apple vacation reply)"
	if out := d.ingest(t, in); out.Result != gateway.ResultIgnored {
		t.Fatalf("auto-reply: %+v", out)
	}
	list, err := d.db.InboundByResult(ctx, gateway.ResultIgnored, 10)
	if err != nil || len(list) != 1 || list[0].Reason != "automatic message: X-Apple-Action (Apple vacation reply)" {
		t.Fatalf("ignored list: %v %+v", err, list)
	}
	if n := d.count(t, `SELECT count(*) FROM notifications`); n != 0 {
		t.Fatalf("%d notifications for an auto-reply", n)
	}
}
