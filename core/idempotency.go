package core

import (
	"context"
	"time"
)

// Idempotency is a request's reservation of an Idempotency-Key
// (draft-ietf-httpapi-idempotency-key-header): the key's owner (the authenticated user),
// the key, and the token of this one attempt. A store whose Write is made with a context
// carrying it marks the reservation committed in the same transaction as the write, so the
// desk always knows whether the write under a key happened; and it refuses the write
// (ECONFLICT, nothing saved) when the token no longer holds the reservation, because another
// attempt took over a reservation whose lock had expired and runs the request itself.
type Idempotency struct {
	Owner int64
	Key   string
	Token string
}

type idempotencyKey struct{}

// WithIdempotency returns ctx carrying the reservation of key by owner under token.
func WithIdempotency(ctx context.Context, owner int64, key, token string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, Idempotency{Owner: owner, Key: key, Token: token})
}

// IdempotencyFrom returns the reservation ctx carries, if any.
func IdempotencyFrom(ctx context.Context) (Idempotency, bool) {
	i, ok := ctx.Value(idempotencyKey{}).(Idempotency)
	return i, ok
}

// IdempotencyState is where a reserved key stands.
type IdempotencyState string

const (
	// IdempotencyRunning: reserved; its request runs and has written nothing yet.
	IdempotencyRunning IdempotencyState = "running"
	// IdempotencyCommitted: a write of its request committed; the answer is not stored yet.
	IdempotencyCommitted IdempotencyState = "committed"
	// IdempotencyDone: the answer is stored and is what every repeat gets.
	IdempotencyDone IdempotencyState = "done"
)

// IdempotencyRecord is the stored row of one key of one owner.
type IdempotencyRecord struct {
	Owner int64
	Key   string
	// Token names the attempt that holds the reservation.
	Token string
	// Fingerprint identifies the request: method, path with query, and the body's hash.
	Fingerprint string
	State       IdempotencyState
	// LockedUntil is when the holder is presumed dead if it has not finished.
	LockedUntil time.Time
	// ExpiresAt is when the row may be swept.
	ExpiresAt time.Time

	// The answer, once State is IdempotencyDone.
	Status      int
	ContentType string
	Location    string
	Body        []byte
}
