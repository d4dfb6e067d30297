package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helpdeskd/helpdeskd/core"
)

// safeToRetry is an error pgconn reports as sent before anything reached the server.
type safeToRetry struct{ error }

func (safeToRetry) SafeToRetry() bool { return true }
func (e safeToRetry) Unwrap() error   { return e.error }

// A session the server ended is run again before COMMIT (sessionEnded) and, where it is
// left, answered as the database being away, never as an internal error.
func TestTranslate_SessionEnded(t *testing.T) {
	for _, tc := range []struct {
		err   error
		ended bool
		code  string
	}{
		{&pgconn.PgError{Code: "57P01", Severity: "FATAL"}, true, core.EUNAVAILABLE},
		{&commitError{&pgconn.PgError{Code: "57P02"}}, true, core.EUNAVAILABLE},
		{fmt.Errorf("begin read: %w", &pgconn.PgError{Code: "57P03"}), true, core.EUNAVAILABLE},
		{&pgconn.PgError{Code: "40001"}, false, core.EINTERNAL},
		{errors.New("boom"), false, core.EINTERNAL},
		{safeToRetry{errors.New("write: broken pipe")}, true, core.EUNAVAILABLE},
		{safeToRetry{context.Canceled}, false, core.EINTERNAL}, // as pgconn reports a context already done
	} {
		if got := sessionEnded(tc.err); got != tc.ended {
			t.Errorf("sessionEnded(%v) = %v, want %v", tc.err, got, tc.ended)
		}
		if got := core.ErrorCode(translate(tc.err)); got != tc.code {
			t.Errorf("translate(%v) is %s, want %s", tc.err, got, tc.code)
		}
	}
}
