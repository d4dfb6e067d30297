package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helpdeskd/helpdeskd/core"
)

// SQLSTATEs the store acts on (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeDiskFull             = "53100"
	codeReadOnly             = "25006"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
)

// sqlState returns the SQLSTATE of a server error, "" for any other error.
func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// retryable reports whether a transaction failed only because it lost to a concurrent one,
// so that running it again may succeed.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// sessionEnded reports a statement that met a server session already ended: the server
// restarted, or ended the session (pg_terminate_backend), while the connection sat idle in
// the pool — behind PgBouncer, idle on PgBouncer's side, which hands it to the next
// transaction before it has noticed. Inside a transaction that has not reached COMMIT
// nothing of it is kept, so it may run again on another connection; the callers never run a
// COMMIT again on this.
func sessionEnded(err error) bool {
	switch sqlState(err) {
	case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
		return true
	}
	// pgx sent nothing before the connection failed; but a context that ended says the same,
	// and it is the caller's end, not the session's.
	return pgconn.SafeToRetry(err) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// isUnique reports whether err is a unique constraint violation.
func isUnique(err error) bool { return sqlState(err) == codeUniqueViolation }

// translate turns server errors that callers can act on into domain errors, by SQLSTATE,
// never by message text.
func translate(err error) error {
	if err == nil || core.ErrorCode(err) != core.EINTERNAL {
		return err
	}
	switch sqlState(err) {
	case codeForeignKeyViolation:
		// A write that names a row which does not exist: the use cases check what they name
		// first, so this is a caller's mistake, not ours.
		return core.WithCause(core.Errorf(core.ENOTFOUND, "A record this change refers to does not exist; nothing was saved."), err)
	case codeUniqueViolation:
		return core.WithCause(core.Errorf(core.ECONFLICT, "A record with the same key exists; nothing was saved."), err)
	case codeDiskFull:
		return core.WithCause(core.Errorf(core.EUNAVAILABLE, "The database is full; nothing was saved."), err)
	case codeReadOnly:
		return core.WithCause(core.Errorf(core.EUNAVAILABLE, "The database is read-only; nothing was saved."), err)
	}
	if sessionEnded(err) {
		// Run again already where that is safe: what is left is a COMMIT, or a read.
		return core.WithCause(core.Errorf(core.EUNAVAILABLE, "The connection to the database was lost; the change may not have been saved. Try again."), err)
	}
	return err
}
