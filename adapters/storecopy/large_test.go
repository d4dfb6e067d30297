package storecopy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/adapters/storecopy"
	"github.com/helpdeskd/helpdeskd/core"
)

// sample is a sample of what the API answers over a filled desk: first pages of customer
// lists, a few tickets, the staff queue and searches.
func sample(t *testing.T, db store, tickets int) string {
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	out := map[string]any{}
	add := func(key string, v any, err error) {
		if err != nil {
			v = "error: " + err.Error()
		}
		out[key] = v
	}
	for _, uid := range []int64{1, 2, 50} {
		u := actor(t, ctx, db, uid, core.ChannelAPI)
		for _, page := range []int{1, 2} {
			list, n, err := svc.ListTickets(ctx, u, core.TicketFilter{AccountID: uid, Page: core.Page{Number: page, Size: 25}})
			add(fmt.Sprintf("list %d page %d", uid, page), map[string]any{"list": list, "n": n}, err)
		}
	}
	for _, id := range []int64{1, 2, int64(tickets / 2), int64(tickets - 1), int64(tickets)} {
		var acc int64 = id%100 + 1
		d, err := svc.GetTicket(ctx, actor(t, ctx, db, acc, core.ChannelAPI), core.TicketRef{ID: id})
		add(fmt.Sprintf("ticket %d", id), d, err)
	}
	s := actor(t, ctx, db, staff, core.ChannelAPI)
	for _, search := range []string{"", "code17", "err4242", "ssl code5"} {
		list, n, err := svc.Queue(ctx, s, core.QueueFilter{UserID: staff, Search: search, Page: core.Page{Number: 1, Size: 25}})
		add("queue "+search, map[string]any{"list": list, "n": n}, err)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCopy100k copies a desk of 100,000 tickets (and as many messages and events) to
// Postgres and back: about 40 s on two cores (15 s each way, the fill and the reads the
// rest), so -short skips it, and so does the race detector, under which it takes ten
// minutes: scripts/test.sh runs it once more without (the round trip of every kind of row
// runs under the race detector).
func TestCopy100k(t *testing.T) {
	if testing.Short() {
		t.Skip("copies a 100k-ticket desk both ways (about 40 s); run without -short")
	}
	if raceDetector {
		t.Skip("copies a 100k-ticket desk both ways: ten minutes under the race detector; scripts/test.sh runs it without")
	}
	const tickets = 100_000
	ctx := context.Background()
	src := sqlitetest.Open(t)
	if err := sqlitetest.Fill(ctx, src, sqlitetest.FillSpec{Accounts: 100, Properties: 2, Tickets: tickets}); err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(src, src.Blobs(), nil, core.Options{})
	must[*core.User](t, "staff")(svc.PutUser(ctx, core.System(), core.User{ID: staff, Email: "sue@desk.example", Name: "Sue", Role: core.RoleStaff}))
	want := sample(t, src, tickets)

	pg := openPG(t, pgtest.DSN(t))
	start := time.Now()
	res, err := storecopy.Copy(ctx, storecopy.SQLite(src.Path(), ""), storecopy.Postgres(pg, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tables {
		t.Logf("  %s: %d rows in %s", tr.Name, tr.Copied, tr.Elapsed)
	}
	t.Logf("sqlite → postgres: %d rows in %s (%.0f rows/s)", res.Rows(), time.Since(start), float64(res.Rows())/res.Elapsed.Seconds())
	sameAnswers(t, "postgres copy", want, sample(t, pg, tickets))

	back := filepath.Join(t.TempDir(), "helpdeskd.db")
	start = time.Now()
	res, err = storecopy.Copy(ctx, storecopy.Postgres(pg, "postgres"), storecopy.SQLite(back, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tables {
		t.Logf("  %s: %d rows in %s", tr.Name, tr.Copied, tr.Elapsed)
	}
	t.Logf("postgres → sqlite: %d rows in %s (%.0f rows/s)", res.Rows(), time.Since(start), float64(res.Rows())/res.Elapsed.Seconds())
	sq := openSQLite(t, back)
	sameAnswers(t, "sqlite copy of the postgres copy", want, sample(t, sq, tickets))
	afterCopyLarge(t, pg, tickets)
	afterCopyLarge(t, sq, tickets)
}

func afterCopyLarge(t *testing.T, db store, maxID int64) {
	t.Helper()
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	tk := must[*core.Ticket](t, "new ticket")(svc.CreateTicket(ctx, actor(t, ctx, db, 1, core.ChannelAPI),
		core.NewTicket{AccountID: 1, Subject: "After the move", Description: "zebra"}))
	if tk.ID <= maxID {
		t.Fatalf("new ticket got ID %d, not above the copied %d", tk.ID, maxID)
	}
}
