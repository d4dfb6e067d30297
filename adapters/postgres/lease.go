package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// Leases are rows, not session advisory locks: an advisory lock lives as long as one
// connection, which a pool (or PgBouncer's transaction pooling) hands to anyone, and a
// leader that stalls keeps it for ever. A row has an expiry on the server's clock, so every
// node judges it by the same time, and a fence number that grows with every change of
// holder.

// acquireLease takes the lease when it is free or expired, or renews it for its holder, in
// one statement; no row comes back while another holder's lease runs.
const acquireLease = `INSERT INTO leases AS l (name, holder, fence, expires_at)
	VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 microsecond')
	ON CONFLICT (name) DO UPDATE
		SET holder = excluded.holder,
			fence = CASE WHEN l.holder = excluded.holder THEN l.fence ELSE l.fence + 1 END,
			expires_at = excluded.expires_at
		WHERE l.holder = excluded.holder OR l.expires_at < clock_timestamp()
	RETURNING fence`

// AcquireLease takes or renews lease name for holder until ttl from now (the server's
// clock) and returns its fence; ECONFLICT while another holder's lease runs.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (int64, error) {
	var fence int64
	var err error
	// Run again on a session the server had ended: the statement is the same for a holder
	// that took the lease and one that renews it, so a run whose answer was lost does no harm.
	for attempt := 1; attempt == 1 || sessionEnded(err) && attempt <= maxAttempts; attempt++ {
		err = db.pool.QueryRow(ctx, acquireLease, name, holder, ttl.Microseconds()).Scan(&fence)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, core.Errorf(core.ECONFLICT, "Lease %s is held by another node.", name)
	}
	if err != nil {
		return 0, translate(fmt.Errorf("acquire lease %s: %w", name, err))
	}
	return fence, nil
}

// ReleaseLease ends holder's lease at once so that another node may take it.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2`, name, holder)
	return translate(err)
}

// LeaseInfo is a lease as the database has it.
type LeaseInfo struct {
	Name, Holder string
	Fence        int64
	ExpiresAt    time.Time
}

// Leases lists every lease, held or expired, by name.
func (db *DB) Leases(ctx context.Context) ([]LeaseInfo, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, holder, fence, expires_at FROM leases ORDER BY name`)
	if err != nil {
		return nil, translate(err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (LeaseInfo, error) {
		var l LeaseInfo
		err := r.Scan(&l.Name, &l.Holder, &l.Fence, &l.ExpiresAt)
		l.ExpiresAt = l.ExpiresAt.UTC()
		return l, err
	})
}

// checkFence is the first statement of a write made under a lease (core.WithFence): the
// write goes on only if the lease is still the fence's and has not expired, by the server's
// clock at this moment. FOR SHARE holds the lease row until the commit, so a node taking
// the lease over waits for this write to end: a write that passed the check commits before
// the new holder's first one, never after it.
func checkFence(ctx context.Context, tx pgx.Tx) error {
	f, ok := core.FenceFrom(ctx)
	if !ok {
		return nil
	}
	var fence int64
	err := tx.QueryRow(ctx, `SELECT fence FROM leases
		WHERE name = $1 AND holder = $2 AND fence = $3 AND expires_at > clock_timestamp() FOR SHARE`,
		f.Lease, f.Holder, f.Number).Scan(&fence)
	if errors.Is(err, pgx.ErrNoRows) {
		return core.Errorf(core.EUNAVAILABLE, "This node no longer holds lease %s (fence %d); nothing was saved.", f.Lease, f.Number)
	}
	if err != nil {
		return fmt.Errorf("check lease %s: %w", f.Lease, err)
	}
	return nil
}
