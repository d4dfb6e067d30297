package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The rows of the API's Idempotency-Key (docs/api.md): reserved, marked committed by the
// write they guard (withIdempotency, from Write), given their answer, swept. The changes go
// through the writer like every other write, each in a write of its own, so a reservation is
// one step however many requests race for the key.

const idempotencyColumns = `owner_id, key, token, fingerprint, state, locked_until, expires_at, status, content_type, location, body`

func scanIdempotency(s scanner) (core.IdempotencyRecord, error) {
	var r core.IdempotencyRecord
	var state string
	var locked, expires int64
	err := s.Scan(&r.Owner, &r.Key, &r.Token, &r.Fingerprint, &state, &locked, &expires, &r.Status, &r.ContentType, &r.Location, &r.Body)
	r.State, r.LockedUntil, r.ExpiresAt = core.IdempotencyState(state), fromDB(locked), fromDB(expires)
	return r, err
}

// ownWrite runs fn in the writer's transaction without Write's marking of a reservation:
// the store's own bookkeeping of keys is never the write a key guards.
func (db *DB) ownWrite(ctx context.Context, fn func(t *writeTx) error) error {
	return db.submit(&writeReq{ctx: ctx, done: make(chan error, 1), fn: func(tx core.Tx) error { return fn(tx.(*writeTx)) }})
}

// ReserveIdempotencyKey makes rec (state running) the row of its owner and key unless a
// row is there that has not expired at now; a running row whose lock expired before now and
// whose fingerprint is rec's (its holder died before its write) is taken over: rec's token
// and times replace its own. It returns the row as it stands and whether rec holds it.
func (db *DB) ReserveIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord, now time.Time) (core.IdempotencyRecord, bool, error) {
	var got core.IdempotencyRecord
	var held bool
	err := db.ownWrite(ctx, func(t *writeTx) error {
		got, held = core.IdempotencyRecord{}, false
		cur, err := scanIdempotency(t.q.QueryRowContext(t.ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
			WHERE owner_id = ? AND key = ?`, rec.Owner, rec.Key))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read idempotency key: %w", err)
		case !cur.ExpiresAt.After(now):
			// Expired but not swept yet: as if it were gone.
		case cur.State == core.IdempotencyRunning && !cur.LockedUntil.After(now) && cur.Fingerprint == rec.Fingerprint:
			// Taken over below.
		default:
			got = cur
			return nil
		}
		_, err = t.q.ExecContext(t.ctx, `INSERT INTO idempotency_keys (owner_id, key, token, fingerprint, state, locked_until, expires_at)
			VALUES (?, ?, ?, ?, 'running', ?, ?)
			ON CONFLICT (owner_id, key) DO UPDATE SET token = excluded.token, fingerprint = excluded.fingerprint,
				state = 'running', locked_until = excluded.locked_until, expires_at = excluded.expires_at,
				status = 0, content_type = '', location = '', body = NULL`,
			rec.Owner, rec.Key, rec.Token, rec.Fingerprint, toDB(rec.LockedUntil), toDB(rec.ExpiresAt))
		if err != nil {
			return fmt.Errorf("reserve idempotency key: %w", err)
		}
		got, held = rec, true
		got.State = core.IdempotencyRunning
		return nil
	})
	return got, held, err
}

// IdempotencyKey returns the row of owner's key, or ENOTFOUND.
func (db *DB) IdempotencyKey(ctx context.Context, owner int64, key string) (core.IdempotencyRecord, error) {
	r, err := scanIdempotency(db.rdb.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
		WHERE owner_id = ? AND key = ?`, owner, key))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("Idempotency-Key", key)
	} else if err != nil {
		return r, fmt.Errorf("read idempotency key: %w", err)
	}
	return r, nil
}

// FinishIdempotencyKey stores rec's answer in the row rec's token holds (state done, kept
// until rec.ExpiresAt); ECONFLICT if the token no longer holds it.
func (db *DB) FinishIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord) error {
	return db.ownWrite(ctx, func(t *writeTx) error {
		res, err := t.q.ExecContext(t.ctx, `UPDATE idempotency_keys SET state = 'done', status = ?, content_type = ?,
			location = ?, body = ?, expires_at = ? WHERE owner_id = ? AND key = ? AND token = ?`,
			rec.Status, rec.ContentType, rec.Location, rec.Body, toDB(rec.ExpiresAt), rec.Owner, rec.Key, rec.Token)
		if err != nil {
			return fmt.Errorf("store idempotent answer: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errTakenOver
		}
		return nil
	})
}

// ReleaseIdempotencyKey deletes the row token holds while it is still running, so that a
// repeat runs again; a row whose write committed stays (its answer was lost, not its write).
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, owner int64, key, token string) error {
	return db.ownWrite(ctx, func(t *writeTx) error {
		_, err := t.q.ExecContext(t.ctx, `DELETE FROM idempotency_keys WHERE owner_id = ? AND key = ? AND token = ? AND state = 'running'`,
			owner, key, token)
		if err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		return nil
	})
}

// SweepIdempotencyKeys deletes the rows expired at now and returns how many.
func (db *DB) SweepIdempotencyKeys(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.ownWrite(ctx, func(t *writeTx) error {
		res, err := t.q.ExecContext(t.ctx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, toDB(now))
		if err != nil {
			return fmt.Errorf("sweep idempotency keys: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// errTakenOver refuses a write, or the storing of an answer, by an attempt whose reservation
// another attempt took over after its lock expired: that one runs the request now.
var errTakenOver = core.Errorf(core.ECONFLICT, "This request's Idempotency-Key was taken over by a retry; nothing was saved.")

// withIdempotency makes fn mark the reservation ctx carries committed, in fn's transaction,
// after fn's changes. A reservation the token no longer holds fails the write: another
// attempt runs the request, and committing this one too would do it twice.
func withIdempotency(ctx context.Context, fn func(core.Tx) error) func(core.Tx) error {
	idem, ok := core.IdempotencyFrom(ctx)
	if !ok {
		return fn
	}
	return func(tx core.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		t := tx.(*writeTx)
		res, err := t.q.ExecContext(t.ctx, `UPDATE idempotency_keys SET state = 'committed'
			WHERE owner_id = ? AND key = ? AND token = ? AND state IN ('running', 'committed')`, idem.Owner, idem.Key, idem.Token)
		if err != nil {
			return fmt.Errorf("mark idempotency key committed: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errTakenOver
		}
		return nil
	}
}
