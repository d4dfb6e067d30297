package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The staff queue: tickets across accounts with their staff-side state, filtered, sorted,
// paged and searched. It goes through the Service, which fills in the caller, the time
// and the search bounds and lets a store bring its search index up to date first.

// queueDesk is a desk with five tickets, a second apart (q[0] oldest):
//
//	q1 Ann, account 1, General, no property, due an hour before epoch (overdue), answered
//	   by Sam (read by him, updated last)
//	q2 Ann, account 1, SSL, property 10, assigned to Sam, read by Sam
//	q3 Bob, account 2, SSL, property 20, assigned to Sue and Billing, due 2 h after epoch
//	q4 Cat, account 2, Billing, no property, due 2 h before epoch, closed and archived
//	q5 Bob, account 2, General, no property, service type hosting, Sam's favourite, with
//	   an internal note by Sam
//
// Ordered by last update, newest first: q1, q4, q5, q3, q2.
type queueDesk struct {
	*desk
	q [5]*core.Ticket
}

func newQueueDesk(t *testing.T, open Opener) *queueDesk {
	t.Helper()
	d := &queueDesk{desk: newDesk(t, open, core.Options{})}
	d.q[0] = d.ticket(t, d.ann, core.NewTicket{Subject: "Printer", Description: "Printer jam on floor two"})
	d.q[1] = d.ticket(t, d.ann, core.NewTicket{Subject: "Certificate expired", Description: "The SSL certificate ran out yesterday",
		Topic: core.TopicSSL, PropertyID: 10})
	d.q[2] = d.ticket(t, d.bob, core.NewTicket{Subject: "Bounces", Description: "Mail to the printer vendor is returned",
		Topic: core.TopicSSL, PropertyID: 20})
	d.q[3] = d.ticket(t, d.cat, core.NewTicket{AccountID: 2, Subject: "Invoice", Description: "The invoice is wrong", Topic: core.TopicBilling})
	d.q[4] = d.ticket(t, d.bob, core.NewTicket{Subject: "Slow site", Description: "The site is slow", ServiceType: "hosting"})
	d.reply(t, d.sam, d.q[4].ID, core.NewReply{Body: "Escalate to the hosting team.", Internal: true})
	d.clock.tick(time.Second)
	if _, err := d.svc.Close(ctx, d.cat, core.TicketRef{ID: d.q[3].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.Archive(ctx, d.cat, core.TicketRef{ID: d.q[3].ID}, true); err != nil {
		t.Fatal(err)
	}
	d.clock.tick(time.Second)
	if _, err := d.svc.StaffReply(ctx, d.sam, d.q[0].ID, core.NewReply{Body: "A technician is on the way."}); err != nil {
		t.Fatal(err)
	}
	type step func() (*core.QueueItem, error)
	due := func(i int, at time.Time) step {
		return func() (*core.QueueItem, error) { return d.svc.SetDeadline(ctx, d.sam, d.q[i].ID, at) }
	}
	steps := []step{
		func() (*core.QueueItem, error) { return d.svc.Assign(ctx, d.sam, d.q[1].ID, 900, 0) },
		func() (*core.QueueItem, error) { return d.svc.Assign(ctx, d.sam, d.q[2].ID, 901, 7) },
		due(0, epoch.Add(-time.Hour)),
		due(2, epoch.Add(2*time.Hour)),
		due(3, epoch.Add(-2*time.Hour)),
		func() (*core.QueueItem, error) { return d.svc.SetFavourite(ctx, d.sam, d.q[4].ID, true) },
	}
	for i, step := range steps {
		if _, err := step(); err != nil {
			t.Fatalf("staff step %d: %v", i+1, err)
		}
	}
	if _, err := d.svc.StaffTicket(ctx, d.sam, d.q[1].ID); err != nil {
		t.Fatal(err)
	}
	return d
}

// ids lists q's tickets by their number (1: q[0]).
func (d *queueDesk) ids(n ...int) []int64 {
	out := []int64{}
	for _, i := range n {
		out = append(out, d.q[i-1].ID)
	}
	return out
}

func queueIDs(list []core.QueueItem) []int64 {
	out := []int64{}
	for _, it := range list {
		out = append(out, it.Ticket.ID)
	}
	return out
}

func runQueue(t *testing.T, open Opener) {
	type queueCase struct {
		name  string
		who   func(d *queueDesk) core.Actor
		f     core.QueueFilter
		want  []int
		total core.QueueCount
	}
	run := func(t *testing.T, d *queueDesk, svc *core.Service, tests []queueCase) {
		t.Helper()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				who := d.sam
				if tt.who != nil {
					who = tt.who(d)
				}
				list, total, err := svc.Queue(ctx, who, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if list == nil {
					t.Error("nil list, want an empty one")
				}
				if got, want := queueIDs(list), d.ids(tt.want...); !slices.Equal(got, want) || total != tt.total {
					t.Errorf("got %v %+v, want %v %+v", got, total, want, tt.total)
				}
			})
		}
	}
	sue := func(d *queueDesk) core.Actor { return d.sue }
	n := func(n int) core.QueueCount { return core.QueueCount{N: n} }

	t.Run("FiltersSortsAndPages", func(t *testing.T) {
		d := newQueueDesk(t, open)
		// The clock is past q1's deadline, before q3's.
		run(t, d, d.svc, []queueCase{
			{"everything, last updated first", nil, core.QueueFilter{}, []int{1, 4, 5, 3, 2}, n(5)},
			{"updated, oldest first", nil, core.QueueFilter{Order: "asc"}, []int{2, 3, 5, 4, 1}, n(5)},
			{"created, newest first", nil, core.QueueFilter{Sort: core.SortCreated}, []int{5, 4, 3, 2, 1}, n(5)},
			{"created, oldest first", nil, core.QueueFilter{Sort: core.SortCreated, Order: "asc"}, []int{1, 2, 3, 4, 5}, n(5)},
			{"deadline, soonest first, none last", nil, core.QueueFilter{Sort: core.SortDeadline}, []int{4, 1, 3, 2, 5}, n(5)},
			{"deadline, latest first, none last", nil, core.QueueFilter{Sort: core.SortDeadline, Order: "desc"}, []int{3, 1, 4, 5, 2}, n(5)},
			{"status", nil, core.QueueFilter{Status: ptr(core.StatusOpen)}, []int{1, 5, 3, 2}, n(4)},
			{"topic", nil, core.QueueFilter{Topic: ptr(core.TopicSSL)}, []int{3, 2}, n(2)},
			{"account", nil, core.QueueFilter{AccountID: ptr(int64(2))}, []int{4, 5, 3}, n(3)},
			{"property", nil, core.QueueFilter{PropertyID: ptr(int64(10))}, []int{2}, n(1)},
			{"no property", nil, core.QueueFilter{PropertyID: ptr(int64(0))}, []int{1, 4, 5}, n(3)},
			{"assignee", nil, core.QueueFilter{AssigneeUserID: ptr(int64(901))}, []int{3}, n(1)},
			{"unassigned", nil, core.QueueFilter{Unassigned: true}, []int{1, 4, 5}, n(3)},
			{"department", nil, core.QueueFilter{DepartmentID: ptr(int64(7))}, []int{3}, n(1)},
			{"no department", nil, core.QueueFilter{DepartmentID: ptr(int64(0))}, []int{1, 4, 5, 2}, n(4)},
			{"archived", nil, core.QueueFilter{Archived: ptr(true)}, []int{4}, n(1)},
			{"not archived", nil, core.QueueFilter{Archived: ptr(false)}, []int{1, 5, 3, 2}, n(4)},
			{"unread by Sam", nil, core.QueueFilter{Unread: true}, []int{4, 5, 3}, n(3)},
			{"unread by Sue", sue, core.QueueFilter{Unread: true}, []int{1, 4, 5, 3, 2}, n(5)},
			{"Sam's favourites", nil, core.QueueFilter{Favourite: true}, []int{5}, n(1)},
			{"Sue's favourites", sue, core.QueueFilter{Favourite: true}, []int{}, n(0)},
			{"overdue: past the deadline and not done", nil, core.QueueFilter{Overdue: true}, []int{1}, n(1)},
			{"filters combine", nil, core.QueueFilter{Status: ptr(core.StatusOpen), AccountID: ptr(int64(2))}, []int{5, 3}, n(2)},
			{"filters combine to nothing", nil, core.QueueFilter{Topic: ptr(core.TopicBilling), Archived: ptr(false)}, []int{}, n(0)},
			{"second page", nil, core.QueueFilter{Page: core.Page{Number: 2, Size: 2}}, []int{5, 3}, n(5)},
			{"last page", nil, core.QueueFilter{Page: core.Page{Number: 3, Size: 2}}, []int{2}, n(5)},
			{"past the last page", nil, core.QueueFilter{Page: core.Page{Number: 4, Size: 2}}, []int{}, n(5)},
			{"a page of a sort", nil, core.QueueFilter{Sort: core.SortDeadline, Page: core.Page{Number: 2, Size: 3}}, []int{2, 5}, n(5)},
		})
	})

	t.Run("Search", func(t *testing.T) {
		d := newQueueDesk(t, open)
		run(t, d, d.svc, []queueCase{
			{"a word in messages and subjects", nil, core.QueueFilter{Search: "printer"}, []int{1, 3}, n(2)},
			{"any case", nil, core.QueueFilter{Search: "PRINTER"}, []int{1, 3}, n(2)},
			{"every word must match", nil, core.QueueFilter{Search: "printer vendor"}, []int{3}, n(1)},
			{"a subject word and a message word", nil, core.QueueFilter{Search: "bounces vendor"}, []int{3}, n(1)},
			{"a word in the subject only", nil, core.QueueFilter{Search: "expired"}, []int{2}, n(1)},
			{"quotes are no syntax", nil, core.QueueFilter{Search: `"printer vendor"`}, []int{3}, n(1)},
			{"operators are words", nil, core.QueueFilter{Search: "printer OR certificate"}, []int{}, n(0)},
			{"punctuation alone finds nothing", nil, core.QueueFilter{Search: `"" *** -`}, []int{}, n(0)},
			{"a word in no ticket", nil, core.QueueFilter{Search: "zebra"}, []int{}, n(0)},
			{"internal notes are searched", nil, core.QueueFilter{Search: "hosting"}, []int{5}, n(1)},
			{"with a filter", nil, core.QueueFilter{Search: "printer", AccountID: ptr(int64(2))}, []int{3}, n(1)},
			{"with a sort", nil, core.QueueFilter{Search: "printer", Sort: core.SortCreated, Order: "desc"}, []int{3, 1}, n(2)},
			{"a page of the hits", nil, core.QueueFilter{Search: "printer", Page: core.Page{Number: 2, Size: 1}}, []int{3}, n(2)},
		})
		// Bounded, the count stops at the cap and says so; the pages reach the cap only. The
		// hits are taken newest matching message first, and a ticket's subject matches with
		// each of its messages: Sam's answer on q1 is the newest message with "printer".
		capped := core.NewService(d.store, d.store.Blobs(), d.clock, core.Options{SearchCap: 1})
		run(t, d, capped, []queueCase{
			{"capped", nil, core.QueueFilter{Search: "printer"}, []int{1}, core.QueueCount{N: 1, Capped: true}},
			{"capped, past the cap", nil, core.QueueFilter{Search: "printer", Page: core.Page{Number: 2, Size: 1}}, []int{}, core.QueueCount{N: 1, Capped: true}},
			{"at the cap: exact", nil, core.QueueFilter{Search: "vendor"}, []int{3}, n(1)},
		})
		// A message is found as soon as it is written.
		d.reply(t, d.ann, d.q[1].ID, core.NewReply{Body: "The printer is fine, only the certificate."})
		run(t, d, d.svc, []queueCase{
			{"a message just written", nil, core.QueueFilter{Search: "printer"}, []int{2, 1, 3}, n(3)},
		})
	})

	t.Run("SearchBounds", func(t *testing.T) {
		// Small bounds: a count that stops at SearchCap tickets, pages that end there, and a
		// filtered walk that stops after the SearchScan newest matching messages; below both
		// the answer is exact.
		d := newDesk(t, open, core.Options{SearchCap: 3, SearchScan: 8})
		open := func(who core.Actor, text string) int64 { return d.ticket(t, who, core.NewTicket{Description: text}).ID }
		// Oldest first: t1 holds the only "toner" message of account 1, older than the nine
		// "toner" messages of t8 that fill the scan.
		t1 := open(d.ann, "printer jam, toner low")
		t2 := open(d.ann, "printer offline")
		t3 := open(d.ann, "printer queue stuck")
		t4 := open(d.bob, "printer driver")
		t5 := open(d.bob, "printer paper")
		t6 := open(d.ann, "scanner broken")
		t7 := open(d.bob, "scanner slow")
		t8 := open(d.bob, "toner empty")
		for range 8 {
			d.reply(t, d.sam, t8, core.NewReply{Body: "more toner on its way"})
		}
		acct1, acct2 := int64(1), int64(2)
		for _, tt := range []struct {
			name  string
			f     core.QueueFilter
			want  []int64
			total core.QueueCount
		}{
			{"under the cap: exact", core.QueueFilter{Search: "scanner"}, []int64{t7, t6}, core.QueueCount{N: 2}},
			{"over the cap: capped, newest matches", core.QueueFilter{Search: "printer"}, []int64{t5, t4, t3}, core.QueueCount{N: 3, Capped: true}},
			{"capped, second page ends at the cap", core.QueueFilter{Search: "printer", Page: core.Page{Number: 2, Size: 2}}, []int64{t3}, core.QueueCount{N: 3, Capped: true}},
			{"capped, page past the cap", core.QueueFilter{Search: "printer", Page: core.Page{Number: 3, Size: 2}}, []int64{}, core.QueueCount{N: 3, Capped: true}},
			{"capped, the same tickets oldest first", core.QueueFilter{Search: "printer", Order: "asc"}, []int64{t3, t4, t5}, core.QueueCount{N: 3, Capped: true}},
			{"a filter brings it under the cap", core.QueueFilter{Search: "printer", AccountID: &acct2}, []int64{t5, t4}, core.QueueCount{N: 2}},
			{"a filter over the cap", core.QueueFilter{Search: "printer", AccountID: &acct1}, []int64{t3, t2, t1}, core.QueueCount{N: 3}},
			{"exact page past the end", core.QueueFilter{Search: "printer", AccountID: &acct2, Page: core.Page{Number: 2, Size: 2}}, []int64{}, core.QueueCount{N: 2}},
			{"no filter, no scan bound: exact", core.QueueFilter{Search: "toner"}, []int64{t8, t1}, core.QueueCount{N: 2}},
			{"past the scan with a filter: found so far, capped", core.QueueFilter{Search: "toner", AccountID: &acct2}, []int64{t8}, core.QueueCount{N: 1, Capped: true}},
			{"past the scan with a filter: none found, capped", core.QueueFilter{Search: "toner", AccountID: &acct1}, []int64{}, core.QueueCount{N: 0, Capped: true}},
			{"nothing found", core.QueueFilter{Search: "fax"}, []int64{}, core.QueueCount{}},
			{"no search: never capped", core.QueueFilter{AccountID: &acct1}, []int64{t6, t3, t2, t1}, core.QueueCount{N: 4}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				list, total, err := d.svc.Queue(ctx, d.sam, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := queueIDs(list); !slices.Equal(got, tt.want) || total != tt.total {
					t.Errorf("got %v %+v, want %v %+v", got, total, tt.want, tt.total)
				}
			})
		}
	})

	t.Run("SearchWords", func(t *testing.T) {
		// A word is a run of letters and digits; anything else separates words, in the text
		// and in the query, where a query word of several is a phrase.
		d := newDesk(t, open, core.Options{})
		open := func(subject, text string) int64 {
			return d.ticket(t, d.ann, core.NewTicket{Subject: subject, Description: text}).ID
		}
		mail := open("Bounce", "Mail from ann@example.com is returned")
		host := open("Site down", "www.example.com answers 502 since v2.3.4")
		order := open("Printer", "The vendor printer list")
		phrase := open("Vendor", "Ask the printer vendor, or the printer-vendor site")
		cyr := open("Принтер", "Не печатает")
		// A long text of distinct words (a pasted log) is kept, and found by its start.
		var log strings.Builder
		for i := range 150000 {
			fmt.Fprintf(&log, "x%07d ", i)
		}
		long := open("Log", log.String())
		for _, tt := range []struct {
			q    string
			want []int64
		}{
			{"example.com", []int64{host, mail}},
			{"example", []int64{host, mail}},
			{"ann@example.com", []int64{mail}},
			{"com ann", []int64{mail}},
			{"example.com ann", []int64{mail}},
			{"v2.3.4", []int64{host}},
			{"3", []int64{host}},
			{"502!", []int64{host}},
			{"printer-vendor", []int64{phrase}},
			{"vendor-printer", []int64{order}},
			{"printer_vendor", []int64{phrase}},
			{"ПРИНТЕР печатает", []int64{cyr}},
			{"ann@example.org", []int64{}},
			{"x0000001", []int64{long}},
		} {
			t.Run(tt.q, func(t *testing.T) {
				list, _, err := d.svc.Queue(ctx, d.sam, core.QueueFilter{Search: tt.q})
				if err != nil {
					t.Fatal(err)
				}
				if got := queueIDs(list); !slices.Equal(got, tt.want) {
					t.Errorf("search %q: got %v, want %v", tt.q, got, tt.want)
				}
			})
		}
	})

	t.Run("Work", func(t *testing.T) {
		d := newQueueDesk(t, open)
		work := func(who core.Actor, i int) core.TicketWork {
			t.Helper()
			var w *core.TicketWork
			d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.TicketWork(ctx, d.q[i-1].ID, who.User.ID); return })
			return *w
		}
		same := func(name string, got, want core.TicketWork) {
			t.Helper()
			if !got.DueAt.Equal(want.DueAt) || !got.WaitingSince.Equal(want.WaitingSince) {
				t.Errorf("%s: due %v waiting since %v, want %v and %v", name, got.DueAt, got.WaitingSince, want.DueAt, want.WaitingSince)
			}
			got.DueAt, got.WaitingSince, want.DueAt, want.WaitingSince = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != want {
				t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
			}
		}
		same("q1 for Sam", work(d.sam, 1), core.TicketWork{DueAt: epoch.Add(-time.Hour), UserName: "Ann"})
		same("q1 for Sue", work(d.sue, 1), core.TicketWork{DueAt: epoch.Add(-time.Hour), UserName: "Ann", Unread: true})
		same("q2 for Sam", work(d.sam, 2), core.TicketWork{AssigneeUserID: 900, UserName: "Ann", WaitingSince: d.q[1].CreatedAt})
		same("q3 for Sam", work(d.sam, 3), core.TicketWork{AssigneeUserID: 901, DepartmentID: 7, DepartmentName: "Billing",
			DueAt: epoch.Add(2 * time.Hour), UserName: "Bob", Unread: true, WaitingSince: d.q[2].CreatedAt})
		same("q4 for Sam", work(d.sam, 4), core.TicketWork{DueAt: epoch.Add(-2 * time.Hour), Archived: true, UserName: "Cat",
			Unread: true, WaitingSince: d.q[3].CreatedAt})
		same("q5 for Sam", work(d.sam, 5), core.TicketWork{ServiceType: "hosting", UserName: "Bob", Favourite: true, Unread: true,
			WaitingSince: d.q[4].CreatedAt})
		same("q5 for Sue", work(d.sue, 5), core.TicketWork{ServiceType: "hosting", UserName: "Bob", Unread: true,
			WaitingSince: d.q[4].CreatedAt})

		// A customer's new message makes the ticket unread and waiting again; the oldest
		// unanswered one counts.
		first := d.reply(t, d.ann, d.q[0].ID, core.NewReply{Body: "Nobody came."})
		d.reply(t, d.ann, d.q[0].ID, core.NewReply{Body: "Still nobody."})
		same("q1 for Sam after Ann's replies", work(d.sam, 1), core.TicketWork{DueAt: epoch.Add(-time.Hour), UserName: "Ann",
			Unread: true, WaitingSince: first.CreatedAt})
		// Marks and favourites are undone through the port.
		d.write(t, func(tx core.Tx) error {
			if err := tx.SetRead(ctx, 900, d.q[0].ID, true, d.clock.Now()); err != nil {
				return err
			}
			if err := tx.SetRead(ctx, 900, d.q[1].ID, false, d.clock.Now()); err != nil {
				return err
			}
			if err := tx.SetFavourite(ctx, 900, d.q[4].ID, false, d.clock.Now()); err != nil {
				return err
			}
			// Twice is once.
			if err := tx.SetFavourite(ctx, 901, d.q[4].ID, true, d.clock.Now()); err != nil {
				return err
			}
			return tx.SetFavourite(ctx, 901, d.q[4].ID, true, d.clock.Now())
		})
		if w := work(d.sam, 1); w.Unread {
			t.Error("q1 unread for Sam after SetRead(true)")
		}
		if w := work(d.sam, 2); !w.Unread {
			t.Error("q2 read for Sam after SetRead(false)")
		}
		if w := work(d.sam, 5); w.Favourite {
			t.Error("q5 still Sam's favourite after SetFavourite(false)")
		}
		if w := work(d.sue, 5); !w.Favourite {
			t.Error("q5 not Sue's favourite after SetFavourite(true) twice")
		}
		// A public staff reply answers everything before it; an internal note does not.
		d.reply(t, d.sam, d.q[0].ID, core.NewReply{Body: "Internal: call them.", Internal: true})
		if w := work(d.sam, 1); !w.WaitingSince.Equal(first.CreatedAt) {
			t.Errorf("q1 waiting since %v after an internal note, want %v", w.WaitingSince, first.CreatedAt)
		}
		d.reply(t, d.sam, d.q[0].ID, core.NewReply{Body: "Sorry, tomorrow."})
		if w := work(d.sam, 1); !w.WaitingSince.IsZero() {
			t.Errorf("q1 waiting since %v after a public answer, want zero", w.WaitingSince)
		}
		// Clearing the assignment and the deadline.
		d.write(t, func(tx core.Tx) error {
			if err := tx.SetAssignment(ctx, d.q[2].ID, 0, 0); err != nil {
				return err
			}
			return tx.SetDeadline(ctx, d.q[2].ID, time.Time{})
		})
		same("q3 cleared", work(d.sam, 3), core.TicketWork{UserName: "Bob", Unread: true, WaitingSince: d.q[2].CreatedAt})
	})
}
