package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// procStats reads a process's resident memory (kB) and open file descriptors from /proc.
func procStats(t *testing.T, pid int) (rssKB, fds int) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc (%v): cannot watch the daemon's memory", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rssKB, len(entries)
}

// TestReliability_Soak drives the daemon (a child process) with a mixed load of 200
// requests/s — creates, replies, reads, lists, closes, bad requests — and checks that every
// answer is the expected one and that its open files stay flat (within +10 after a warm-up).
// In the long form (10 min, HELPDESKD_TEST_LONG=1) it also checks that memory stays flat: RSS
// at the end within 1.5× (+16 MB) of RSS after the warm-up. The short form (30 s) only logs
// memory: in half a minute, under the race detector, the heap and SQLite's caches are still
// growing to their working size, and that is not a leak. The request rate reached is logged,
// not asserted.
func TestReliability_Soak(t *testing.T) {
	if testing.Short() {
		t.Skip("a timed soak of a child daemon; run without -short")
	}
	duration, warmup := 30*time.Second, 5*time.Second
	if longForm() {
		duration, warmup = 10*time.Minute, 30*time.Second
	}
	const rate = 200 // requests per second
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	body, _ := os.ReadFile(cfg) // the rate limit would turn most of the load into 429s
	os.WriteFile(cfg, []byte(strings.Replace(string(body), "[server]\n", "[server]\nrate_limit_per_second = 0.0\n", 1)), 0o600)
	key := provision(t, cfg)
	d := startDaemon(t, cfg, addr)
	pid := d.cmd.Process.Pid

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	// do sends a request and returns its status and, for a create, the new ticket's ID.
	do := func(method, path string, body any) (int, int64) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, d.base+path, rd)
		req.Header.Set("X-API-Key", key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0
		}
		defer resp.Body.Close()
		var env struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&env)
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, env.Data.ID
	}
	var (
		sent, errs atomic.Int64
		// ids are the tickets created, as answered: IDs need not be dense (a Postgres
		// sequence skips the values of transactions run again).
		idsMu sync.Mutex
		ids   []int64
	)
	pick := func(n int64) int64 {
		idsMu.Lock()
		defer idsMu.Unlock()
		return ids[n%int64(len(ids))]
	}
	request := func(i int64) {
		var status, want int
		switch i % 10 {
		case 0, 1, 2:
			want = 201
			var id int64
			status, id = do("POST", "/api/Ticket?accountId=1", map[string]any{"subject": fmt.Sprint("soak ", i), "description": "load"})
			if status == 201 {
				idsMu.Lock()
				ids = append(ids, id)
				idsMu.Unlock()
			}
		case 3, 4:
			want = 201
			status, _ = do("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=1", pick(i)), map[string]any{"message": "more"})
			if status == 409 { // closed by case 9
				want = 409
			}
		case 5, 6:
			want = 200
			status, _ = do("GET", fmt.Sprintf("/api/Ticket/%d?accountId=1", pick(i)), nil)
		case 7:
			want = 200
			status, _ = do("GET", "/api/Ticket?accountId=1&pageSize=20", nil)
		case 8:
			want = 400
			status, _ = do("POST", "/api/Ticket?accountId=1", map[string]any{"subject": "", "description": ""})
		case 9:
			want = 200
			status, _ = do("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=1", pick(i*7)), nil)
		}
		sent.Add(1)
		if status != want {
			if errs.Add(1) <= 5 {
				t.Logf("request %d: %d, want %d", i, status, want)
			}
		}
	}
	// Seed one ticket so replies and reads have a target.
	status, seed := do("POST", "/api/Ticket?accountId=1", map[string]any{"subject": "seed", "description": "x"})
	if status != 201 || seed == 0 {
		t.Fatalf("seed ticket: %d, id %d", status, seed)
	}
	ids = append(ids, seed)

	start := time.Now()
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var rssWarm, fdWarm int
	var i int64
	for time.Since(start) < duration {
		<-tick.C
		if rssWarm == 0 && time.Since(start) >= warmup {
			rssWarm, fdWarm = procStats(t, pid)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int64) {
			defer func() { <-sem; wg.Done() }()
			request(i)
		}(i)
		i++
	}
	wg.Wait()
	client.CloseIdleConnections()
	// The daemon closes its ends of the connections just closed when it reads their EOF: wait
	// for its descriptors to come back to the warm level, or fail if they never do.
	var rssEnd, fdEnd int
	eventually(t, 10*time.Second, func() error {
		rssEnd, fdEnd = procStats(t, pid)
		if fdEnd > fdWarm+10 {
			return fmt.Errorf("file descriptors grew: %d → %d", fdWarm, fdEnd)
		}
		return nil
	})
	elapsed := time.Since(start)
	t.Logf("reliability soak: %s, %d requests (%.0f/s), %d unexpected answers; RSS %d kB after warm-up, %d kB at the end; fds %d → %d",
		elapsed.Round(time.Second), sent.Load(), float64(sent.Load())/elapsed.Seconds(), errs.Load(), rssWarm, rssEnd, fdWarm, fdEnd)
	if errs.Load() > 0 {
		t.Errorf("%d of %d requests answered unexpectedly", errs.Load(), sent.Load())
	}
	if longForm() && float64(rssEnd) > 1.5*float64(rssWarm)+16<<10 {
		t.Errorf("memory grew: %d kB → %d kB", rssWarm, rssEnd)
	}
}
