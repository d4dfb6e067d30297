package telegram

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// API states, as /readyz and /metrics name them.
const (
	APIOK        = "ok"        // the last call was answered (a refusal about one chat counts)
	APIThrottled = "throttled" // Telegram answered 429: sends wait until RetryUntil
	APIFailing   = "failing"   // 5xx or no answer: sends are retried with backoff
)

// APIState is what the desk last heard from the Bot API, for operators: Telegram pushing
// back is not the desk failing, so it is reported, and the node stays ready.
type APIState struct {
	State string
	// Since is when the state began; RetryUntil, while throttled, when Telegram lets the
	// bot send again; LastError the last refusal or failure ("" while ok).
	Since      time.Time
	RetryUntil time.Time
	LastError  string
}

// health follows the answers of every API call.
type health struct {
	mu       sync.Mutex
	s        APIState
	onChange func(APIState) // may be nil
}

func newHealth(onChange func(APIState)) *health {
	return &health{s: APIState{State: APIOK, Since: time.Now().UTC()}, onChange: onChange}
}

// observe takes the result of one call. A call the desk itself ended (shutting down) says
// nothing of Telegram.
func (h *health) observe(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	now := time.Now().UTC()
	next := APIState{State: APIOK}
	var ae *apiError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Code == http.StatusTooManyRequests:
		after := max(ae.RetryAfter, time.Second)
		next = APIState{State: APIThrottled, RetryUntil: now.Add(after), LastError: ae.Error()}
	case errors.As(err, &ae) && ae.Code > 0 && ae.Code < 500:
		// Telegram answered: the refusal is about the request or the chat, not the API.
	default:
		next = APIState{State: APIFailing, LastError: err.Error()}
	}
	h.mu.Lock()
	changed := next.State != h.s.State
	if changed {
		next.Since = now
	} else {
		next.Since = h.s.Since
	}
	if next.State == APIThrottled && next.RetryUntil.Before(h.s.RetryUntil) {
		next.RetryUntil = h.s.RetryUntil
	}
	h.s = next
	h.mu.Unlock()
	if changed && h.onChange != nil {
		h.onChange(next)
	}
}

// state is the state now; a throttle whose time has passed reads as ok until the next
// call says otherwise.
func (h *health) state() APIState {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.s
	if s.State == APIThrottled && time.Now().After(s.RetryUntil) {
		return APIState{State: APIOK, Since: s.RetryUntil}
	}
	return s
}
