package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
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

func withFailedAuthLimit(perMinute float64, burst int, clock *fakeClock) envOption {
	return func(_ *core.Options, o *httpapi.Options) {
		o.FailedAuthPerMinute, o.FailedAuthBurst, o.Now = perMinute, burst, clock.Now
	}
}

// sendKey sends GET path with the raw header value (no trimming by the client).
func (e *testEnv) sendKey(path, header, value string) *reply {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header[header] = []string{value}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.decode(res)
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

// TestRateLimit_EverySpellingOfAKeySharesItsBucket: authentication trims spaces around a key
// (a trailing no-break space included), so the limit counts by the key found, not by the
// header as sent: a spent key respelled is still spent, and respelling a fresh key spends
// the same bucket.
func TestRateLimit_EverySpellingOfAKeySharesItsBucket(t *testing.T) {
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	spellings := []struct {
		name, header, value string
	}{
		{"no-break space after", "X-Api-Key", "%s\u00a0"},
		{"no-break space before", "X-Api-Key", "\u00a0%s"},
		{"tab and spaces", "X-Api-Key", " \t%s  "},
		{"ideographic space", "X-Api-Key", "%s\u3000"},
		{"bearer padded", "Authorization", "Bearer  %s\u00a0"},
	}
	for _, sp := range spellings {
		t.Run(sp.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			e := newEnv(t, withRateLimit(1, 4, clock))
			padded := fmt.Sprintf(sp.value, e.alice)
			// The padded spelling authenticates and spends the key's own bucket …
			for i := 0; i < 2; i++ {
				expect(t, e.sendKey(path, sp.header, padded), 200)
			}
			for i := 0; i < 2; i++ {
				expect(t, e.json("GET", path, e.alice, nil), 200)
			}
			// … so the plain key is spent now, and so is every spelling of it.
			expect(t, e.json("GET", path, e.alice, nil), http.StatusTooManyRequests)
			for i := 0; i < 20; i++ {
				if r := e.sendKey(path, sp.header, padded); r.status != http.StatusTooManyRequests {
					t.Fatalf("padded request %d after the key was spent: %s", i, r)
				}
			}
			expect(t, e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctB), e.bob, nil), 200)
		})
	}
}

// TestFailedAuth_PerAddressLimit: failed authentications (no key, an unknown key) spend the
// client address's bucket; once it is empty every request from the address is 429 with
// Retry-After — before any key is looked up, so a valid key waits too — in the envelope, or
// in the compatibility shape on /v1. Successes spend nothing; the bucket refills.
func TestFailedAuth_PerAddressLimit(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newEnv(t, withFailedAuthLimit(30, 3, clock)) // one token every 2 s
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	for i := 0; i < 10; i++ {
		expect(t, e.json("GET", path, e.alice, nil), 200) // successes are free
	}
	expect(t, e.json("GET", path, "", nil), http.StatusUnauthorized)
	expect(t, e.json("GET", path, core.APIKeyPrefix+"guess1", nil), http.StatusUnauthorized)
	expect(t, e.sendKey(path, "Authorization", "Bearer "+core.APIKeyPrefix+"guess2"), http.StatusUnauthorized)

	cases := []struct {
		name string
		key  string
	}{
		{"another guess", core.APIKeyPrefix + "guess3"},
		{"no key", ""},
		{"a valid key from the same address", e.alice},
	}
	for _, c := range cases {
		r := e.json("GET", path, c.key, nil)
		expect(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "2" || !strings.Contains(r.env.Message, "failed authentications") {
			t.Errorf("%s: Retry-After %q, message %q", c.name, r.header.Get("Retry-After"), r.env.Message)
		}
	}
	res := e.request("GET", "/v1/support/tickets/1", core.APIKeyPrefix+"guess4", "", nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"message"`) || strings.Contains(string(body), "succeeded") {
		t.Errorf("/v1 over the limit: %d %s", res.StatusCode, body)
	}
	expect(t, e.call("GET", "/healthz", "", "", nil), 200) // no key needed, never limited

	clock.add(2 * time.Second) // one failure allowed again
	expect(t, e.json("GET", path, e.alice, nil), 200)
	expect(t, e.json("GET", path, core.APIKeyPrefix+"guess5", nil), http.StatusUnauthorized)
	expect(t, e.json("GET", path, e.alice, nil), http.StatusTooManyRequests)
	clock.add(time.Hour)
	expect(t, e.json("GET", path, e.alice, nil), 200)
}
