package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// rateSweepEvery is how often a limiter forgets the buckets that have been idle long enough
// to be full again (a full bucket and no bucket mean the same), so that its memory follows
// the clients in use, not every client ever seen.
const rateSweepEvery = time.Minute

// maxFailedAuthAddrs bounds how many client addresses the failed-authentication limit
// tracks at once. Anyone can send a request without a key from many addresses; past this
// the least recently seen address is forgotten, which at worst lets it start over.
const maxFailedAuthAddrs = 10000

// limiter is a token bucket per client: each may spend burst tokens at once and rate per
// second on average. The per-key limit keys buckets by the key's stored identity (its
// hash, never the key itself); the failed-authentication limit by client address.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int // most buckets kept; 0: no bound
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst, maxBuckets int, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), max: maxBuckets, now: now,
		buckets: map[string]*bucket{}, lastSweep: now()}
}

// take spends one token of id's bucket. When none is left it returns false and how long
// until one is.
func (l *limiter) take(id string) (ok bool, wait time.Duration) {
	return l.spend(id, true)
}

// check reports whether id's bucket has a token, without spending it: the failed-
// authentication limit looks before the lookup it protects and spends only on a failure.
func (l *limiter) check(id string) (ok bool, wait time.Duration) {
	return l.spend(id, false)
}

func (l *limiter) spend(id string, spend bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) >= rateSweepEvery {
		l.sweep(now)
	}
	b := l.buckets[id]
	if b == nil {
		if !spend {
			return true, 0 // no bucket is a full one: nothing to keep
		}
		if l.max > 0 && len(l.buckets) >= l.max {
			l.sweep(now)
			if len(l.buckets) >= l.max {
				l.evictOldest()
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[id] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		if spend {
			b.tokens--
		}
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops the buckets that are full by now.
func (l *limiter) sweep(now time.Time) {
	for id, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, id)
		}
	}
	l.lastSweep = now
}

// evictOldest drops the bucket used least recently. It scans the map, which is bounded by
// max and happens only while the map is full of buckets that are still spent.
func (l *limiter) evictOldest() {
	var oldest string
	var at time.Time
	for id, b := range l.buckets {
		if oldest == "" || b.at.Before(at) {
			oldest, at = id, b.at
		}
	}
	delete(l.buckets, oldest)
}

// rateLimitError is 429 with the Retry-After writeError sends.
type rateLimitError struct {
	err     *core.Error
	seconds int
}

func (e *rateLimitError) Error() string          { return e.err.Error() }
func (e *rateLimitError) Unwrap() error          { return e.err }
func (e *rateLimitError) RetryAfterSeconds() int { return e.seconds }

func tooManyRequests(wait time.Duration, format string) error {
	seconds := max(int(math.Ceil(wait.Seconds())), 1)
	return &rateLimitError{err: core.Errorf(core.ERATELIMIT, format, seconds), seconds: seconds}
}

// limitRate answers 429 with Retry-After to a key that has spent its bucket. It runs after
// authenticate, so it counts only requests of known keys, by the identity authenticate
// found: every spelling of a key (padded with spaces, X-API-Key or Bearer) shares one bucket.
func (s *server) limitRate(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.limiter.take(keyIDOf(r)); !ok {
			s.writeError(w, r, tooManyRequests(wait, "Too many requests: retry after %d s."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddr is what the failed-authentication limit counts by: the connection's IP address
// (no proxy header is trusted), an IPv6 address by its /64, the block one machine usually
// gets, so that walking through one's own addresses does not make new buckets.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
