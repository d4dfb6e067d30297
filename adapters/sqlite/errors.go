package sqlite

import (
	"errors"

	"github.com/helpdeskd/helpdeskd/core"

	sqlite3 "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

// resultCode returns SQLite's extended result code of a driver error, 0 for any other error.
func resultCode(err error) int {
	var e *sqlite3.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// primaryCode is the primary result code (the low byte of an extended one).
func primaryCode(err error) int { return resultCode(err) & 0xff }

// isForeignKey reports whether err is a FOREIGN KEY constraint failure.
func isForeignKey(err error) bool {
	return resultCode(err) == sqlitelib.SQLITE_CONSTRAINT_FOREIGNKEY
}

// translate turns driver errors that callers can act on into domain errors.
func translate(err error) error {
	if err == nil || core.ErrorCode(err) != core.EINTERNAL {
		return err
	}
	if isForeignKey(err) {
		// A write that names a row which does not exist (a user, a ticket, a department):
		// the use cases check what they name first, so this is a caller's mistake, not ours.
		return core.WithCause(core.Errorf(core.ENOTFOUND, "A record this change refers to does not exist; nothing was saved."), err)
	}
	switch primaryCode(err) {
	case sqlitelib.SQLITE_FULL:
		return core.WithCause(core.Errorf(core.EUNAVAILABLE, "The database is full; nothing was saved."), err)
	case sqlitelib.SQLITE_READONLY:
		return core.WithCause(core.Errorf(core.EUNAVAILABLE, "The database is read-only; nothing was saved."), err)
	}
	return err
}
