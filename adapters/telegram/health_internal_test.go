package telegram

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestHealth_FollowsTheAnswers: a 429 throttles until its retry_after, a 5xx or no answer
// is failing, a refusal about one chat (403) or a success is ok; each change is told once,
// and a call the desk ended itself changes nothing.
func TestHealth_FollowsTheAnswers(t *testing.T) {
	var told []string
	h := newHealth(func(s APIState) { told = append(told, s.State) })
	steps := []struct {
		name string
		err  error
		want string
	}{
		{"a success", nil, APIOK},
		{"a 429", &apiError{Code: 429, Description: "Too Many Requests", RetryAfter: time.Hour}, APIThrottled},
		{"another 429", &apiError{Code: 429, RetryAfter: time.Minute}, APIThrottled},
		{"shutting down", context.Canceled, APIThrottled},
		{"a 502", &apiError{Code: 502, Description: "Bad Gateway"}, APIFailing},
		{"no answer", errors.New("dial tcp: connection refused"), APIFailing},
		{"a chat that blocked the bot", &apiError{Code: 403, Description: "Forbidden: bot was blocked by the user"}, APIOK},
	}
	for _, s := range steps {
		h.observe(s.err)
		if got := h.state(); got.State != s.want {
			t.Errorf("after %s: %q, want %q", s.name, got.State, s.want)
		}
	}
	if want := []string{APIThrottled, APIFailing, APIOK}; len(told) != len(want) || told[0] != want[0] || told[1] != want[1] || told[2] != want[2] {
		t.Errorf("told %v, want %v", told, want)
	}

	// The later of two throttles holds; a throttle whose time has passed reads as ok.
	h = newHealth(nil)
	h.observe(&apiError{Code: 429, RetryAfter: time.Hour})
	h.observe(&apiError{Code: 429, RetryAfter: time.Second})
	if st := h.state(); st.State != APIThrottled || time.Until(st.RetryUntil) < 59*time.Minute {
		t.Errorf("two throttles: %+v, want the hour's", st)
	}
	h = newHealth(nil)
	h.observe(&apiError{Code: 429, RetryAfter: time.Second})
	h.mu.Lock()
	h.s.RetryUntil = time.Now().Add(-time.Millisecond)
	h.mu.Unlock()
	if st := h.state(); st.State != APIOK {
		t.Errorf("a throttle past its time: %+v, want ok", st)
	}
}
