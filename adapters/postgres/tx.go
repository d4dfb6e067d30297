package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// readTx is core.ReadTx over one Postgres transaction.
type readTx struct {
	ctx context.Context
	tx  pgx.Tx
	// lock says the transaction writes: the ticket and message it reads are locked until
	// the commit (DB.Write).
	lock bool
	// db is the store, for what a read needs done in a transaction of its own first (the
	// numbering of the change log).
	db *DB
}

// forUpdate is what a read of the row alias names appends: FOR UPDATE OF it in a write.
func (t *readTx) forUpdate(alias string) string {
	if t.lock {
		return " FOR UPDATE OF " + alias
	}
	return ""
}

// writeTx is core.Tx; queued says it queued notifications (the dispatcher is woken after
// the commit).
type writeTx struct {
	readTx
	queued bool
	// fresh are the tickets this transaction created, counted already as holding one public
	// message, with their UpdatedAt: the first message a ticket is created with then needs
	// no second version of the ticket row (finish recounts those that did not get one).
	fresh map[int64]time.Time
}

// finish ends fn's part of a write: tickets created without the public first message they
// were counted with get their true counts.
func (t *writeTx) finish() error {
	for id := range t.fresh {
		if err := t.staffRecount(id); err != nil {
			return err
		}
	}
	return nil
}

var (
	_ core.ReadTx = (*readTx)(nil)
	_ core.Tx     = (*writeTx)(nil)
)

// scanner is a row or rows positioned on a row.
type scanner interface {
	Scan(dest ...any) error
}

func notFound(what string, id any) error {
	return core.Errorf(core.ENOTFOUND, "%s %v not found.", what, id)
}

// ts is a time as stored: NULL for the zero time, else UTC with microseconds.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// fromTS is a stored time read back: the zero time for NULL, else UTC.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullID is an ID as stored: NULL for 0.
func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// nullText is a text as stored: NULL for "".
func nullText(v string) any {
	if v == "" {
		return nil
	}
	return v
}
