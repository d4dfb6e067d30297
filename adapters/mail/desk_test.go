package mail_test

import (
	"context"
	"fmt"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// desk is the inbound mail path as the daemon runs it, over a real temporary database: Parse
// with the daemon's options, then the pipeline.
type desk struct {
	db       teststore.Store
	svc      *core.Service
	p        *gateway.Pipeline
	customer *core.User
	staff    *core.User
	opts     mail.Options
	seq      atomic.Int64
}

const (
	deskSupport  = "support@helpdesk.test"
	deskCustomer = "ann@customer.test"
)

var deskSecret = []byte("desk-secret-0123456789")

func newDesk(tb testing.TB) *desk {
	tb.Helper()
	ctx := context.Background()
	db := teststore.Open(tb)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{Notify: core.NotifyOptions{Email: true}})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Customer Ltd"}); err != nil {
		tb.Fatal(err)
	}
	u, err := svc.PutUser(ctx, core.System(), core.User{ID: 7, Email: deskCustomer, Name: "Ann", AccountIDs: []int64{1}})
	if err != nil {
		tb.Fatal(err)
	}
	staff, err := svc.PutUser(ctx, core.System(), core.User{ID: 9, Email: "stan@provider.test", Name: "Stan", Role: core.RoleStaff})
	if err != nil {
		tb.Fatal(err)
	}
	return &desk{db: db, svc: svc, customer: u, staff: staff, opts: mail.Options{ThreadSecret: deskSecret},
		p: gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: deskSupport, Secret: deskSecret})}
}

// ticket opens a ticket of the customer's through the API's use case.
func (d *desk) ticket(tb testing.TB) int64 {
	tb.Helper()
	t, err := d.svc.CreateTicket(context.Background(), core.Actor{User: d.customer, Channel: core.ChannelAPI},
		core.NewTicket{AccountID: 1, Subject: "Site down", Description: "The site is down."})
	if err != nil {
		tb.Fatal(err)
	}
	return t.ID
}

// plainReply is a customer's reply to ticket id, sent to its reply address, whose body is
// the given UTF-8 text.
func (d *desk) plainReply(id int64, body []byte) []byte {
	n := d.seq.Add(1)
	head := fmt.Sprintf("From: Ann <%s>\r\nTo: %s\r\nSubject: Re: [#%d] Site down\r\nMessage-ID: <reply-%d@customer.test>\r\n"+
		"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		deskCustomer, gateway.ReplyAddress(deskSupport, deskSecret, id, 7), id, n)
	return append([]byte(head), body...)
}

// ingest runs a raw mail through the path and returns what it did.
func (d *desk) ingest(tb testing.TB, raw []byte) gateway.Outcome {
	tb.Helper()
	in, err := mail.Parse(raw, d.opts)
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	out, err := d.p.Ingest(context.Background(), in)
	if err != nil {
		tb.Fatalf("ingest: %v", err)
	}
	return out
}

// last returns the newest message of ticket id as staff read it.
func (d *desk) last(tb testing.TB, id int64) core.Message {
	tb.Helper()
	det, err := d.svc.StaffTicket(context.Background(), core.Actor{User: d.staff, Channel: core.ChannelAPI}, id)
	if err != nil {
		tb.Fatal(err)
	}
	return det.Messages[len(det.Messages)-1]
}

// fold turns every run of white space into one space and trims the ends.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }
