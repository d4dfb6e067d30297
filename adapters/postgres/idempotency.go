package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// The rows of the API's Idempotency-Key (docs/api.md): reserved, marked committed by the
// write they guard (markIdempotency, from Write), given their answer, swept. The times are
// the API node's clock, passed in, like the rest of the desk's times; a lock of a minute
// leaves room for the skew between nodes.

const idempotencyColumns = `owner_id, key, token, fingerprint, state, locked_until, expires_at, status, content_type, location, body`

func scanIdempotency(s scanner) (core.IdempotencyRecord, error) {
	var r core.IdempotencyRecord
	var state string
	var locked, expires time.Time
	err := s.Scan(&r.Owner, &r.Key, &r.Token, &r.Fingerprint, &state, &locked, &expires, &r.Status, &r.ContentType, &r.Location, &r.Body)
	r.State, r.LockedUntil, r.ExpiresAt = core.IdempotencyState(state), locked.UTC(), expires.UTC()
	return r, err
}

// errTakenOver refuses a write, or the storing of an answer, by an attempt whose reservation
// another attempt took over after its lock expired: that one runs the request now.
var errTakenOver = core.Errorf(core.ECONFLICT, "This request's Idempotency-Key was taken over by a retry; nothing was saved.")

// ReserveIdempotencyKey makes rec (state running) the row of its owner and key unless a
// row is there that has not expired at now; a running row whose lock expired before now and
// whose fingerprint is rec's (its holder died before its write) is taken over: rec's token
// and times replace its own. It returns the row as it stands and whether rec holds it.
func (db *DB) ReserveIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord, now time.Time) (core.IdempotencyRecord, bool, error) {
	var got core.IdempotencyRecord
	var held bool
	err := db.committed(ctx, func(tx pgx.Tx) error {
		// A row released (deleted) between the two statements is reserved again; under
		// READ COMMITTED each statement sees what is committed when it starts.
		for range reserveAttempts {
			var token string
			err := tx.QueryRow(ctx, reserveIdempotency, rec.Owner, rec.Key, rec.Token, rec.Fingerprint,
				ts(rec.LockedUntil), ts(rec.ExpiresAt), ts(now)).Scan(&token)
			if err == nil {
				got, held = rec, true
				got.State = core.IdempotencyRunning
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("reserve idempotency key: %w", err)
			}
			got, err = scanIdempotency(tx.QueryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
				WHERE owner_id = $1 AND key = $2`, rec.Owner, rec.Key))
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		return core.Errorf(core.EUNAVAILABLE, "The Idempotency-Key is busy; nothing was saved. Try again.")
	})
	return got, held, err
}

// reserveAttempts bounds how often a reservation finds the key's row gone between its two
// statements (released each time by a failing attempt) before it gives up.
const reserveAttempts = 5

// reserveIdempotency inserts the reservation, or takes over a row that expired, or a running
// one whose lock expired with the same fingerprint; no row comes back when another attempt's
// row stays. Concurrent reservations of one key wait for each other on its row.
const reserveIdempotency = `INSERT INTO idempotency_keys AS k (owner_id, key, token, fingerprint, state, locked_until, expires_at)
	VALUES ($1, $2, $3, $4, 'running', $5, $6)
	ON CONFLICT (owner_id, key) DO UPDATE SET token = excluded.token, fingerprint = excluded.fingerprint,
		state = 'running', locked_until = excluded.locked_until, expires_at = excluded.expires_at,
		status = 0, content_type = '', location = '', body = NULL
	WHERE k.expires_at <= $7
		OR (k.state = 'running' AND k.locked_until <= $7 AND k.fingerprint = excluded.fingerprint)
	RETURNING token`

// IdempotencyKey returns the row of owner's key, or ENOTFOUND.
func (db *DB) IdempotencyKey(ctx context.Context, owner int64, key string) (core.IdempotencyRecord, error) {
	r, err := scanIdempotency(db.pool.QueryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
		WHERE owner_id = $1 AND key = $2`, owner, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("Idempotency-Key", key)
	} else if err != nil {
		return r, translate(fmt.Errorf("read idempotency key: %w", err))
	}
	return r, nil
}

// FinishIdempotencyKey stores rec's answer in the row rec's token holds (state done, kept
// until rec.ExpiresAt); ECONFLICT if the token no longer holds it.
func (db *DB) FinishIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord) error {
	tag, err := db.pool.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', status = $1, content_type = $2,
		location = $3, body = $4, expires_at = $5 WHERE owner_id = $6 AND key = $7 AND token = $8`,
		rec.Status, rec.ContentType, rec.Location, rec.Body, ts(rec.ExpiresAt), rec.Owner, rec.Key, rec.Token)
	if err != nil {
		return translate(fmt.Errorf("store idempotent answer: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return errTakenOver
	}
	return nil
}

// ReleaseIdempotencyKey deletes the row token holds while it is still running, so that a
// repeat runs again; a row whose write committed stays (its answer was lost, not its write).
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, owner int64, key, token string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE owner_id = $1 AND key = $2 AND token = $3 AND state = 'running'`,
		owner, key, token)
	return translate(err)
}

// SweepIdempotencyKeys deletes the rows expired at now and returns how many.
func (db *DB) SweepIdempotencyKeys(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, translate(fmt.Errorf("sweep idempotency keys: %w", err))
	}
	return int(tag.RowsAffected()), nil
}

// markIdempotency marks the reservation ctx carries committed in the write's transaction.
// A reservation the token no longer holds fails the write: another attempt runs the
// request, and committing this one too would do it twice. The row's lock makes a takeover
// and this write wait for each other, so one of them wins, never both.
func markIdempotency(ctx context.Context, tx pgx.Tx) error {
	idem, ok := core.IdempotencyFrom(ctx)
	if !ok {
		return nil
	}
	tag, err := tx.Exec(ctx, `UPDATE idempotency_keys SET state = 'committed'
		WHERE owner_id = $1 AND key = $2 AND token = $3 AND state IN ('running', 'committed')`, idem.Owner, idem.Key, idem.Token)
	if err != nil {
		return fmt.Errorf("mark idempotency key committed: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errTakenOver
	}
	return nil
}
