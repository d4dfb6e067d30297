package httpapi

import (
	"crypto/sha256"
	"math"
	"net/http"
	"sync"
	"time"

	"helpdeskd/core"
)

// rateSweepEvery is how often the limiter forgets the buckets of keys that have been idle
// long enough to be full again (a full bucket and no bucket mean the same), so that its
// memory follows the keys in use, not every key ever seen.
const rateSweepEvery = time.Minute

// limiter is a token bucket per API key: each key may make burst requests at once and rate
// per second on average. Buckets are keyed by the SHA-256 of the key, so no key is kept in
// memory in the clear; only keys that authenticated get a bucket, so unknown keys cannot
// grow the map.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[[sha256.Size]byte]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), now: now,
		buckets: map[[sha256.Size]byte]*bucket{}, lastSweep: now()}
}

// take spends one token of key's bucket. When none is left it returns false and how long
// until one is.
func (l *limiter) take(key string) (ok bool, wait time.Duration) {
	id := sha256.Sum256([]byte(key))
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) >= rateSweepEvery {
		l.sweep(now)
	}
	b := l.buckets[id]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[id] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
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

// rateLimitError is 429 with the Retry-After writeError sends.
type rateLimitError struct {
	err     *core.Error
	seconds int
}

func (e *rateLimitError) Error() string          { return e.err.Error() }
func (e *rateLimitError) Unwrap() error          { return e.err }
func (e *rateLimitError) RetryAfterSeconds() int { return e.seconds }

// limitRate answers 429 with Retry-After to a key that has spent its bucket. It runs after
// authenticate, so it counts only requests of known keys.
func (s *server) limitRate(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.limiter.take(apiKey(r)); !ok {
			seconds := int(math.Ceil(wait.Seconds()))
			s.writeError(w, r, &rateLimitError{
				err:     core.Errorf(core.ERATELIMIT, "Too many requests: retry after %d s.", max(seconds, 1)),
				seconds: max(seconds, 1),
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}
