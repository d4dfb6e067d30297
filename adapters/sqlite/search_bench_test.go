package sqlite_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
)

// topics are the filled desk's topic words by ticket ID mod 8 (sqlitetest.Fill).
var topics = []string{"dns", "ssl", "mailbox", "backup", "database", "php", "redirect", "timeout"}

// BenchmarkSearch_1M searches the staff queue of a desk of a million tickets through the
// use case, as GET /api/staff/Ticket?q=… does: the first page of 20, most recently updated
// first, with the total count. Every answer is checked against what the filled data holds.
func BenchmarkSearch_1M(b *testing.B) {
	db := sqlitetest.Filled(b, benchDesk)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	ctx := context.Background()
	staff := core.Actor{User: &core.User{ID: 1, Role: core.RoleStaff}, Channel: core.ChannelAPI}
	n := benchDesk.Tickets
	// count is how many tickets x in 1..n have x mod m == k.
	count := func(m, k int) int {
		c := n / m
		if k != 0 && k <= n%m {
			c++
		}
		return c
	}
	open := core.StatusOpen
	for _, bc := range []struct {
		name string
		// query returns the search, the filter's status, and the total it must find.
		query func(r *rand.Rand) (q string, status *core.Status, want int)
	}{
		{"ticket-number", func(r *rand.Rand) (string, *core.Status, int) {
			return strconv.Itoa(r.IntN(n) + 1), nil, 1
		}},
		{"rare-term-100", func(r *rand.Rand) (string, *core.Status, int) {
			k := r.IntN(sqlitetest.SearchErrs)
			return "err" + strconv.Itoa(k), nil, count(sqlitetest.SearchErrs, k)
		}},
		{"term-1000", func(r *rand.Rand) (string, *core.Status, int) {
			k := r.IntN(sqlitetest.SearchCodes)
			return "code" + strconv.Itoa(k), nil, count(sqlitetest.SearchCodes, k)
		}},
		{"term-1000+status", func(r *rand.Rand) (string, *core.Status, int) {
			k := r.IntN(sqlitetest.SearchCodes)
			return "code" + strconv.Itoa(k), &open, -1
		}},
		{"two-terms", func(r *rand.Rand) (string, *core.Status, int) {
			// A topic word (1 ticket in 8) and a code: every 8th ticket of the code's thousand.
			k, topic := r.IntN(sqlitetest.SearchCodes), r.IntN(8)
			want := 0
			for x := k; x <= n; x += sqlitetest.SearchCodes {
				if x > 0 && x%8 == topic {
					want++
				}
			}
			return topics[topic] + " code" + strconv.Itoa(k), nil, want
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var lat latencies
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				q, status, want := bc.query(r)
				start := time.Now()
				list, total, err := svc.Queue(ctx, staff, core.QueueFilter{Search: q, Status: status})
				lat.add(time.Since(start))
				if err != nil || (want >= 0 && (total.N != want || total.Capped)) || len(list) == 0 || len(list) > core.DefaultPageSize {
					b.Fatalf("search %q: %v, total %+v (want %d), %d rows", q, err, total, want, len(list))
				}
				if bc.name == "ticket-number" && strconv.FormatInt(list[0].Ticket.ID, 10) != q {
					b.Fatalf("search %q found ticket %d", q, list[0].Ticket.ID)
				}
			}
			lat.report(b)
		})
	}
}

// BenchmarkSearchBroad_1M searches for a word in one ticket of eight (125,000 tickets): what
// a search costs when it is hardly a filter. The count stops at the cap (core.DefaultSearchCap);
// "word+account" adds a filter only one in 8,000 of the hits passes, so the walk stops at the
// scan bound instead; "last-page" is the deepest page the cap lets a client reach.
func BenchmarkSearchBroad_1M(b *testing.B) {
	db := sqlitetest.Filled(b, benchDesk)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	ctx := context.Background()
	staff := core.Actor{User: &core.User{ID: 1, Role: core.RoleStaff}, Channel: core.ChannelAPI}
	// Account a holds the tickets x with x mod 1,000 = a-1; with x mod 8 = 2 ("mailbox")
	// that is account 3's 125 tickets, of which the newest scan's worth are found.
	acct := int64(3)
	for _, bc := range []struct {
		name   string
		filter func(i int) core.QueueFilter
		rows   int
	}{
		{"word", func(i int) core.QueueFilter { return core.QueueFilter{Search: topics[i%8]} }, core.DefaultPageSize},
		{"word+account", func(int) core.QueueFilter { return core.QueueFilter{Search: "mailbox", AccountID: &acct} }, -1},
		{"last-page", func(i int) core.QueueFilter {
			return core.QueueFilter{Search: topics[i%8], Page: core.Page{Number: core.DefaultSearchCap / core.DefaultPageSize}}
		}, core.DefaultPageSize},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var lat latencies
			for i := 0; b.Loop(); i++ {
				f := bc.filter(i)
				start := time.Now()
				list, total, err := svc.Queue(ctx, staff, f)
				lat.add(time.Since(start))
				if err != nil || !total.Capped || total.N > core.DefaultSearchCap || (bc.rows >= 0 && len(list) != bc.rows) || len(list) == 0 {
					b.Fatalf("search %q: %v, total %+v, %d rows", f.Search, err, total, len(list))
				}
			}
			lat.report(b)
		})
	}
}
