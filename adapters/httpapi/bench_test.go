package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
)

// benchDesk: 1,000,000 tickets over 1,000 accounts, one customer per account.
var benchDesk = sqlitetest.FillSpec{Accounts: 1000, Properties: 3, Tickets: 1_000_000}

// benchKeys are API keys of the customers of the first accounts.
const benchKeys = 32

type benchServer struct {
	url    string
	keys   []string
	client *http.Client
}

func newBenchServer(b *testing.B) *benchServer { return newBenchServerOn(b, benchDesk) }

func newBenchServerOn(b *testing.B, desk sqlitetest.FillSpec) *benchServer {
	b.Helper()
	db := sqlitetest.Filled(b, desk)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	bs := &benchServer{}
	for i := 1; i <= benchKeys; i++ {
		_, key, err := svc.CreateAPIKey(context.Background(), core.System(), int64(i))
		if err != nil {
			b.Fatal(err)
		}
		bs.keys = append(bs.keys, key)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	b.Cleanup(srv.Close)
	bs.url = srv.URL
	bs.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	return bs
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	at := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "req/s")
}

// do makes one request; failures are reported with Error, as it runs on client goroutines.
func (bs *benchServer) do(b *testing.B, method, path, key string, body []byte, want int) {
	req, _ := http.NewRequest(method, bs.url+path, bytes.NewReader(body))
	req.Header.Set("X-API-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := bs.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
}

// BenchmarkCreateTicket_HTTP_1M: POST /api/Ticket from 32 concurrent clients over loopback
// HTTP onto a desk of a million tickets, durable (synchronous=FULL) commits.
func BenchmarkCreateTicket_HTTP_1M(b *testing.B) {
	bs := newBenchServer(b)
	body := []byte(`{"subject":"Site is slow","description":"Since this morning every page takes seconds.","topic":5}`)
	var lat latencies
	var n atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS 2 = 32 clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			acct := i%benchKeys + 1
			t0 := time.Now()
			bs.do(b, "POST", fmt.Sprintf("/api/Ticket?accountId=%d", acct), bs.keys[acct-1], body, http.StatusCreated)
			lat.add(time.Since(t0))
		}
	})
	lat.report(b, time.Since(start))
}

// BenchmarkListPage_HTTP_1M: GET /api/Ticket (first page of 20) for one account among a
// million tickets, from one client (the latency of a page) and from 32 (under load).
func BenchmarkListPage_HTTP_1M(b *testing.B) {
	bs := newBenchServer(b)
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var lat latencies
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := n.Add(1)
						if i > int64(b.N) {
							return
						}
						acct := i%benchKeys + 1
						t0 := time.Now()
						bs.do(b, "GET", fmt.Sprintf("/api/Ticket?accountId=%d&pageSize=20", acct), bs.keys[acct-1], nil, http.StatusOK)
						lat.add(time.Since(t0))
					}
				}()
			}
			wg.Wait()
			lat.report(b, time.Since(start))
		})
	}
}
