package httpapi

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiter_ForgetsIdleKeys: the buckets of keys that went quiet are dropped, so the
// limiter's memory follows the keys in use.
func TestLimiter_ForgetsIdleKeys(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(10, 20, func() time.Time { return now })
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
	if ok, wait := newLimiter(1, 1, func() time.Time { return now }).take("k"); !ok || wait != 0 {
		t.Fatal("a fresh key has its burst")
	}
}
