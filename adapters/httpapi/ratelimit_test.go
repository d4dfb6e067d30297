package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"helpdeskd/adapters/httpapi"
	"helpdeskd/core"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func withRateLimit(rate float64, burst int, clock *fakeClock) envOption {
	return func(_ *core.Options, o *httpapi.Options) {
		o.RateLimit, o.RateBurst, o.Now = rate, burst, clock.Now
	}
}

// TestRateLimit_PerKeyBucketAnswers429WithRetryAfter: a key may spend its burst at once, then
// gets 429 with Retry-After in the envelope; another key is not affected; the bucket refills
// at the configured rate; unknown keys are 401, not counted.
func TestRateLimit_PerKeyBucketAnswers429WithRetryAfter(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newEnv(t, withRateLimit(2, 5, clock))
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	for i := 0; i < 5; i++ {
		expect(t, e.json("GET", path, e.alice, nil), 200)
	}
	r := e.json("GET", path, e.alice, nil)
	expect(t, r, http.StatusTooManyRequests)
	if r.env.Succeeded || r.env.Message == "" {
		t.Errorf("429 envelope: %s", r)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 1 {
		t.Errorf("Retry-After %q, want 1 (one token at 2/s)", r.header.Get("Retry-After"))
	}
	// A POST is refused before its body is read or anything is written.
	expect(t, e.json("POST", path, e.alice, map[string]any{"subject": "s", "description": "d"}), http.StatusTooManyRequests)
	if list := e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctB), e.bob, nil); list.status != 200 || list.env.TotalRecords != 0 {
		t.Fatalf("another key is limited too: %s", list)
	}
	for i := 0; i < 20; i++ {
		expect(t, e.json("GET", path, core.APIKeyPrefix+"unknown", nil), http.StatusUnauthorized)
	}
	clock.add(500 * time.Millisecond) // one token back
	expect(t, e.json("GET", path, e.alice, nil), 200)
	expect(t, e.json("GET", path, e.alice, nil), http.StatusTooManyRequests)
	clock.add(time.Hour) // full again, never more than the burst
	for i := 0; i < 5; i++ {
		expect(t, e.json("GET", path, e.alice, nil), 200)
	}
	expect(t, e.json("GET", path, e.alice, nil), http.StatusTooManyRequests)
	// The same key as a Bearer token shares the bucket.
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.alice)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("Bearer form of a spent key: %d", res.StatusCode)
	}
	// Operations endpoints need no key and are never limited.
	for i := 0; i < 20; i++ {
		expect(t, e.call("GET", "/healthz", "", "", nil), 200)
	}
}

// TestRateLimit_OffByDefault: with no rate configured nothing is ever 429.
func TestRateLimit_OffByDefault(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 300; i++ {
		if r := e.json("GET", "/api/Ticket/Topics", e.alice, nil); r.status != 200 {
			t.Fatalf("request %d: %s", i, r)
		}
	}
}
