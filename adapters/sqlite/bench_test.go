package sqlite_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
)

// benchDesk is a desk of 1,000,000 tickets over 1,000 accounts (1,000 each).
var benchDesk = sqlitetest.FillSpec{Accounts: 1000, Properties: 3, Tickets: 1_000_000}

// latencies records per-operation durations and reports percentiles as benchmark metrics.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	at := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkListPage_1M lists a page of one account's tickets in a desk of a million, as
// the panel's ticket list does, through the use case (so with the access check).
func BenchmarkListPage_1M(b *testing.B) {
	db := sqlitetest.Filled(b, benchDesk)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	ctx := context.Background()
	status, topic, property := core.StatusOpen, core.TopicSSL, int64(0)
	for _, bc := range []struct {
		name string
		f    core.TicketFilter
	}{
		{"first-page", core.TicketFilter{}},
		{"page-10", core.TicketFilter{Page: core.Page{Number: 10, Size: 20}}},
		{"status-filter", core.TicketFilter{Status: &status}},
		{"topic-filter", core.TicketFilter{Topic: &topic}},
		{"no-property-filter", core.TicketFilter{PropertyID: &property}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var lat latencies
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					acct, actor := nextCustomer(&n)
					f := bc.f
					f.AccountID = acct
					start := time.Now()
					list, _, err := svc.ListTickets(ctx, actor, f)
					lat.add(time.Since(start))
					if err != nil || len(list) == 0 {
						b.Errorf("list: %v (%d)", err, len(list))
					}
				}
			})
			lat.report(b)
		})
	}
}

// nextCustomer takes the next account in turn and its customer, the user with the same ID.
func nextCustomer(n *atomic.Int64) (int64, core.Actor) {
	acct := n.Add(1)%int64(benchDesk.Accounts) + 1
	return acct, core.Actor{User: &core.User{ID: acct, Role: core.RoleCustomer, AccountIDs: []int64{acct}}, Channel: core.ChannelAPI}
}

// BenchmarkCreateTicket_1M creates tickets through the use case on top of a million, from
// 32 concurrent goroutines: the writer's group commit at work, without HTTP.
func BenchmarkCreateTicket_1M(b *testing.B) {
	db := sqlitetest.Filled(b, benchDesk)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	ctx := context.Background()
	b.SetParallelism(16) // 16 × GOMAXPROCS(2) = 32 goroutines
	var lat latencies
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			acct, actor := nextCustomer(&n)
			start := time.Now()
			_, err := svc.CreateTicket(ctx, actor, core.NewTicket{AccountID: acct, Subject: fmt.Sprint("bench ", acct), Description: "load"})
			lat.add(time.Since(start))
			if err != nil {
				b.Error(err)
			}
		}
	})
	lat.report(b)
}
