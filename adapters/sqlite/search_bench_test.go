package sqlite_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"helpdeskd/adapters/sqlite/sqlitetest"
	"helpdeskd/core"
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
				if err != nil || (want >= 0 && total != want) || len(list) == 0 || len(list) > core.DefaultPageSize {
					b.Fatalf("search %q: %v, total %d (want %d), %d rows", q, err, total, want, len(list))
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
// a search costs when it is hardly a filter. Run it with a small -benchtime.
func BenchmarkSearchBroad_1M(b *testing.B) {
	db := sqlitetest.Filled(b, benchDesk)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	ctx := context.Background()
	staff := core.Actor{User: &core.User{ID: 1, Role: core.RoleStaff}, Channel: core.ChannelAPI}
	var lat latencies
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		_, total, err := svc.Queue(ctx, staff, core.QueueFilter{Search: topics[i%8]})
		lat.add(time.Since(start))
		if err != nil || total != benchDesk.Tickets/8 {
			b.Fatalf("search: %v, total %d", err, total)
		}
	}
	lat.report(b)
}
