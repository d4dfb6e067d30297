package main

import (
	"context"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
)

// idempotencyStore is what the daemon asks of its store for the API's Idempotency-Key: the
// rows the API keeps (httpapi.Options.Idempotency) and their sweep. Both drivers have them.
type idempotencyStore interface {
	httpapi.IdempotencyStore
	SweepIdempotencyKeys(ctx context.Context, now time.Time) (int, error)
}

// idempotencySweepEvery is how often expired Idempotency-Key rows are deleted (also once at
// start). They are only kept 24 hours, and an expired row is ignored until it goes, so the
// sweep bounds the table's size, not what a repeat is answered.
const idempotencySweepEvery = time.Hour

// sweepIdempotency deletes, at start and then every idempotencySweepEvery until ctx ends,
// the Idempotency-Key rows that have expired. A failed sweep is logged and tried again next
// time: it must not stop the daemon.
func (m *Main) sweepIdempotency(ctx context.Context) error {
	log := m.Logger.With("part", "idempotency sweep")
	tick := time.NewTicker(idempotencySweepEvery)
	defer tick.Stop()
	for {
		n, err := m.DB.SweepIdempotencyKeys(ctx, time.Now())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("sweep expired idempotency keys", "err", err)
		case n > 0:
			log.Info("swept expired idempotency keys", "removed", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
