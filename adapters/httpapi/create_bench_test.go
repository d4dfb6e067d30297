package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/config"
)

// BenchmarkCreateTicket_MinimalClient: POST /api/Ticket over loopback from 1, 32 and 128
// clients that do nothing else, on a desk of 100,000 tickets:
//
//	go test -run XXX -bench MinimalClient -benchtime 3000x ./adapters/httpapi/
//
// A request is a preformatted path, one shared body and a discarded answer, so the client
// costs about as little as an HTTP client can. Server and clients share this process:
// cpu-ms/op is both together, the daemon's share is helpdeskd-bench's `CPU s / 1k`.
func BenchmarkCreateTicket_MinimalClient(b *testing.B) {
	// The collector's target helpdeskd runs with (config.TuneGC), for clients and server.
	defer debug.SetGCPercent(debug.SetGCPercent(config.GCPercent))
	bs := newBenchServerOn(b, sqlitetest.FillSpec{Accounts: 1000, Properties: 3, Tickets: 100_000})
	body := []byte(`{"subject":"Site is slow","description":"Since this morning every page takes seconds to load.","topic":5}`)
	paths := make([]string, benchKeys)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s/api/Ticket?accountId=%d", bs.url, i+1)
	}
	for _, clients := range []int{1, 32, 128} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var n atomic.Int64
			var wg sync.WaitGroup
			cpu0 := processCPU()
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Go(func() {
					for {
						i := n.Add(1)
						if i > int64(b.N) {
							return
						}
						k := int(i % benchKeys)
						req, _ := http.NewRequest(http.MethodPost, paths[k], bytes.NewReader(body))
						req.Header["X-Api-Key"] = []string{bs.keys[k]}
						req.Header["Content-Type"] = []string{"application/json"}
						resp, err := bs.client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusCreated {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
