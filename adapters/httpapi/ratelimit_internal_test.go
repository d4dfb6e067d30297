package httpapi

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLimiter_ForgetsIdleKeys: the buckets of keys that went quiet are dropped, so the
// limiter's memory follows the keys in use.
func TestLimiter_ForgetsIdleKeys(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(10, 20, 0, func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		l.take(fmt.Sprint("key", i))
	}
	if len(l.buckets) != 1000 {
		t.Fatalf("%d buckets", len(l.buckets))
	}
	now = now.Add(rateSweepEvery)
	l.take("active")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after the idle keys refilled, want only the active one", len(l.buckets))
	}
	if ok, wait := newLimiter(1, 1, 0, func() time.Time { return now }).take("k"); !ok || wait != 0 {
		t.Fatal("a fresh key has its burst")
	}
}

// TestLimiter_BoundedEvictsLeastRecent: a bounded limiter never holds more than its bound;
// a new client past it pushes out the one seen longest ago, and checking spends nothing.
func TestLimiter_BoundedEvictsLeastRecent(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(1.0/60, 1, 100, func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		now = now.Add(time.Millisecond)
		if ok, _ := l.take(fmt.Sprint("addr", i)); !ok {
			t.Fatalf("addr%d: a new address has its burst", i)
		}
		if len(l.buckets) > 100 {
			t.Fatalf("%d buckets past the bound", len(l.buckets))
		}
	}
	if _, ok := l.buckets["addr0"]; ok {
		t.Error("the oldest address was kept")
	}
	if ok, wait := l.check("addr999"); ok || wait <= 0 {
		t.Errorf("a spent address: ok %v wait %v", ok, wait)
	}
	if ok, _ := l.check("fresh"); !ok || len(l.buckets) != 100 {
		t.Errorf("checking a fresh address: ok %v, %d buckets (want no new bucket)", ok, len(l.buckets))
	}
}

// TestClientAddr: the connection's address, an IPv6 one by its /64; proxy headers are not
// trusted.
func TestClientAddr(t *testing.T) {
	cases := []struct {
		remote, forwarded, want string
	}{
		{"203.0.113.7:5123", "", "203.0.113.7"},
		{"203.0.113.7:5123", "198.51.100.1", "203.0.113.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:80", "", "192.0.2.1"},
		{"not an address", "", "not an address"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/Ticket", nil)
		r.RemoteAddr = c.remote
		if c.forwarded != "" {
			r.Header.Set("X-Forwarded-For", c.forwarded)
		}
		if got := clientAddr(r); got != c.want {
			t.Errorf("clientAddr(%q) = %q, want %q", c.remote, got, c.want)
		}
	}
}
